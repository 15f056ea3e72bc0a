"""The QR code carries the compact token (form 2, issue 13): a QR code of version 12 at most at level
M for the longest names the intake accepts, for every entity kind; it verifies through every token
channel, and so does the full token (form 1) the API gives, including that of a version issued before
form 2 existed. Forms of attack on form 2 are refused with form 1's reason codes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from license_service.db.models import LicenseVersion
from license_service.domain.entity import EntityKind
from license_service.intake import EntityIn
from license_service.rendering.qr import qr_matrix
from license_service.runtime.issuing import IssuingRuntime
from signing.compact_tokens import CompactClaims, sign_compact
from signing.keys.files import TokenSigningKey
from tests.adversarial.token_malleability import spellings
from tests.conftest import entity, event

Client = Callable[[str], TestClient]


def _limit(field: str) -> int:
    prop = EntityIn.model_json_schema()["properties"][field]
    return int(next(s["maxLength"] for s in prop.get("anyOf", [prop]) if "maxLength" in s))


def _longest(pattern: str, field: str) -> str:
    n = _limit(field)
    return (pattern * (n // len(pattern) + 1))[:n]


def _version(url: str) -> int:
    """The QR version the license's QR code has for ``url`` (ISO/IEC 18004: 17 + 4 v modules a side)."""
    return (len(qr_matrix(url)) - 17) // 4


def _verdicts(verifier: TestClient, anon: TestClient, token_or_url: str) -> list[str]:
    token = token_or_url.rsplit("/v/", 1)[-1]
    return [verifier.post("/api/v1/verify/token", json={"token": token_or_url}).json()["verdict"],
            anon.get(f"/v/{token}", headers={"Accept": "application/json"}).json()["verdict"]]


def _compact(token: str) -> list[Any]:
    return list(json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")))


@pytest.mark.parametrize("kind", [k.value for k in EntityKind])
def test_the_longest_names_give_a_qr_code_of_version_12_at_most(kind: str, registrar: TestClient,
                                                                client_for: Client, anon: TestClient) -> None:
    # every byte counts: a plane-2 character (𠮷) is 4 bytes of UTF-8, the most any character takes
    ent = entity(kind, name=_longest("湘西𠮷祥峒河生态农业科技发展（集团）有限公司", "name"),
                 representative=_longest("欧阳·买买提艾力𠮷", "representative"))
    assert len(ent["name"]) == len(ent["representative"]) == 100
    lic = registrar.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    assert _version(lic["verify_url"]) <= 12, len(lic["verify_url"])
    assert _version(f"http://testserver/v/{lic['token']}") > 25  # what form 1 would have made of it
    qr_token = lic["verify_url"].rsplit("/v/", 1)[1]
    assert qr_token != lic["token"]
    assert _compact(qr_token)[:2] == [lic["uscc"], 1]
    verifier = client_for("verify")
    assert _verdicts(verifier, anon, lic["verify_url"]) == ["valid", "valid"]
    assert _verdicts(verifier, anon, lic["token"]) == ["valid", "valid"]  # form 1 as the API gives it


def test_a_superseded_versions_qr_code_says_so(registrar: TestClient, client_for: Client, anon: TestClient) -> None:
    ent = entity()
    first = registrar.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    second = registrar.post("/api/v1/registrations", json=event("change", {**ent, "name": "湘西新名科技有限公司"},
                                                                decided_at="2019-01-02T10:00:00+08:00")).json()["license"]
    verifier = client_for("verify")
    assert _verdicts(verifier, anon, first["verify_url"]) == ["not_in_force", "not_in_force"]
    assert _verdicts(verifier, anon, second["verify_url"]) == ["valid", "valid"]
    report = anon.get(first["verify_url"].replace("http://testserver", ""), headers={"Accept": "application/json"})
    assert report.json()["license"]["license_id"] == first["license_id"]
    # the page links the current version by its own QR code's URL
    assert second["verify_url"] in anon.get(first["verify_url"].replace("http://testserver", "")).text


def test_a_version_issued_before_form_2_keeps_verifying_by_its_full_token(
        runtime: IssuingRuntime, registrar: TestClient, client_for: Client, anon: TestClient) -> None:
    """Versions issued before migration 0005 have no ``qr_token``: their QR codes carry form 1, and the
    API's ``verify_url`` still points there."""
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    with runtime.write_sessions.begin() as s:
        s.execute(update(LicenseVersion).where(LicenseVersion.license_id == lic["license_id"]).values(qr_token=None))
    again = registrar.get(f"/api/v1/licenses/{lic['license_id']}").json()
    assert again["verify_url"] == f"http://testserver/v/{lic['token']}"
    assert _verdicts(client_for("verify"), anon, again["verify_url"]) == ["valid", "valid"]


@pytest.fixture(scope="module")
def compact_corpus(client_for: Client, keys_dir: Path) -> dict[str, tuple[str, str]]:
    """name -> (a form-2 token, the reason code the verifier must give)."""
    registrar = client_for("registrations:write licenses:read")
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    genuine = lic["verify_url"].rsplit("/v/", 1)[1]
    h, p, s = genuine.split(".")
    uscc, ver, iat, sidx = _compact(genuine)
    key = TokenSigningKey.from_pem((keys_dir / "token.key").read_text())
    header = json.loads(base64.urlsafe_b64decode(h + "=="))
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731 (a one-line helper)
    out = {
        "alg_none": (f"{b64(json.dumps({**header, 'alg': 'none'}).encode())}.{p}.", "token.alg"),
        "unknown_kid": (f"{b64(json.dumps({**header, 'kid': 'x' * 43}).encode())}.{p}.{s}", "token.unknown_kid"),
        "version_changed": (f"{h}.{b64(json.dumps([uscc, ver + 1, iat, sidx]).encode())}.{s}", "token.signature"),
        "oversized": (f"{h}.{p + 'A' * 2048}.{s}", "token.oversized"),
        "our_key_but_another_time": (sign_compact(CompactClaims(uscc, ver, iat + 1, sidx), key),
                                     "claims.registry_mismatch"),
        "our_key_but_another_status_index": (sign_compact(CompactClaims(uscc, ver, iat, sidx + 1), key),
                                             "claims.registry_mismatch"),
        **{name: (other, "token.malformed") for name, other in spellings(genuine).items()},
    }
    return out


def test_compact_token_corpus(compact_corpus: dict[str, tuple[str, str]], client_for: Client,
                              anon: TestClient) -> None:
    verifier = client_for("verify")
    for name, (token, reason) in compact_corpus.items():
        for r in (verifier.post("/api/v1/verify/token", json={"token": token}),
                  anon.get(f"/v/{token}", headers={"Accept": "application/json"})):
            assert r.status_code == 200, (name, r.status_code, r.text)
            body = r.json()
            assert body["verdict"] == "invalid", (name, body)
            assert reason in {c["reason"] for c in body["checks"] if not c["ok"]}, (name, body)


def test_a_compact_token_for_a_version_never_issued_is_indeterminate(client_for: Client, keys_dir: Path) -> None:
    """Signed with our key yet unknown to the registry: the same answer as form 1 gives."""
    key = TokenSigningKey.from_pem((keys_dir / "token.key").read_text())
    token = sign_compact(CompactClaims("91433101MA4L1A2B9M", 999, int(datetime.now(UTC).timestamp()), 1), key)
    body = client_for("verify").post("/api/v1/verify/token", json={"token": token}).json()
    assert body["verdict"] == "indeterminate"
    assert "registry.unknown_license" in {c["reason"] for c in body["checks"]}
