"""Access tokens are ours alone (issue 12 items 1 and 4), through the real app on SQLite and
PostgreSQL: a leaked access key forges nothing that passes (backdated ``iat``, far ``exp``, any scope,
a subject no client has), a retired one verifies nothing once the TTL has passed since its retirement,
a compromised one nothing at all; a disabled or deleted client's live tokens stop working within
seconds, in the issuing and in the verification service; ``elicense clients ...`` does the cutting.

The forgeries are ``tests/adversarial/leaked_access_key.py``'s (the e2e suite runs them against a
real server too)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from typer.testing import CliRunner

from devapp import create_app as create_combined_app
from license_service.access import ACCESS_TOKEN_TYP
from license_service.cli import app as cli
from license_service.config import Settings
from license_service.oauth import create_client
from license_service.runtime.issuing import IssuingRuntime
from license_service.runtime.read import ReadRuntime
from signing.keys.files import FileSigners, TokenSigningKey
from signing.keys.public import FilePublicKeys
from signing.keys.rotation import mark_compromised, rotate_token_key
from signing.tokens import CachingVerifier, InvalidToken
from tests.adversarial.leaked_access_key import (
    genuine_shape,
    with_a_compromised_key,
    with_a_retired_key,
    with_the_current_key,
)
from tests.conftest import entity, event, make_uscc
from verify_app.app import create_app as create_verify_app

BASE = "http://testserver"


def _client(runtime: IssuingRuntime, scopes: str = "registrations:write licenses:read verify") -> str:
    return create_client(runtime.sessions, "access-test", scopes.split(), at=datetime.now(UTC))[0]


def _call(app: Any, token: str) -> int:
    """An API call that answers 404 to any authenticated client, 401 to anyone else."""
    r = TestClient(app, base_url=BASE).get(f"/api/v1/entities/{make_uscc()}",
                                           headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (401, 404), r.text
    if r.status_code == 401:
        assert r.json()["code"] == "auth.invalid_token"  # opaque: the same whatever failed
    return r.status_code


def _access_keys(runtime: IssuingRuntime, directory: Path, at: datetime) -> TokenSigningKey:
    """A copy of the runtime's keys folder with an access key of its own, current from ``at``."""
    shutil.copytree(runtime.settings.keys_dir, directory)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    (directory / "access.key").write_text(pem)
    key = TokenSigningKey.from_pem(pem)
    (directory / "access-jwks.json").write_text(json.dumps({"keys": [{**key.public_jwk,
                                                                        "valid_from": int(at.timestamp())}]}))
    return key


def _with_keys(runtime: IssuingRuntime, keys_dir: Path) -> Any:
    """The app as restarted over another keys folder's public access keys (same registry)."""
    return create_combined_app(runtime.settings, replace(runtime, keys=FilePublicKeys(keys_dir)))


# -- item 1: a leaked key --------------------------------------------------------------------------------
def test_the_leaked_key_attack_as_found_is_refused(runtime: IssuingRuntime, app: Any) -> None:
    """Before: backdated iat, exp ten years ahead, every scope, a subject no client has, signed with
    the genuine access key: POST /api/v1/registrations answered 201."""
    leaked = FileSigners(runtime.settings.keys_dir).access_signer()
    token = with_the_current_key(leaked, issuer=BASE, client_id=_client(runtime), ttl=900,
                                 at=datetime.now(UTC))["backdated_iat_far_exp_any_scope_unknown_sub"]
    r = TestClient(app, base_url=BASE).post("/api/v1/registrations", json=event("establishment", entity()),
                                            headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "auth.invalid_token"


def test_forgeries_with_the_current_key_are_refused(runtime: IssuingRuntime, app: Any) -> None:
    leaked = FileSigners(runtime.settings.keys_dir).access_signer()
    cid, now, ttl = _client(runtime), datetime.now(UTC), runtime.settings.access_token_ttl_seconds
    # the control: what the issuer mints passes (a leaked current key is why rotation and revocation exist)
    assert _call(app, genuine_shape(leaked, issuer=BASE, client_id=cid, ttl=ttl, at=now)) == 404
    forged = with_the_current_key(leaked, issuer=BASE, client_id=cid, ttl=ttl, at=now)
    assert {name: _call(app, token) for name, token in forged.items()} == dict.fromkeys(forged, 401)


def test_a_retired_access_key_verifies_nothing_once_the_ttl_has_passed(runtime: IssuingRuntime,
                                                                       tmp_path: Path) -> None:
    ttl, now = runtime.settings.access_token_ttl_seconds, datetime.now(UTC)
    retired_at = now - timedelta(seconds=ttl + 60)
    old = _access_keys(runtime, tmp_path / "keys", retired_at - timedelta(days=30))
    _, new_kid = rotate_token_key(tmp_path / "keys", "access", at=retired_at)
    new = TokenSigningKey.from_pem((tmp_path / "keys" / "access.key").read_text())
    assert new.kid == new_kid != old.kid
    app, cid = _with_keys(runtime, tmp_path / "keys"), _client(runtime)
    assert _call(app, genuine_shape(new, issuer=BASE, client_id=cid, ttl=ttl, at=now)) == 404
    forged = with_a_retired_key(old, issuer=BASE, client_id=cid, ttl=ttl, retired_at=retired_at, at=now)
    assert {name: _call(app, token) for name, token in forged.items()} == dict.fromkeys(forged, 401)

    # at the times that matter (time is a parameter): a token the old key genuinely signed just before
    # its retirement lives out its lifetime; from retirement + TTL on, the key verifies nothing
    verifier = CachingVerifier(FilePublicKeys(tmp_path / "keys").access_keyring(), max_lifetime=ttl, typ=ACCESS_TOKEN_TYP)
    minted = genuine_shape(old, issuer=BASE, client_id=cid, ttl=ttl, at=retired_at - timedelta(seconds=10))
    assert verifier.verify(minted, at=retired_at + timedelta(seconds=60))["sub"] == cid
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(minted, at=retired_at + timedelta(seconds=ttl))
    assert refused.value.reason == "token.key_retired"


def test_a_compromised_access_key_verifies_nothing(runtime: IssuingRuntime, tmp_path: Path) -> None:
    """Even a token dated before the time the key is held compromised from (which a QR token's check
    would accept): whoever holds the key writes whatever ``iat`` suits them."""
    ttl, now = runtime.settings.access_token_ttl_seconds, datetime.now(UTC)
    retired_at = now - timedelta(seconds=60)
    old = _access_keys(runtime, tmp_path / "keys", retired_at - timedelta(days=30))
    rotate_token_key(tmp_path / "keys", "access", at=retired_at)
    cid = _client(runtime)
    forged = with_a_compromised_key(old, issuer=BASE, client_id=cid, ttl=ttl, retired_at=retired_at, since=now,
                                    at=now)
    before = _with_keys(runtime, tmp_path / "keys")
    assert {name: _call(before, token) for name, token in forged.items()} == dict.fromkeys(forged, 404)

    mark_compromised(tmp_path / "keys", old.kid, now, "access")
    after = _with_keys(runtime, tmp_path / "keys")  # services read keys at start: restarted
    assert {name: _call(after, token) for name, token in forged.items()} == dict.fromkeys(forged, 401)
    verifier = CachingVerifier(FilePublicKeys(tmp_path / "keys").access_keyring(), max_lifetime=ttl, typ=ACCESS_TOKEN_TYP)
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(next(iter(forged.values())), at=now)
    assert refused.value.reason == "token.key_compromised"


# -- item 4: cutting a client off ------------------------------------------------------------------------
def _token(app: Any, cid: str, secret: str) -> str:
    r = TestClient(app, base_url=BASE).post("/oauth/token", data={"grant_type": "client_credentials",
                                                                 "client_id": cid, "client_secret": secret})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_a_disabled_clients_live_token_stops_working(runtime: IssuingRuntime) -> None:
    """In the issuing service and in the verification service (its own process, read-only runtime);
    here with the client's status read on every request (production: at most 5 s old)."""
    from license_service.oauth import delete_client, set_disabled

    settings = runtime.settings.model_copy(update={"client_status_max_age_seconds": 0})
    issuing = create_combined_app(settings, replace(runtime, settings=settings))
    verifying = create_verify_app(settings, ReadRuntime.build(settings))
    cid, secret = create_client(runtime.sessions, "cut-off", ["licenses:read", "verify"], at=datetime.now(UTC))
    token = _token(issuing, cid, secret)

    def verify_api() -> int:
        return TestClient(verifying, base_url=BASE).post("/api/v1/verify/token", json={"token": "a.b.c"},
                                                         headers={"Authorization": f"Bearer {token}"}).status_code

    assert (_call(issuing, token), verify_api()) == (404, 200)
    set_disabled(runtime.write_sessions, cid, True)
    assert (_call(issuing, token), verify_api()) == (401, 401)
    set_disabled(runtime.write_sessions, cid, False)
    assert (_call(issuing, token), verify_api()) == (404, 200)
    delete_client(runtime.write_sessions, cid)
    assert (_call(issuing, token), verify_api()) == (401, 401)


def test_a_clients_status_is_believed_for_seconds_and_read_from_two_columns(runtime: IssuingRuntime) -> None:
    from license_service.access import ClientStatus
    from license_service.oauth import set_disabled

    cid = _client(runtime)
    status = ClientStatus(runtime.sessions, max_age=5)
    t = datetime.now(UTC)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa_event.listen(runtime.engine, "before_cursor_execute", seen)
    try:
        assert status.is_enabled(cid, at=t)
        set_disabled(runtime.write_sessions, cid, True)
        assert status.is_enabled(cid, at=t + timedelta(seconds=4.9))  # remembered for seconds...
        assert not status.is_enabled(cid, at=t + timedelta(seconds=5))  # ...not longer
        set_disabled(runtime.write_sessions, cid, False)
        assert status.is_enabled(cid, at=t - timedelta(seconds=1))  # a clock that went back reads again
        assert not status.is_enabled("cli_" + "0" * 20, at=t)  # no such client
    finally:
        sa_event.remove(runtime.engine, "before_cursor_execute", seen)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # the verifier's database role will be granted api_clients(client_id, disabled) alone (item 9)
    assert reads and all("api_clients.disabled" in s and "secret_hash" not in s and "scopes" not in s
                         for s in reads), reads
    with pytest.raises(ValueError):
        Settings(client_status_max_age_seconds=61)  # seconds, not minutes


def test_elicense_clients_commands(runtime: IssuingRuntime, app: Any) -> None:
    env = {"ELICENSE_DATABASE_URL": runtime.settings.database_url, "ELICENSE_KEYS_DIR": str(runtime.settings.keys_dir),
           "ELICENSE_ENV": "development"}
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        r = runner.invoke(cli, list(args), env=env)
        assert r.exit_code == code, (args, r.output)
        return r.output

    made = json.loads(run("clients", "create", "--name", "平台甲", "--scopes", "licenses:read verify", "--json"))
    cid, secret = made["client_id"], made["client_secret"]

    def listed() -> dict[str, Any]:
        return next(c for c in json.loads(run("clients", "list", "--json")) if c["client_id"] == cid)

    row = listed()
    assert row["name"] == "平台甲" and row["scopes"] == ["licenses:read", "verify"] and row["disabled"] is False
    assert datetime.fromisoformat(row["created_at"]).tzinfo is not None and "secret" not in json.dumps(row)
    table = run("clients", "list")
    assert cid in table and "平台甲" in table and secret not in table

    token = _token(app, cid, secret)
    assert "disabled" in run("clients", "disable", cid) and listed()["disabled"] is True
    r = TestClient(app, base_url=BASE).post("/oauth/token", data={"grant_type": "client_credentials",
                                                                 "client_id": cid, "client_secret": secret})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    run("clients", "enable", cid)
    assert listed()["disabled"] is False and _call(app, token) == 404

    rotated = json.loads(run("clients", "rotate-secret", cid, "--json"))
    assert rotated["client_id"] == cid and rotated["client_secret"] != secret
    r = TestClient(app, base_url=BASE).post("/oauth/token", data={"grant_type": "client_credentials",
                                                                 "client_id": cid, "client_secret": secret})
    assert r.status_code == 401
    _token(app, cid, rotated["client_secret"])

    run("clients", "delete", cid, "--yes")
    assert cid not in run("clients", "list")
    for command in (("disable", cid), ("enable", cid), ("rotate-secret", cid), ("delete", cid, "--yes")):
        run("clients", *command, code=2)
