"""POST /oauth/token through the real app (SQLite and PostgreSQL), issue 12 item 3: no slow hash on
any call (the CPU sink), earlier scrypt hashes still accepted and re-hashed, HTTP Basic client
authentication (RFC 6749 s.2.3.1), errors in the RFC 6749 s.5.2 form, and rate limits (429
problem+json with Retry-After): every request per source address, failed authentications per client
id (which locks no genuine client out)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from devapp import create_app as create_combined_app
from license_service.db.models import ApiClient
from license_service.oauth import create_client, verify_secret
from license_service.runtime.issuing import IssuingRuntime

GRANT = {"grant_type": "client_credentials"}


def _client(runtime: IssuingRuntime, scopes: str = "licenses:read verify") -> tuple[str, str]:
    return create_client(runtime.sessions, "oauth-test", scopes.split(), at=datetime.now(UTC))


def _basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 s.2.3.1: each part form-urlencoded, then RFC 7617 Basic."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _oauth_error(r: Any, status: int, error: str) -> dict[str, Any]:
    """RFC 6749 s.5.2: the status, application/json (not problem+json), ``error`` and a description,
    never cached."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json", r.headers["content-type"]
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    assert body["error"] == error and body["error_description"], body
    assert set(body) == {"error", "error_description"}
    return body


def _stored_hash(runtime: IssuingRuntime, client_id: str) -> str:
    with runtime.sessions() as s:
        stored = s.execute(select(ApiClient.secret_hash).where(ApiClient.client_id == client_id)).scalar_one()
    return str(stored)


# -- the CPU sink ----------------------------------------------------------------------------------------
def test_no_token_request_runs_a_slow_hash(anon: TestClient, runtime: IssuingRuntime,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: every call ran scrypt (the dummy one for unknown clients too), 16 garbage connections
    made registrations 12x slower. Secrets are 256 random bits: SHA-256 compared in constant time."""
    cid, secret = _client(runtime)
    assert _stored_hash(runtime, cid).startswith("sha256$")
    calls: list[object] = []
    real_scrypt = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(a) or real_scrypt(*a, **k))
    assert anon.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": secret}).status_code == 200
    _oauth_error(anon.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": "wrong"}),
                 401, "invalid_client")
    _oauth_error(anon.post("/oauth/token", data={**GRANT, "client_id": "cli_" + "0" * 20, "client_secret": "x"}),
                 401, "invalid_client")
    assert calls == []


def test_an_earlier_scrypt_hash_still_works_and_is_rehashed(anon: TestClient, runtime: IssuingRuntime) -> None:
    cid, _ = _client(runtime)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    with runtime.sessions.begin() as s:
        s.get_one(ApiClient, cid).secret_hash = legacy
    _oauth_error(anon.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": secret + "x"}),
                 401, "invalid_client")
    assert _stored_hash(runtime, cid) == legacy  # a wrong secret changes nothing
    assert anon.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": secret}).status_code == 200
    rehashed = _stored_hash(runtime, cid)
    assert rehashed.startswith("sha256$") and verify_secret(secret, rehashed)
    assert anon.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": secret}).status_code == 200


# -- HTTP Basic (RFC 6749 s.2.3.1) ---------------------------------------------------------------------
def test_http_basic_client_authentication(anon: TestClient, runtime: IssuingRuntime) -> None:
    cid, secret = _client(runtime)
    r = anon.post("/oauth/token", data={**GRANT, "scope": "verify"}, headers=_basic(cid, secret))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "bearer" and body["scope"] == "verify" and body["expires_in"] > 0
    ok = anon.post("/api/v1/verify/token", json={"token": "a.b.c"},
                   headers={"Authorization": f"Bearer {body['access_token']}"})
    assert ok.status_code == 200, ok.text
    # client_id may also be in the body (s.3.2.1), if it is the same
    assert anon.post("/oauth/token", data={**GRANT, "client_id": cid}, headers=_basic(cid, secret)).status_code == 200


def test_http_basic_refusals(anon: TestClient, runtime: IssuingRuntime) -> None:
    cid, secret = _client(runtime)
    for headers in (_basic(cid, "wrong"), _basic("cli_" + "1" * 20, secret),
                    {"Authorization": "Basic !!!not-base64"},
                    {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
                    {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()}):
        r = anon.post("/oauth/token", data=GRANT, headers=headers)
        _oauth_error(r, 401, "invalid_client")
        assert r.headers["www-authenticate"].startswith("Basic "), headers  # s.5.2: MUST, when Basic was used
    # one authentication method per request (s.2.3), and the same client if named twice
    _oauth_error(anon.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": secret},
                           headers=_basic(cid, secret)), 400, "invalid_request")
    _oauth_error(anon.post("/oauth/token", data={**GRANT, "client_id": "cli_" + "2" * 20},
                           headers=_basic(cid, secret)), 400, "invalid_request")


# -- errors (RFC 6749 s.5.2) -----------------------------------------------------------------------------
def test_errors_are_rfc6749_section_5_2(anon: TestClient, runtime: IssuingRuntime) -> None:
    cid, secret = _client(runtime, "verify")
    creds = {"client_id": cid, "client_secret": secret}
    r = _oauth_error(anon.post("/oauth/token", data={**GRANT, "client_id": "nobody", "client_secret": "x"}),
                     401, "invalid_client")
    assert "nobody" not in r["error_description"]
    _oauth_error(anon.post("/oauth/token", data=GRANT), 401, "invalid_client")  # no credentials at all
    _oauth_error(anon.post("/oauth/token", data={"grant_type": "password", **creds}), 400, "unsupported_grant_type")
    _oauth_error(anon.post("/oauth/token", data=creds), 400, "invalid_request")  # no grant_type
    _oauth_error(anon.post("/oauth/token", data={**GRANT, **creds, "scope": "audit"}), 400, "invalid_scope")
    _oauth_error(anon.post("/oauth/token", data={**GRANT, **creds, "scope": "verify\tx"}), 400, "invalid_scope")
    _oauth_error(anon.post("/oauth/token", json={**GRANT, **creds}), 400, "invalid_request")  # not a form
    _oauth_error(anon.post("/oauth/token", content=f"grant_type=client_credentials&grant_type=x&client_id={cid}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, "invalid_request")
    _oauth_error(anon.post("/oauth/token", content=b"grant_type=client_credentials&client_id=%ff",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, "invalid_request")
    # a parameter sent without a value is as if omitted (s.3.1): the default scope
    ok = anon.post("/oauth/token", data={**GRANT, **creds, "scope": ""})
    assert ok.status_code == 200 and ok.json()["scope"] == "verify"


def test_a_disabled_client_gets_no_token(anon: TestClient, runtime: IssuingRuntime) -> None:
    from license_service.oauth import set_disabled

    cid, secret = _client(runtime)
    set_disabled(runtime.write_sessions, cid, True)
    _oauth_error(anon.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": secret}),
                 401, "invalid_client")


# -- rate limits -----------------------------------------------------------------------------------------
def _limited_app(runtime: IssuingRuntime, **limits: Any) -> Any:
    """The app over the same registry with token-endpoint limits of its own."""
    settings = runtime.settings.model_copy(update=limits)
    return create_combined_app(settings, replace(runtime, settings=settings))


def test_rate_limit_per_source_address(runtime: IssuingRuntime) -> None:
    app = _limited_app(runtime, rate_token_per_second=0.01, rate_token_burst=3)
    here = TestClient(app, client=("192.0.2.1", 40000))
    codes = [here.post("/oauth/token", data={**GRANT, "client_id": "x", "client_secret": "y"}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = here.post("/oauth/token", data={**GRANT, "client_id": "x", "client_secret": "y"})
    assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
    # a legitimate client elsewhere is not held up by it
    cid, secret = _client(runtime)
    there = TestClient(app, client=("192.0.2.2", 40000))
    assert there.post("/oauth/token", data={**GRANT, "client_id": cid, "client_secret": secret}).status_code == 200


def test_failed_authentications_are_rate_limited_per_client_id(runtime: IssuingRuntime,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    app = _limited_app(runtime, rate_token_failures_per_second=0.01, rate_token_failures_burst=2)

    def post(address: int, headers: dict[str, str] | None = None, **form: str) -> Any:
        return TestClient(app, client=(f"192.0.2.{address}", 40000)).post(
            "/oauth/token", data={**GRANT, **form}, headers=headers)

    cid, secret = _client(runtime)
    codes = [post(i, client_id=cid, client_secret="guess").status_code for i in range(10, 13)]
    assert codes == [401, 401, 429]  # from three addresses: the client id is what is counted
    r = post(13, _basic(cid, "guess"))
    assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) >= 1 and r.json()["code"] == "rate_limited"
    # whoever knows the id cannot lock the client out: its genuine secret still gets a token
    assert post(14, client_id=cid, client_secret=secret).status_code == 200
    assert post(15, _basic(cid, secret)).status_code == 200
    other, _ = _client(runtime)  # and other clients are not counted with it
    assert post(16, client_id=other, client_secret="guess").status_code == 401

    # a secret still stored as scrypt (costly to check) is refused unchecked while the limit is spent
    legacy_id, _ = _client(runtime)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(b"the-secret", salt=salt, n=2**14, r=8, p=1, dklen=32)
    with runtime.sessions.begin() as s:
        s.get_one(ApiClient, legacy_id).secret_hash = \
            f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    calls: list[object] = []
    real_scrypt = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(a) or real_scrypt(*a, **k))
    codes = [post(20 + i, client_id=legacy_id, client_secret="guess").status_code for i in range(5)]
    assert codes == [401, 401, 429, 429, 429] and len(calls) == 2
