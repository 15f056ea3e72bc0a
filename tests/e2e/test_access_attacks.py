"""Issue 12 items 1 and 4 against a real ``elicense serve`` (SQLite and PostgreSQL), restarted after
each key change as the README says: ``tests/adversarial/leaked_access_key.py``'s forgeries with a
leaked access key, then with it retired, then held compromised, all refused; a disabled client's live
token refused within seconds of ``elicense clients disable``, and accepted again after ``enable``."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from signing.keys.files import TokenSigningKey, ensure_dev_keys
from signing.keys.rotation import mark_compromised, rotate_token_key
from tests.adversarial.leaked_access_key import (
    genuine_shape,
    with_a_compromised_key,
    with_a_retired_key,
    with_the_current_key,
)
from tests.conftest import entity, event, make_uscc, pg_database

from .conftest import Server

TTL = 900  # the default ELICENSE_ACCESS_TOKEN_TTL_SECONDS


def _status(server: Server, token: str) -> int:
    """401 to anyone unauthenticated; 404 (no such entity) to an authenticated client."""
    r = httpx.get(f"{server.base}/api/v1/entities/{make_uscc()}", headers={"Authorization": f"Bearer {token}"},
                  timeout=30)
    assert r.status_code in (401, 404), r.text
    return r.status_code


def _statuses(server: Server, forged: dict[str, str]) -> dict[str, int]:
    return {name: _status(server, token) for name, token in forged.items()}


def _token(server: Server, creds: dict[str, str]) -> str:
    r = httpx.post(server.base + "/oauth/token", data={"grant_type": "client_credentials", **creds}, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _restart(server: Server) -> None:
    server.stop()
    server.start()


def _key(keys: Path) -> TokenSigningKey:
    """A copy of the current access key, as it leaks."""
    return TokenSigningKey.from_pem((keys / "access.key").read_text())


@pytest.mark.e2e
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_leaked_access_keys_and_cut_off_clients(database: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    ensure_dev_keys(keys, at=datetime.now(UTC) - timedelta(days=30))
    env = {"ELICENSE_CLIENT_STATUS_MAX_AGE_SECONDS": "1"}
    with contextlib.ExitStack() as stack:
        if database == "postgresql":
            env["ELICENSE_DATABASE_URL"] = stack.enter_context(pg_database("elicense_e2e_"))
        server = Server(tmp_path, env=env)
        server.start()
        stack.callback(server.stop)
        creds = json.loads(server.cli("clients", "create", "--name", "registration-system", "--scopes",
                                      "registrations:write licenses:read", "--json"))
        cid, issuer = creds["client_id"], server.base
        creds = {"client_id": cid, "client_secret": creds["client_secret"]}

        # a leaked current key: the attack as found, and every other forgery, refused
        leaked = _key(keys)
        now = datetime.now(UTC)
        forged = with_the_current_key(leaked, issuer=issuer, client_id=cid, ttl=TTL, at=now)
        r = httpx.post(server.base + "/api/v1/registrations", json=event("establishment", entity()), timeout=60,
                       headers={"Authorization": f"Bearer {forged['backdated_iat_far_exp_any_scope_unknown_sub']}"})
        assert r.status_code == 401, r.text
        assert _statuses(server, forged) == dict.fromkeys(forged, 401)
        assert _status(server, genuine_shape(leaked, issuer=issuer, client_id=cid, ttl=TTL, at=now)) == 404  # control

        # a disabled client's live token stops working within seconds; enabled, it works again
        token = _token(server, creds)
        assert _status(server, token) == 404
        server.cli("clients", "disable", cid)
        time.sleep(1.5)
        assert _status(server, token) == 401
        server.cli("clients", "enable", cid)
        time.sleep(1.5)
        assert _status(server, token) == 404

        # the leaked key retired longer ago than the TTL: nothing it signs passes
        retired_at = datetime.now(UTC) - timedelta(seconds=TTL + 60)
        rotate_token_key(keys, "access", at=retired_at)
        _restart(server)
        now = datetime.now(UTC)
        forged = with_a_retired_key(leaked, issuer=issuer, client_id=cid, ttl=TTL, retired_at=retired_at, at=now)
        assert _statuses(server, forged) == dict.fromkeys(forged, 401)
        assert _status(server, _token(server, creds)) == 404  # the new key serves

        # the next key leaks, is retired a minute ago, then held compromised: nothing it signs passes,
        # even what is dated before the time it is held compromised from
        second = _key(keys)
        retired_at = datetime.now(UTC) - timedelta(seconds=60)
        rotate_token_key(keys, "access", at=retired_at)
        _restart(server)
        now = datetime.now(UTC)
        forged = with_a_compromised_key(second, issuer=issuer, client_id=cid, ttl=TTL, retired_at=retired_at,
                                        since=now, at=now)
        assert _statuses(server, forged) == dict.fromkeys(forged, 404)  # within its grace: passes, until...
        mark_compromised(keys, second.kid, now, "access")
        _restart(server)
        assert _statuses(server, forged) == dict.fromkeys(forged, 401)
        assert _status(server, _token(server, creds)) == 404
