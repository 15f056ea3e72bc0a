"""Status lists through the real app, on both databases: every new version gets a random index,
carried in its token; the revocation list's bit is set in the same transaction as the change that
ends the version's force; the published list verifies with the JWKS and is within its validity
period; `republish` renews it; the REPORT says how fresh its status is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from license_service.runtime.issuing import IssuingRuntime
from signing.errors import SigningPackageError
from signing.status_list import LIST_BITS, VALIDITY, verify_status_list
from signing.tokens import InvalidToken, Keyring, verify_claims
from tests.conftest import entity, event


def _status(runtime: IssuingRuntime, token: str) -> dict[str, Any]:
    claims = verify_claims(token, runtime.keys.token_keyring(), at=datetime.now(UTC))
    status: dict[str, Any] = claims["status"]
    return status


def _list(anon: TestClient, runtime: IssuingRuntime, uri: str, at: datetime | None = None) -> Any:
    r = anon.get(uri.removeprefix("http://testserver"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/vc+jwt", r.text
    return verify_status_list(r.text, Keyring.from_jwks(anon.get("/status/jwks.json").json()),
                              at=at or datetime.now(UTC))


def test_bits_follow_the_lifecycle(anon: TestClient, registrar: TestClient, runtime: IssuingRuntime) -> None:
    ent = entity()
    v1 = registrar.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    st1 = _status(runtime, v1["token"])
    assert 0 <= st1["idx"] < LIST_BITS and st1["uri"].endswith("/status/revocation/0")
    assert not _list(anon, runtime, st1["uri"]).is_set(st1["idx"])

    v2 = registrar.post("/api/v1/registrations", json=event(
        "change", {**ent, "address": "吉首市人民路3号"}, decided_at="2019-01-02T10:00:00+08:00")).json()["license"]
    st2 = _status(runtime, v2["token"])
    assert st2["idx"] != st1["idx"]
    published = _list(anon, runtime, st1["uri"])
    assert published.is_set(st1["idx"]) and not published.is_set(st2["idx"])

    registrar.post("/api/v1/registrations", json=event("revocation", {"uscc": ent["uscc"]}, reason="吊销",
                                                       decided_at="2019-03-01T10:00:00+08:00"))
    assert _list(anon, runtime, st2["uri"]).is_set(st2["idx"])
    suspension = _list(anon, runtime, st2["uri"].replace("/revocation/", "/suspension/"))
    assert suspension.purpose == "suspension" and not any(suspension.bits)


def test_validity_period_and_republish(anon: TestClient, registrar: TestClient, runtime: IssuingRuntime) -> None:
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    uri = _status(runtime, lic["token"])["uri"]
    published = _list(anon, runtime, uri)
    with pytest.raises(SigningPackageError) as e:
        _list(anon, runtime, uri, at=published.valid_until + timedelta(seconds=1))
    assert e.value.code == "status.stale"
    later = datetime.now(UTC) + VALIDITY - timedelta(hours=1)
    try:
        with runtime.write_sessions.begin() as s:
            assert runtime.status_lists.republish(s, later) >= 2
        renewed = _list(anon, runtime, uri, at=later + timedelta(days=1))  # stale without the renewal
        assert renewed.valid_from > published.valid_from
    finally:  # the registry is shared with later tests: publish as of now again
        with runtime.write_sessions.begin() as s:
            runtime.status_lists.republish(s, datetime.now(UTC))


def test_report_says_how_fresh_its_status_is(registrar: TestClient, client_for: Any) -> None:
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    rep = client_for("verify").post("/api/v1/verify/token", json={"token": lic["token"]}).json()
    assert rep["verdict"] == "valid" and rep["status_as_of"] == rep["checked_at"]
    assert json.dumps(rep)  # plain JSON



def test_a_status_list_has_a_key_and_a_typ_of_its_own(anon: TestClient, registrar: TestClient,
                                                      runtime: IssuingRuntime, client_for: Any) -> None:
    """No key signs two kinds of object, and each kind has its own typ: a status list does not verify
    with the license-token keys, nor as a license token; a license token does not pass for a list."""
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    listed = anon.get(_status(runtime, lic["token"])["uri"].removeprefix("http://testserver")).text
    token_keys = Keyring.from_jwks(anon.get("/.well-known/jwks.json").json())
    status_keys = Keyring.from_jwks(anon.get("/status/jwks.json").json())
    assert not set(token_keys.keys) & set(status_keys.keys)
    with pytest.raises(SigningPackageError):  # the token keys do not know the list's key
        verify_status_list(listed, token_keys, at=datetime.now(UTC))
    with pytest.raises(InvalidToken) as typ:  # the list's own key, but a license token is no list
        verify_status_list(lic["token"], Keyring.from_jwks({"keys": [*token_keys.jwks()["keys"],
                                                                     *status_keys.jwks()["keys"]]}),
                           at=datetime.now(UTC))
    assert typ.value.reason == "token.typ"
    report = client_for("verify").post("/api/v1/verify/token", json={"token": listed}).json()
    assert report["verdict"] == "invalid"
