// Log in with the e-license: the desktop page polls its login request and completes the redirect; the
// phone's page sends the typed number with a passkey assertion; the same-device button does the
// assertion on the authorize page itself. No inline script (the pages' CSP allows only this file).
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
  const problem = document.getElementById("problem");
  const say = (text) => { if (problem) problem.textContent = text ? problem.dataset.failed + text : ""; };

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) { const e = new Error(data.detail || r.statusText); e.code = data.code; throw e; }
    return data;
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
    const r = c.response;
    return { id: c.id, rawId: b64u.encode(c.rawId), type: c.type, clientExtensionResults: {},
      response: { clientDataJSON: b64u.encode(r.clientDataJSON), authenticatorData: b64u.encode(r.authenticatorData),
        signature: b64u.encode(r.signature), userHandle: r.userHandle ? b64u.encode(r.userHandle) : null } };
  }

  async function assert(optionsUrl, verifyUrl, extra) {
    const o = await post(optionsUrl, extra);
    const c = await navigator.credentials.get({ publicKey: requestOptions(o.publicKey) });
    return post(verifyUrl, Object.assign({ ceremony: o.ceremony, credential: credentialJSON(c) }, extra));
  }

  // the desktop: poll until the holder decides, then collect the result (no reload loop)
  const box = document.getElementById("login-request"), state = document.getElementById("login-state");
  if (box && state) {
    const id = box.dataset.request, end = Date.parse(box.dataset.expires);
    const finish = () => location.assign("/oidc/requests/" + id + "/finish" + lang);
    const poll = async () => {
      try {
        const r = await fetch("/oidc/requests/" + id + "/status", { credentials: "same-origin" });
        const s = (await r.json()).state;
        if (s === "pending") { setTimeout(poll, 1500); return; }
        if (s === "expired") { state.textContent = state.dataset.expired; finish(); return; }
        finish();
      } catch (e) { if (Date.now() < end) setTimeout(poll, 3000); }
    };
    setTimeout(poll, 1500);
  }

  document.querySelectorAll("button[data-same-device]").forEach((button) => {
    button.addEventListener("click", async () => {
      const id = button.dataset.sameDevice, label = button.textContent;
      button.disabled = true; button.textContent = button.dataset.working || label; say("");
      try {
        const done = await assert("/oidc/requests/" + id + "/options", "/oidc/requests/" + id + "/approve", {});
        location.assign(done.redirect + lang);
      } catch (e) { say(e.message || String(e)); button.disabled = false; button.textContent = label; }
    });
  });

  // the phone: the number and the passkey
  const form = document.getElementById("approve-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault(); say("");
      const button = form.querySelector("button"), label = button.textContent;
      button.disabled = true; button.textContent = button.dataset.working || label;
      const share = document.getElementById("share-name");
      const ref = { handle: form.dataset.handle, code: form.dataset.code };
      try {
        const done = await assert("/oidc/scan/options", "/oidc/scan/approve", Object.assign({}, ref, {
          number: document.getElementById("number").value, share_name: !!(share && share.checked) }));
        location.assign(done.redirect + lang);
      } catch (e) { say(e.message || String(e)); button.disabled = false; button.textContent = label; }
    });
  }
})();
