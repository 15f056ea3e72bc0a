"""Log in with the e-license: elicense as an OpenID Provider, over HTTP through the real app, with a
software passkey authenticator (``tests/passkey_device.py``) on the holder's phone and the ID token
checked by an independent JOSE library (joserfc) with nothing but the discovery document and JWKS.

The OpenID Foundation's conformance suite cannot run here. The checks of its Basic OP profile that
apply to a code-flow-only, pairwise, PKCE-required provider, and the test that covers each:

- discovery document: issuer, endpoints, jwks_uri, ES256, S256, pairwise ............ test_discovery_and_jwks
- ID token: signature with a key from jwks_uri (kid), iss, aud, exp, iat, auth_time, nonce,
  at_hash, acr/amr .......................................................... test_cross_device_login
- userinfo: sub equal to the ID token's, bearer required ............................ test_cross_device_login
- state returned unchanged .......................................................... test_cross_device_login
- redirect_uri mismatch refused without redirecting ......................... test_wrong_redirect_uri
- code single use (and its tokens revoked) ............ test_code_reused, test_code_replay_revokes_only_its_own_token
- missing or wrong PKCE verifier ........................ test_missing_pkce_verifier, test_wrong_pkce_verifier,
                                                          test_token_verifier_rules
- token endpoint: redirect_uri as authorized .............................. test_token_wrong_redirect_uri_spends_the_code
- token endpoint: error responses (s.5.2 codes, 400/401, no-store) ............. test_token_request_errors,
                                                                     test_token_client_authentication_errors
- private_key_jwt: signature, iss/sub, aud, exp, jti once ................ test_private_key_jwt,
                                                                              test_private_key_jwt_claims
- nonce required / replayed nonce refused .................................................... test_nonce_replay
- client authentication failure (invalid_client, 401) ........................ test_token_from_another_clients_code
- prompt=none without a session: login_required ..................................... test_prompt_none
- unsupported response_type: unsupported_response_type ............................ test_unsupported_response_type
- pairwise sub differs per platform ................................................ test_pairwise_subjects
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from license_service.db.models import AuthorizationCode, Login, LogLeaf
from license_service.login.platforms import create_platform
from license_service.runtime.issuing import IssuingRuntime
from tests.conftest import event
from tests.integration import test_holders as _holders
from tests.integration.test_holders import ORIGIN, Phone, _enrol_from_page

# the holder tests' fixtures: the app on localhost, the window, a company and its legal representative
holder_runtime = _holders.holder_runtime
holder_app = _holders.holder_app
window = _holders.window
company = _holders.company
representative = _holders.representative

REDIRECT = "https://platform.example/callback"


class Platform:
    """A relying party, speaking plain HTTP to the provider (the e2e test uses a stock client library)."""

    def __init__(self, app: FastAPI, runtime: IssuingRuntime, name: str = "某某政务服务平台") -> None:
        self.client_id, self.secret = create_platform(runtime.write_sessions, name=name, redirect_uris=[REDIRECT],
                                                      development=True, at=datetime.now(UTC))
        self.http = TestClient(app, base_url=ORIGIN, follow_redirects=False)
        self.verifier = secrets.token_urlsafe(48)
        self.nonce = secrets.token_urlsafe(16)
        self.state = secrets.token_urlsafe(8)

    def fresh(self) -> Platform:
        """A new log-in: a new nonce, state and verifier (a nonce is never sent twice)."""
        self.verifier, self.nonce, self.state = secrets.token_urlsafe(48), secrets.token_urlsafe(16), \
            secrets.token_urlsafe(8)
        return self

    def params(self, **over: Any) -> dict[str, str]:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        p = {"response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT, "scope": "openid profile",
             "state": self.state, "nonce": self.nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
        p.update(over)
        return {k: v for k, v in p.items() if v is not None}

    def exchange(self, code: str, *, verifier: str | None = "", secret: str | None = None,
                 client_id: str | None = None) -> Any:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        if verifier is not None:
            form["code_verifier"] = verifier or self.verifier
        return self.http.post("/oidc/token", data=form, auth=(client_id or self.client_id, secret or self.secret))


class Desktop:
    def __init__(self, app: FastAPI) -> None:
        self.http = TestClient(app, base_url=ORIGIN, follow_redirects=False)

    def open(self, params: dict[str, str]) -> dict[str, str]:
        r = self.http.get("/oidc/authorize", params=params)
        assert r.status_code == 200, r.text
        return {"request_id": re.search(r'data-request="([0-9a-f]{32})"', r.text).group(1),  # type: ignore[union-attr]
                "handle": re.search(r'id="scan-url">[^<]*/oidc/scan/([A-Za-z0-9_-]+)<', r.text).group(1),  # type: ignore[union-attr]
                "number": re.search(r'id="match-number"[^>]*>(\d\d)<', r.text).group(1),  # type: ignore[union-attr]
                "page": r.text}

    def state(self, request_id: str) -> str:
        return str(self.http.get(f"/oidc/requests/{request_id}/status").json()["state"])

    def finish(self, request_id: str) -> Any:
        return self.http.get(f"/oidc/requests/{request_id}/finish")


def approve(phone: Phone, handle: str, number: str, *, share_name: bool = True) -> Any:
    assert phone.http.get(f"/oidc/scan/{handle}").status_code == 200
    options = phone.post_json("/oidc/scan/options", {"handle": handle})
    assert options.status_code == 200, options.text
    o = options.json()
    return phone.post_json("/oidc/scan/approve", {"handle": handle, "ceremony": o["ceremony"],
                                                  "credential": phone.device.get(o["publicKey"]), "number": number,
                                                  "share_name": share_name})


def login(app: FastAPI, platform: Platform, phone: Phone, **over: Any) -> Any:
    """The cross-device flow up to the platform's callback; returns the desktop's final response."""
    desktop = Desktop(app)
    req = desktop.open(platform.fresh().params(**over))
    r = approve(phone, req["handle"], req["number"])
    assert r.status_code == 200, r.text
    assert desktop.state(req["request_id"]) == "approved"
    return desktop.finish(req["request_id"])


def callback(r: Any) -> dict[str, str]:
    assert r.status_code in (302, 303), r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def check_id_token(platform: Platform, id_token: str) -> dict[str, Any]:
    """What a stock client does: discovery, then the JWKS, then the claims."""
    config = platform.http.get("/.well-known/openid-configuration").json()
    keys = KeySet.import_key_set(platform.http.get(urlsplit(config["jwks_uri"]).path).json())
    token = jwt.decode(id_token, keys, algorithms=["ES256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": config["issuer"]},
                          aud={"essential": True, "value": platform.client_id},
                          nonce={"essential": True, "value": platform.nonce}).validate(token.claims)
    return dict(token.claims)


@pytest.fixture
def platform(holder_app: FastAPI, holder_runtime: IssuingRuntime) -> Platform:
    return Platform(holder_app, holder_runtime)


# -- the flows ------------------------------------------------------------------------------------
def test_discovery_and_jwks(holder_app: FastAPI, holder_runtime: IssuingRuntime) -> None:
    http = TestClient(holder_app, base_url=ORIGIN)
    config = http.get("/.well-known/openid-configuration").json()
    assert config["issuer"] == holder_runtime.settings.public_base_url
    assert config["token_endpoint"].endswith("/oidc/token") and config["code_challenge_methods_supported"] == ["S256"]
    assert config["subject_types_supported"] == ["pairwise"]
    assert config["id_token_signing_alg_values_supported"] == ["ES256"]
    assert set(config["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "private_key_jwt"}
    jwks = http.get(urlsplit(config["jwks_uri"]).path).json()
    qr_kids = {k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]}
    assert jwks["keys"] and not {k["kid"] for k in jwks["keys"]} & qr_kids  # a key of its own purpose


def test_cross_device_login(holder_app: FastAPI, holder_runtime: IssuingRuntime, platform: Platform,
                            representative: Phone, company: dict[str, Any]) -> None:
    got = callback(login(holder_app, platform, representative))
    assert got["state"] == platform.state
    r = platform.exchange(got["code"])
    assert r.status_code == 200, r.text
    body = r.json()
    claims = check_id_token(platform, body["id_token"])
    assert claims["uscc"] == company["uscc"] and claims["entity_name"] == company["name"]
    assert claims["role"] == "legal_representative" and "grant" not in claims
    assert claims["acr"] == "phr" and claims["amr"] == ["hwk", "mfa"] and claims["name"] == company["representative"]
    assert abs(claims["auth_time"] - datetime.now(UTC).timestamp()) < 60
    at_hash = base64.urlsafe_b64encode(hashlib.sha256(body["access_token"].encode()).digest()[:16]).rstrip(b"=")
    assert claims["at_hash"] == at_hash.decode()
    info = platform.http.get("/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
    assert platform.http.get("/oidc/userinfo").status_code == 401
    # recorded, logged (ids only), and on the holder's activity page
    with holder_runtime.sessions() as s:
        row = s.execute(select(Login).where(Login.uscc == company["uscc"])).scalar_one()
        assert row.outcome == "ok" and row.leaf_index is not None
        leaf = s.execute(select(LogLeaf).where(LogLeaf.idx == row.leaf_index)).scalar_one()
        assert b'"holder.logged_in"' in leaf.data and company["representative"].encode() not in leaf.data
    page = representative.page("/holder/activity")
    assert "某某政务服务平台" in page.text


def test_same_device_login(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    desktop = Desktop(holder_app)
    desktop.http = representative.http  # the phone's own browser opens the platform
    req = desktop.open(platform.params(scope="openid"))
    options = representative.post_json(f"/oidc/requests/{req['request_id']}/options").json()
    r = representative.post_json(f"/oidc/requests/{req['request_id']}/approve", {
        "ceremony": options["ceremony"], "credential": representative.device.get(options["publicKey"])})
    assert r.status_code == 200, r.text
    got = callback(desktop.finish(req["request_id"]))
    claims = check_id_token(platform, platform.exchange(got["code"]).json()["id_token"])
    assert "name" not in claims  # no profile scope asked


def test_pairwise_subjects(holder_app: FastAPI, holder_runtime: IssuingRuntime, representative: Phone) -> None:
    subs = []
    for name in ("平台甲", "平台乙"):
        p = Platform(holder_app, holder_runtime, name)
        subs.append(check_id_token(p, p.exchange(callback(login(holder_app, p, representative))["code"])
                                   .json()["id_token"])["sub"])
    assert subs[0] != subs[1]


def test_name_only_with_consent(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    desktop = Desktop(holder_app)
    req = desktop.open(platform.params())
    assert approve(representative, req["handle"], req["number"], share_name=False).status_code == 200
    claims = check_id_token(platform, platform.exchange(callback(desktop.finish(req["request_id"]))["code"])
                            .json()["id_token"])
    assert "name" not in claims


# -- negative tests, each named -------------------------------------------------------------------------
def test_wrong_redirect_uri(holder_app: FastAPI, platform: Platform) -> None:
    r = Desktop(holder_app).http.get("/oidc/authorize", params=platform.params(redirect_uri=REDIRECT + "/x"))
    assert r.status_code == 400 and "location" not in r.headers  # never redirected to an unregistered URI


def test_missing_pkce_challenge(holder_app: FastAPI, platform: Platform) -> None:
    r = Desktop(holder_app).http.get("/oidc/authorize", params=platform.params(code_challenge=None,
                                                                               code_challenge_method=None))
    assert callback(r)["error"] == "invalid_request"
    r = Desktop(holder_app).http.get("/oidc/authorize", params=platform.params(code_challenge_method="plain"))
    assert callback(r)["error"] == "invalid_request"


def test_missing_pkce_verifier(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    r = platform.exchange(callback(login(holder_app, platform, representative))["code"], verifier=None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_wrong_pkce_verifier(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    r = platform.exchange(callback(login(holder_app, platform, representative))["code"],
                          verifier=secrets.token_urlsafe(48))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_code_reused(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    code = callback(login(holder_app, platform, representative))["code"]
    first = platform.exchange(code)
    assert first.status_code == 200
    again = platform.exchange(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # the tokens the code gave are revoked
    assert platform.http.get("/oidc/userinfo", headers={
        "Authorization": f"Bearer {first.json()['access_token']}"}).status_code == 401


def test_code_expired(holder_app: FastAPI, holder_runtime: IssuingRuntime, platform: Platform,
                      representative: Phone) -> None:
    code = callback(login(holder_app, platform, representative))["code"]
    with holder_runtime.write_sessions.begin() as s:  # 61 seconds later
        s.execute(update(AuthorizationCode).where(AuthorizationCode.code_sha256 == hashlib.sha256(code.encode())
                                                  .hexdigest()).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    r = platform.exchange(code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_nonce_replay(holder_app: FastAPI, platform: Platform) -> None:
    Desktop(holder_app).open(platform.params())
    r = Desktop(holder_app).http.get("/oidc/authorize", params=platform.params(state="again"))
    got = callback(r)
    assert got["error"] == "invalid_request" and got["state"] == "again"
    assert callback(Desktop(holder_app).http.get("/oidc/authorize", params=platform.params(nonce=None)))["error"] \
        == "invalid_request"


def test_token_from_another_clients_code(holder_app: FastAPI, holder_runtime: IssuingRuntime, platform: Platform,
                                         representative: Phone) -> None:
    code = callback(login(holder_app, platform, representative))["code"]
    other = Platform(holder_app, holder_runtime, "别的平台")
    r = other.exchange(code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    wrong_secret = platform.exchange(code, secret="x" * 43)
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert platform.exchange(code).status_code == 200  # neither burnt the code


def test_prompt_none(holder_app: FastAPI, platform: Platform) -> None:
    assert callback(Desktop(holder_app).http.get("/oidc/authorize", params=platform.params(prompt="none")))[
        "error"] == "login_required"


def test_unsupported_response_type(holder_app: FastAPI, platform: Platform) -> None:
    assert callback(Desktop(holder_app).http.get("/oidc/authorize", params=platform.params(response_type="token")))[
        "error"] == "unsupported_response_type"


def _refused(holder_app: FastAPI, platform: Platform, phone: Phone, number: str | None = None) -> tuple[Any, Any]:
    desktop = Desktop(holder_app)
    req = desktop.open(platform.fresh().params())
    r = approve(phone, req["handle"], number or req["number"])
    return r, callback(desktop.finish(req["request_id"]))


def _handler(representative: Phone, holder_app: FastAPI, matters: list[str]) -> Phone:
    r = representative.grant("handler", "赵经办", matters=matters)
    assert r.status_code == 200, r.text
    return _enrol_from_page(holder_app, r.text)


def test_handler_without_the_platform_in_scope(holder_app: FastAPI, platform: Platform,
                                               representative: Phone, holder_runtime: IssuingRuntime,
                                               company: dict[str, Any]) -> None:
    handler = _handler(representative, holder_app, ["tax"])
    r, got = _refused(holder_app, platform, handler)
    assert r.status_code == 422 and r.json()["code"] == "holders.login_not_in_scope"
    assert got["error"] == "access_denied" and got["error_description"] == "holders.login_not_in_scope"
    with holder_runtime.sessions() as s:
        assert s.execute(select(Login.outcome).where(Login.uscc == company["uscc"])).scalars().all() == [
            "holders.login_not_in_scope"]
    # with the platform named, the handler logs in, and the grant is in the claims
    allowed = _handler(representative, holder_app, ["tax", f"login:{platform.client_id}"])
    claims = check_id_token(platform, platform.exchange(callback(login(holder_app, platform, allowed))["code"])
                            .json()["id_token"])
    assert claims["role"] == "handler" and f"login:{platform.client_id}" in claims["grant"]["scope"]


def test_revoked_grant(holder_app: FastAPI, platform: Platform, representative: Phone,
                       holder_runtime: IssuingRuntime) -> None:
    handler = _handler(representative, holder_app, [f"login:{platform.client_id}"])
    from license_service.db.models import Holder
    with holder_runtime.sessions() as s:
        hid = s.execute(select(Holder.holder_id).where(Holder.name == "赵经办").order_by(Holder.created_at.desc())
                        ).scalars().first()
    representative.reauth()
    assert representative.form(f"/holder/grants/{hid}/revoke", {}).status_code == 303
    r, got = _refused(holder_app, platform, handler)
    assert r.json()["code"] == "holders.login_revoked" and got["error"] == "access_denied"


def test_suspended_holder(holder_app: FastAPI, platform: Platform, representative: Phone, window: TestClient,
                          company: dict[str, Any]) -> None:
    handler = _handler(representative, holder_app, [f"login:{platform.client_id}"])
    changed = {**company, "representative": "新代表"}
    assert window.post("/api/v1/registrations", json=event("change", changed)).status_code == 201
    r, _ = _refused(holder_app, platform, handler)
    assert r.json()["code"] == "holders.login_suspended"


def test_cancelled_entity(holder_app: FastAPI, platform: Platform, representative: Phone, window: TestClient,
                          company: dict[str, Any]) -> None:
    r = window.post("/api/v1/registrations", json=event("cancellation", {"uscc": company["uscc"]}, reason="解散"))
    assert r.status_code == 200, r.text
    r, got = _refused(holder_app, platform, representative)
    assert r.json()["code"] == "holders.login_entity_cancelled" and got["error"] == "access_denied"


def test_denied_consent(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    desktop = Desktop(holder_app)
    req = desktop.open(platform.params())
    r = representative.http.post("/oidc/scan/deny", data={"handle": req["handle"]}, headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert desktop.state(req["request_id"]) == "denied"
    got = callback(desktop.finish(req["request_id"]))
    assert got["error"] == "access_denied" and got["state"] == platform.state
    assert "login.denied" in representative.http.get(f"/oidc/scan/{req['handle']}").text


def test_wrong_number_matched(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    desktop = Desktop(holder_app)
    req = desktop.open(platform.params())
    wrong = f"{(int(req['number']) - 9) % 90 + 10}"
    r = approve(representative, req["handle"], wrong)
    assert r.status_code == 422 and r.json()["code"] == "login.wrong_number"
    assert callback(desktop.finish(req["request_id"]))["error_description"] == "login.wrong_number"
    # the request is over: the right number now changes nothing
    assert "login.refused" in representative.http.get(f"/oidc/scan/{req['handle']}").text


def test_expired_and_used_requests_say_so(holder_app: FastAPI, holder_runtime: IssuingRuntime, platform: Platform,
                                          representative: Phone) -> None:
    from license_service.db.models import LoginRequest
    desktop = Desktop(holder_app)
    req = desktop.open(platform.params())
    with holder_runtime.write_sessions.begin() as s:
        s.execute(update(LoginRequest).where(LoginRequest.request_id == req["request_id"])
                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert "login.expired" in representative.http.get(f"/oidc/scan/{req['handle']}").text
    assert desktop.state(req["request_id"]) == "expired"
    p2 = Platform(holder_app, holder_runtime, "平台丙")
    d2 = Desktop(holder_app)
    req2 = d2.open(p2.params())
    assert approve(representative, req2["handle"], req2["number"]).status_code == 200
    assert "login.used" in representative.http.get(f"/oidc/scan/{req2['handle']}").text
    callback(d2.finish(req2["request_id"]))
    assert "login.used" in d2.finish(req2["request_id"]).text


# -- private_key_jwt, and the ID-token key's rotation -------------------------------------------------
@pytest.fixture
def jwks_server() -> Any:
    """The platform's own JWKS, served over real HTTP on a loopback port (what ``--jwks-uri`` names)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", parameters={"kid": "platform-1"})
    body = json.dumps({"keys": [key.as_dict(private=False)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def test_private_key_jwt(holder_app: FastAPI, holder_runtime: IssuingRuntime, representative: Phone,
                         jwks_server: Any) -> None:
    import time as clock

    key, jwks_uri = jwks_server
    platform = Platform(holder_app, holder_runtime, "用密钥认证的平台")
    with holder_runtime.write_sessions.begin() as s:  # registered with --jwks-uri
        from license_service.db.models import Platform as PlatformRow
        row = s.get(PlatformRow, platform.client_id)
        assert row is not None
        row.jwks_uri = jwks_uri
    code = callback(login(holder_app, platform, representative))["code"]
    token_url = holder_runtime.settings.public_base_url + "/oidc/token"

    def assertion(jti: str, *, signer: Any = key) -> str:
        now = int(clock.time())
        return jwt.encode({"alg": "ES256", "kid": "platform-1"}, {
            "iss": platform.client_id, "sub": platform.client_id, "aud": token_url, "jti": jti, "iat": now,
            "exp": now + 60}, signer)

    def exchange(client_assertion: str | None, **auth: Any) -> Any:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": platform.verifier}
        if client_assertion:
            form.update(client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        client_assertion=client_assertion)
        return platform.http.post("/oidc/token", data=form, **auth)

    from joserfc.jwk import ECKey
    # its secret no longer works: the platform authenticates with its key only
    assert exchange(None, auth=(platform.client_id, platform.secret)).json()["error"] == "invalid_client"
    forged = exchange(assertion("a", signer=ECKey.generate_key("P-256", parameters={"kid": "platform-1"})))
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_client"
    good = exchange(assertion("b"))
    assert good.status_code == 200, good.text
    check_id_token(platform, good.json()["id_token"])
    # the same assertion again is a replay (RFC 7523 s.3), refused before the code is looked at
    code = callback(login(holder_app, platform, representative))["code"]
    assert exchange(assertion("b")).json()["error"] == "invalid_client"


def test_id_token_key_rotates_on_its_own(tmp_path: Any) -> None:
    from signing.keys.files import FileSigners, ensure_dev_keys
    from signing.keys.public import FilePublicKeys
    from signing.keys.rotation import rotate_token_key

    at = datetime.now(UTC)
    ensure_dev_keys(tmp_path, at=at)
    qr_kid = FileSigners(tmp_path).token_signer().kid
    old_kid, new_kid = rotate_token_key(tmp_path, "idtoken", at=at)
    assert FileSigners(tmp_path).id_token_signer().kid == new_kid != old_kid
    assert {old_kid, new_kid} == set(FilePublicKeys(tmp_path).id_token_keyring().keys)  # the old one still published
    assert FileSigners(tmp_path).token_signer().kid == qr_kid  # the QR-token key untouched


def test_authorize_page_speaks_the_platforms_ui_locales(holder_app: FastAPI, platform: Platform) -> None:
    page = Desktop(holder_app).open(platform.params(ui_locales="en-US zh-CN"))["page"]
    assert "Log in with the e-license" in page and 'lang="en"' in page
    assert 'class="switch"' not in page  # a reload would replay the request's nonce
    assert "用电子营业执照登录" in Desktop(holder_app).open(platform.fresh().params())["page"]


def test_expired_grant(holder_app: FastAPI, platform: Platform, representative: Phone,
                       holder_runtime: IssuingRuntime, company: dict[str, Any]) -> None:
    from license_service.db.models import Holder
    handler = _handler(representative, holder_app, [f"login:{platform.client_id}"])
    with holder_runtime.write_sessions.begin() as s:  # its end date has passed
        s.execute(update(Holder).where(Holder.uscc == company["uscc"], Holder.role == "handler")
                  .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    r, got = _refused(holder_app, platform, handler)
    assert r.json()["code"] == "holders.login_expired" and got["error_description"] == "holders.login_expired"


def test_grant_revoked_between_approval_and_exchange(holder_app: FastAPI, platform: Platform,
                                                     representative: Phone, holder_runtime: IssuingRuntime,
                                                     company: dict[str, Any]) -> None:
    from license_service.db.models import Holder
    handler = _handler(representative, holder_app, [f"login:{platform.client_id}"])
    code = callback(login(holder_app, platform, handler))["code"]
    with holder_runtime.sessions() as s:
        hid = s.execute(select(Holder.holder_id).where(Holder.uscc == company["uscc"], Holder.role == "handler")
                        ).scalar_one()
    representative.reauth()
    assert representative.form(f"/holder/grants/{hid}/revoke", {}).status_code == 303
    r = platform.exchange(code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# -- the token endpoint's own branches (login/exchange.py: written by hand, so each is pinned here) ----
def _no_store(r: Any) -> None:
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"


def test_token_response_shape_and_headers(holder_app: FastAPI, platform: Platform, representative: Phone) -> None:
    r = platform.exchange(callback(login(holder_app, platform, representative))["code"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    _no_store(r)  # RFC 6749 s.5.1
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "id_token"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and body["scope"] == "openid profile"


def test_token_request_errors(holder_app: FastAPI, platform: Platform) -> None:
    """RFC 6749 s.5.2: each malformed request its error, 400, never cached; nothing to do with a code."""
    http, auth = platform.http, (platform.client_id, platform.secret)
    form = {"grant_type": "authorization_code", "code": "x" * 43, "redirect_uri": REDIRECT, "code_verifier": "v" * 43}

    def post(data: Any, **kw: Any) -> Any:
        r = http.post("/oidc/token", data=data, **kw)
        _no_store(r)
        return r

    cases = [
        ({k: v for k, v in form.items() if k != "grant_type"}, "invalid_request"),  # missing grant_type
        ({**form, "grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({**form, "grant_type": "refresh_token"}, "unsupported_grant_type"),
        ({k: v for k, v in form.items() if k != "code"}, "invalid_request"),  # missing code
    ]
    for data, error in cases:
        r = post(data, auth=auth)
        assert (r.status_code, r.json()["error"]) == (400, error), (data, r.text)
    r = http.post("/oidc/token", content="grant_type=authorization_code&code=a&code=b", auth=auth,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    _no_store(r)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")  # a repeated parameter, s.3.2
    r = http.post("/oidc/token", json=form, auth=auth)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")  # not a form
    # a code no client was given: invalid_grant
    assert post(form, auth=auth).json()["error"] == "invalid_grant"


def test_token_client_authentication_errors(holder_app: FastAPI, holder_runtime: IssuingRuntime,
                                            platform: Platform, representative: Phone) -> None:
    """invalid_client is 401 with WWW-Authenticate (s.5.2); one method per request (s.2.3); and none of
    these refusals spends the code."""
    code = callback(login(holder_app, platform, representative))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": platform.verifier}
    http = platform.http

    def refused(r: Any, error: str = "invalid_client") -> None:
        assert r.json()["error"] == error, r.text
        _no_store(r)
        if error == "invalid_client":
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic ")
        else:
            assert r.status_code == 400

    refused(http.post("/oidc/token", data=form))  # no authentication at all
    refused(http.post("/oidc/token", data=form, auth=("plt_" + "0" * 20, platform.secret)))  # unknown client
    refused(http.post("/oidc/token", data=form, auth=(platform.client_id, "")))  # empty secret
    refused(http.post("/oidc/token", data=form, headers={"Authorization": "Basic not-base64!"}))
    refused(http.post("/oidc/token", data=form, headers={
        "Authorization": "Basic " + base64.b64encode(platform.client_id.encode()).decode()}))  # no colon
    # client_secret_post is not offered (discovery lists client_secret_basic and private_key_jwt)
    refused(http.post("/oidc/token", data={**form, "client_id": platform.client_id, "client_secret": platform.secret}))
    # two methods in one request; a body client_id that is not the Basic one
    refused(http.post("/oidc/token", data={**form, "client_assertion_type":
                                           "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                           "client_assertion": "a.b.c"},
                      auth=(platform.client_id, platform.secret)), "invalid_request")
    refused(http.post("/oidc/token", data={**form, "client_id": "plt_" + "1" * 20},
                      auth=(platform.client_id, platform.secret)), "invalid_request")
    # a malformed assertion, or one of the wrong type
    refused(http.post("/oidc/token", data={**form, "client_assertion_type":
                                           "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                           "client_assertion": "not-a-jwt"}))
    refused(http.post("/oidc/token", data={**form, "client_assertion_type": "urn:example:saml",
                                           "client_assertion": "a.b.c"}))
    r = platform.exchange(code)  # none of that spent the code
    assert r.status_code == 200, r.text


def test_token_wrong_redirect_uri_spends_the_code(holder_app: FastAPI, platform: Platform,
                                                  representative: Phone) -> None:
    """RFC 6749 s.4.1.3: redirect_uri must be the authorization request's. A refusal after the code is
    taken spends it (committed): whoever holds a stolen code gets one try."""
    code = callback(login(holder_app, platform, representative))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT + "/other",
            "code_verifier": platform.verifier}
    r = platform.http.post("/oidc/token", data=form, auth=(platform.client_id, platform.secret))
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    assert platform.exchange(code).json()["error"] == "invalid_grant"


def test_token_verifier_rules(holder_app: FastAPI, holder_runtime: IssuingRuntime, platform: Platform,
                              representative: Phone) -> None:
    """RFC 7636 s.4.1 and s.4.6: a malformed verifier is invalid_request, a wrong one invalid_grant;
    either spends the code, and keeps no access token for it."""
    for verifier, error in (("short", "invalid_request"), ("~" * 129, "invalid_request"),
                            ("a b" * 20, "invalid_request"), (secrets.token_urlsafe(48), "invalid_grant")):
        code = callback(login(holder_app, platform, representative))["code"]
        r = platform.exchange(code, verifier=verifier)
        assert (r.status_code, r.json()["error"]) == (400, error), verifier
        with holder_runtime.sessions() as s:
            row = s.get(AuthorizationCode, hashlib.sha256(code.encode()).hexdigest())
            assert row is not None and row.used_at is not None and row.token_sha256 is None
        assert platform.exchange(code).json()["error"] == "invalid_grant"  # spent


def test_code_replay_revokes_only_its_own_token(holder_app: FastAPI, platform: Platform,
                                                representative: Phone) -> None:
    """RFC 6749 s.4.1.2: a code presented twice is refused and the tokens it gave are revoked; the tokens
    of other codes stay good. (ID tokens cannot be recalled: they live ID_TOKEN_TTL.)"""
    first = platform.exchange(code := callback(login(holder_app, platform, representative))["code"]).json()
    other = platform.exchange(callback(login(holder_app, platform, representative))["code"]).json()

    def info(token: str) -> int:
        return int(platform.http.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code)

    assert info(first["access_token"]) == info(other["access_token"]) == 200
    assert platform.exchange(code).json()["error"] == "invalid_grant"
    assert info(first["access_token"]) == 401 and info(other["access_token"]) == 200
    assert platform.exchange(code).json()["error"] == "invalid_grant"  # and again


def test_access_token_rules(holder_app: FastAPI, holder_runtime: IssuingRuntime, platform: Platform,
                            representative: Phone) -> None:
    """userinfo takes the access token whole and only while it lives (TOKEN_TTL from the exchange)."""
    code = callback(login(holder_app, platform, representative))["code"]
    token = platform.exchange(code).json()["access_token"]
    key, _, secret = token.partition(".")

    def info(value: str) -> int:
        return int(platform.http.get("/oidc/userinfo", headers={"Authorization": f"Bearer {value}"}).status_code)

    assert info(token) == 200
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert info(f"{key}.{forged}") == 401  # the right row, the wrong secret
    assert info(f"{key}.") == info(secret) == info("a" * 87) == info("!" * 43 + "." + secret) == 401
    with holder_runtime.write_sessions.begin() as s:  # five minutes and a second later
        s.execute(update(AuthorizationCode).where(AuthorizationCode.code_sha256 == hashlib.sha256(code.encode())
                                                  .hexdigest()).values(used_at=datetime.now(UTC) - timedelta(seconds=301)))
    assert info(token) == 401


def test_private_key_jwt_claims(holder_app: FastAPI, holder_runtime: IssuingRuntime, representative: Phone,
                                jwks_server: Any) -> None:
    """RFC 7523 s.3: iss and sub the client, aud the token endpoint (or the issuer), exp required and
    not past, a jti; HS256 (keyed with anything) refused by the alg allow-list. Each is invalid_client."""
    import time as clock

    from joserfc.jwk import OctKey

    key, jwks_uri = jwks_server
    platform = Platform(holder_app, holder_runtime, "断言平台")
    with holder_runtime.write_sessions.begin() as s:
        from license_service.db.models import Platform as PlatformRow
        row = s.get(PlatformRow, platform.client_id)
        assert row is not None
        row.jwks_uri = jwks_uri
    code = callback(login(holder_app, platform, representative))["code"]
    token_url = holder_runtime.settings.public_base_url + "/oidc/token"
    now = int(clock.time())
    good = {"iss": platform.client_id, "sub": platform.client_id, "aud": token_url, "jti": secrets.token_hex(8),
            "iat": now, "exp": now + 60}

    def exchange(claims: dict[str, Any], *, header: dict[str, Any] | None = None, signer: Any = key) -> Any:
        assertion = jwt.encode(header or {"alg": "ES256", "kid": "platform-1"}, claims, signer,
                               algorithms=["ES256", "HS256"])
        return platform.http.post("/oidc/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": platform.verifier, "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})

    bad = [{**good, "aud": "https://elsewhere.example/token"}, {**good, "exp": now - 120},
           {**good, "iss": "plt_" + "2" * 20}, {k: v for k, v in good.items() if k != "exp"},
           {k: v for k, v in good.items() if k != "jti"}]
    for claims in bad:
        r = exchange({**claims, "jti": secrets.token_hex(8)} if "jti" in claims else claims)
        assert (r.status_code, r.json()["error"]) == (401, "invalid_client"), (claims, r.text)
    r = exchange({**good, "jti": secrets.token_hex(8)}, header={"alg": "HS256", "kid": "platform-1"},
                 signer=OctKey.import_key(b"k" * 32))
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    r = exchange({**good, "aud": holder_runtime.settings.public_base_url})  # the issuer as audience will do
    assert r.status_code == 200, r.text


# -- exchanges that arrive together share one transaction (login.exchange.ExchangeBatches) ------------
def _stored_codes(runtime: IssuingRuntime, platform: Platform, uscc: str, n: int) -> list[str]:
    """``n`` codes for ``platform`` stored as the authorize step stores them (for the legal representative)."""
    from license_service.db.models import Holder
    from license_service.login.provider import CODE_TTL

    at = datetime.now(UTC)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(platform.verifier.encode()).digest()).rstrip(b"=").decode()
    codes = [secrets.token_urlsafe(36) for _ in range(n)]
    with runtime.write_sessions.begin() as s:
        holder_id = s.execute(select(Holder.holder_id).where(Holder.uscc == uscc,
                                                             Holder.role == "legal_representative")).scalar_one()
        for code in codes:
            s.add(AuthorizationCode(code_sha256=hashlib.sha256(code.encode()).hexdigest(), client_id=platform.client_id,
                                    redirect_uri=REDIRECT, scope="openid", nonce=platform.nonce,
                                    code_challenge=challenge, code_challenge_method="S256", holder_id=holder_id,
                                    share_name=0, auth_time=at, login_id=secrets.token_hex(16), created_at=at,
                                    expires_at=at + CODE_TTL, used_at=None))
    return codes


def _spent(runtime: IssuingRuntime, code: str) -> bool:
    with runtime.sessions() as s:
        row = s.get(AuthorizationCode, hashlib.sha256(code.encode()).hexdigest())
        assert row is not None
        return row.used_at is not None


def test_exchanges_arriving_together(holder_app: FastAPI, holder_runtime: IssuingRuntime, platform: Platform,
                                     representative: Phone, company: dict[str, Any]) -> None:
    """Gathered in one turn of the event loop, exchanged in one transaction, each answered as it would be
    alone: good codes get tokens, a code presented twice in the batch is refused and revokes what the
    first gave, a wrong verifier is refused and spends its code; all of it committed."""
    import asyncio

    from license_service.errors import TokenRequestRefused
    from license_service.login.exchange import ExchangeBatches

    codes = _stored_codes(holder_runtime, platform, company["uscc"], 4)
    auth = "Basic " + base64.b64encode(f"{platform.client_id}:{platform.secret}".encode()).decode()

    def form(code: str, verifier: str | None = None) -> dict[str, str]:
        return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier or platform.verifier}

    batches = ExchangeBatches(holder_app.state.login_pages.exchange, lambda: datetime.now(UTC))
    forms = [form(codes[0]), form(codes[1]), form(codes[1]), form(codes[2], secrets.token_urlsafe(48)), form(codes[3])]

    async def together() -> list[Any]:
        return await asyncio.gather(*(batches.exchange(f, auth) for f in forms), return_exceptions=True)

    first, second, replay, wrong, last = asyncio.run(together())
    for good in (first, second, last):
        assert isinstance(good, dict) and check_id_token(platform, good["id_token"])["sub"]
    assert isinstance(replay, TokenRequestRefused) and replay.code == "invalid_grant"
    assert isinstance(wrong, TokenRequestRefused) and wrong.code == "invalid_grant"
    assert all(_spent(holder_runtime, c) for c in codes)

    def info(token: str) -> int:
        return int(platform.http.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code)

    assert info(first["access_token"]) == info(last["access_token"]) == 200
    assert info(second["access_token"]) == 401  # revoked by the replay in the same batch


def test_one_exchange_failing_leaves_the_batch_standing(holder_app: FastAPI, holder_runtime: IssuingRuntime,
                                                        platform: Platform, representative: Phone,
                                                        company: dict[str, Any]) -> None:
    """Our own fault in one exchange of a batch (the ID-token signer refuses, as an HSM may) rolls back
    its savepoint only: its code stays unspent for a retry, the others are committed."""
    from license_service.login.exchange import CodeExchange
    from license_service.login.provider import JwksFetcher
    from signing.errors import SigningError

    real = holder_runtime.signers.id_token_signer()
    calls = {"n": 0}

    class RefusesTheSecond:
        kid, public_jwk = real.kid, real.public_jwk

        def sign_es256(self, signing_input: bytes) -> bytes:
            calls["n"] += 1
            if calls["n"] == 2:
                raise SigningError("the HSM refused")
            return real.sign_es256(signing_input)

    exchanger = CodeExchange(holder_runtime.engine, issuer=holder_runtime.settings.public_base_url,
                             id_token_signer=RefusesTheSecond, jwks_fetcher=JwksFetcher())
    codes = _stored_codes(holder_runtime, platform, company["uscc"], 3)
    auth = "Basic " + base64.b64encode(f"{platform.client_id}:{platform.secret}".encode()).decode()
    results = exchanger.exchange_many([({"grant_type": "authorization_code", "code": c, "redirect_uri": REDIRECT,
                                         "code_verifier": platform.verifier}, auth) for c in codes],
                                      at=datetime.now(UTC))
    assert isinstance(results[0], dict) and isinstance(results[2], dict)
    assert isinstance(results[1], SigningError)
    assert [_spent(holder_runtime, c) for c in codes] == [True, False, True]
    assert platform.exchange(codes[1]).status_code == 200  # the retry gets its tokens
