// The holder's pages and the window's console: passkey ceremonies (WebAuthn), re-authentication before grants and revocations,
// and the presentation QR's countdown. No framework, no inline script (the pages' CSP allows only this file).
"use strict";
(function () {
  const b64u = {
    decode(s) {
      const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
      return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
    },
    encode(buf) {
      let s = "";
      new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
      return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };
  const lang = new URLSearchParams(location.search).get("lang") === "en" ? "?lang=en" : "";
  const csrf = () => (document.querySelector('meta[name="csrf"]') || {}).content || "";
  const problem = document.getElementById("problem");

  function say(text) { if (problem) problem.textContent = text ? problem.dataset.failed + text : ""; }

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {}),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) { const e = new Error(data.detail || r.statusText); e.code = data.code; throw e; }
    return data;
  }

  function creationOptions(o) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    }
    return Object.assign({}, o, {
      challenge: b64u.decode(o.challenge),
      user: Object.assign({}, o.user, { id: b64u.decode(o.user.id) }),
      excludeCredentials: (o.excludeCredentials || []).map((c) => Object.assign({}, c, { id: b64u.decode(c.id) })),
    });
  }

  function requestOptions(o) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    }
    return Object.assign({}, o, {
      challenge: b64u.decode(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((c) => Object.assign({}, c, { id: b64u.decode(c.id) })),
    });
  }

  function credentialJSON(c) {
    if (typeof c.toJSON === "function") return c.toJSON();
    const r = c.response, out = { id: c.id, rawId: b64u.encode(c.rawId), type: c.type, clientExtensionResults: {} };
    out.response = { clientDataJSON: b64u.encode(r.clientDataJSON) };
    if (r.attestationObject) {
      out.response.attestationObject = b64u.encode(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = b64u.encode(r.authenticatorData);
      out.response.signature = b64u.encode(r.signature);
      out.response.userHandle = r.userHandle ? b64u.encode(r.userHandle) : null;
    }
    return out;
  }

  async function create(optionsUrl, verifyUrl, body) {
    const o = await post(optionsUrl, body);
    const c = await navigator.credentials.create({ publicKey: creationOptions(o.publicKey) });
    return post(verifyUrl, { ceremony: o.ceremony, credential: credentialJSON(c) });
  }

  async function get(optionsUrl, verifyUrl) {
    const o = await post(optionsUrl, {});
    const c = await navigator.credentials.get({ publicKey: requestOptions(o.publicKey) });
    return post(verifyUrl, { ceremony: o.ceremony, credential: credentialJSON(c) });
  }

  const reauth = () => get("/holder/reauth/options", "/holder/reauth/verify");

  const flows = {
    "sign-in": () => get("/holder/sign-in/options", "/holder/sign-in/verify"),
    "enrol": (b) => create("/holder/enrol/options", "/holder/enrol/verify",
                           { secret: b.dataset.secret, code: b.dataset.code, uscc: b.dataset.uscc }),
    "add": async () => { await reauth(); return create("/holder/passkeys/options", "/holder/passkeys/verify"); },
    // the window's console (/console/): staff enrol and sign in with the same ceremonies
    "console-sign-in": () => get("/console/sign-in/options", "/console/sign-in/verify"),
    "console-enrol": (b) => create("/console/enrol/options", "/console/enrol/verify", { secret: b.dataset.secret }),
  };

  document.querySelectorAll("button[data-passkey]").forEach((button) => {
    button.addEventListener("click", async () => {
      const label = button.textContent;
      button.disabled = true; button.textContent = button.dataset.working || label; say("");
      try {
        const done = await flows[button.dataset.passkey](button);
        location.assign((done && done.redirect ? done.redirect : location.pathname) + lang);
      } catch (e) {
        say(e.message || String(e)); button.disabled = false; button.textContent = label;
      }
    });
  });

  document.querySelectorAll("form[data-reauth]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault(); say("");
      try { await reauth(); form.submit(); } catch (e) { say(e.message || String(e)); }
    });
  });

  const qr = document.getElementById("presentation-qr"), count = document.getElementById("countdown");
  if (qr && count) {
    const end = Date.parse(qr.dataset.expires);
    const tick = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      if (left > 0) { count.textContent = count.dataset.left.replace("{s}", left); setTimeout(tick, 1000); }
      else { count.textContent = count.dataset.expired; qr.style.opacity = "0.15"; }
    };
    tick();
  }
})();
