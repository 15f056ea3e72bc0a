"""PDF verification's issued-copy path (issue 18): a file byte for byte the PDF the registry recorded
as issued skips pyHanko's analysis of the bytes; the registry, the log, the token and what can change
since issuance (trust, timestamp, signer revocation) still decide. The report names the path taken.

Over HTTP through the real app (SQLite and PostgreSQL): a copy takes the fast path, a one-byte change
the full one and fails as before; superseded and revoked licenses' issued files are not_in_force on
the fast path. On a verification service of its own (SQLite, its own keys): both paths give the same
verdict and checks, for each status; a registry whose digest no longer matches and a chain past its
validity send the file to the full path."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader

from license_service.api.schemas import RegistrationIn
from license_service.config import Settings
from license_service.db.models import LicenseDocument
from license_service.intake import parse_registration
from license_service.runtime.issuing import IssuingRuntime
from license_service.runtime.read import ReadRuntime
from signing.keys.files import ensure_dev_keys
from tests.adversarial.attacks import byte_flip
from tests.conftest import entity, event
from verify_app.recorder import VerificationRecorder
from verify_app.report import VerificationReport
from verify_app.service import VerificationService

Client = Callable[[str], TestClient]


def _post(registrar: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = registrar.post("/api/v1/registrations", json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _verify(verifier: TestClient, pdf: bytes) -> dict[str, Any]:
    r = verifier.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _reasons(rep: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["reason"] for c in rep["checks"]}


def test_a_copy_takes_the_fast_path_and_a_one_byte_change_the_full_one(client_for: Client) -> None:
    registrar, verifier = client_for("registrations:write licenses:read"), client_for("verify")
    lic = _post(registrar, event("establishment", entity()))["license"]
    issued = registrar.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content
    copy = bytes(bytearray(issued))  # another object, the same bytes
    rep = _verify(verifier, copy)
    assert (rep["verdict"], rep["status"], rep["pdf_validation"]) == ("valid", "current", "issued_copy"), rep
    assert all(c["ok"] for c in rep["checks"])
    assert _reasons(rep)["agreement"] == "pdf.matches_registry"
    assert _reasons(rep)["log_inclusion"] == "log.included"
    assert "byte for byte the document issued" in rep["checks"][0]["detail"]
    assert rep["license"]["license_id"] == lic["license_id"]

    tampered = byte_flip(issued, b"", b"")
    assert len(tampered) == len(issued) and sum(a != b for a, b in zip(tampered, issued, strict=True)) == 1
    rep = _verify(verifier, tampered)
    assert (rep["verdict"], rep["pdf_validation"]) == ("invalid", "full"), rep
    assert _reasons(rep)["pdf_integrity"] == "pdf.not_intact"  # as the adversarial corpus has it
    assert rep["license"] is None and rep["status"] is None


def test_issued_files_of_licenses_no_longer_in_force_are_not_in_force_on_the_fast_path(client_for: Client) -> None:
    registrar, verifier = client_for("registrations:write licenses:read"), client_for("verify")
    ent = entity()
    v1 = _post(registrar, event("establishment", ent))["license"]
    pdf1 = registrar.get(f"/api/v1/licenses/{v1['license_id']}/pdf").content
    v2 = _post(registrar, event("change", {**ent, "address": "吉首市人民路2号"},
                                decided_at="2019-03-01T10:00:00+08:00", reason="变更住所"))["license"]
    pdf2 = registrar.get(f"/api/v1/licenses/{v2['license_id']}/pdf").content
    rep = _verify(verifier, pdf1)
    assert (rep["verdict"], rep["status"], rep["pdf_validation"]) == ("not_in_force", "superseded", "issued_copy")
    assert _reasons(rep)["registry_status"] == "registry.superseded"
    assert rep["license"]["superseded_by"] == v2["license_id"]
    assert _verify(verifier, pdf2)["verdict"] == "valid"

    _post(registrar, event("revocation", {"uscc": ent["uscc"]}, decided_at="2020-01-02T10:00:00+08:00",
                           reason="未按规定公示年度报告"))
    for pdf, status in ((pdf2, "revoked"), (pdf1, "superseded")):
        rep = _verify(verifier, pdf)
        assert (rep["verdict"], rep["status"], rep["pdf_validation"]) == ("not_in_force", status, "issued_copy"), rep
        assert all(c["ok"] for c in rep["checks"] if c["name"] != "registry_status"), rep


# -- one verification service, the two paths side by side ---------------------------------------------

class _Registry:
    def __init__(self, home: Path) -> None:
        self.db = home / "db.sqlite"
        ensure_dev_keys(home / "keys", at=datetime.now(UTC))
        self.settings = Settings(database_url=f"sqlite:///{self.db}", keys_dir=home / "keys",
                                 public_base_url="http://testserver")
        self.issuing = IssuingRuntime.build(self.settings)

    def apply(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        at = datetime.now(UTC)
        ev = parse_registration(RegistrationIn.model_validate(body), frozenset(), at=at)
        lic: dict[str, Any] = self.issuing.issuance.apply(ev, at=at).body["license"]
        with self.issuing.sessions() as s:
            doc = s.get(LicenseDocument, lic["license_id"])
            return lic, doc.pdf if doc is not None else b""

    def verifier(self, *, lookup: bool) -> VerificationService:
        read = ReadRuntime.build(self.settings)
        return VerificationService(read.engine, read.sessions, read.keys, "http://testserver",
                                   VerificationRecorder(read.write_sessions, 0), read.log, pdf_digest_lookup=lookup)


@pytest.fixture
def registry(tmp_path: Path) -> _Registry:
    return _Registry(tmp_path)


def _same_but_the_path(fast: VerificationReport, full: VerificationReport) -> None:
    """The two reports agree on everything but the path and the integrity check's wording."""
    assert (fast.pdf_validation, full.pdf_validation) == ("issued_copy", "full")
    assert fast.verdict == full.verdict and fast.status == full.status
    assert [(c.name, c.reason) for c in fast.checks] == [(c.name, c.reason) for c in full.checks]
    assert [c.detail for c in fast.checks][1:] == [c.detail for c in full.checks][1:]
    assert fast.license == full.license


def test_both_paths_reach_the_same_report_for_each_status(registry: _Registry) -> None:
    fast, full = registry.verifier(lookup=True), registry.verifier(lookup=False)
    ent = entity()
    _, pdf1 = registry.apply(event("establishment", ent))
    _same_but_the_path(fast.verify_pdf(pdf1, at=(now := datetime.now(UTC))), full.verify_pdf(pdf1, at=now))
    _, pdf2 = registry.apply(event("change", {**ent, "representative": "彭某"}, decided_at="2019-03-01T10:00:00+08:00"))
    registry.apply(event("cancellation", {"uscc": ent["uscc"]}, decided_at="2020-03-01T10:00:00+08:00", reason="注销"))
    now = datetime.now(UTC)
    for pdf, verdict in ((pdf1, "not_in_force"), (pdf2, "not_in_force")):
        a, b = fast.verify_pdf(pdf, at=now), full.verify_pdf(pdf, at=now)
        assert a.verdict.value == verdict
        _same_but_the_path(a, b)


def test_a_file_the_registry_no_longer_names_takes_the_full_path(registry: _Registry) -> None:
    """The registry's digest changed (as a tampered registry would): the file is no longer the one it
    records, so nothing is skipped, and the disagreement is reported as before."""
    lic, pdf = registry.apply(event("establishment", entity()))
    with sqlite3.connect(registry.db) as db:
        db.execute("UPDATE license_versions SET pdf_sha256 = ? WHERE license_id = ?", ("ab" * 32, lic["license_id"]))
    db.close()
    rep = registry.verifier(lookup=True).verify_pdf(pdf, at=datetime.now(UTC))
    assert rep.pdf_validation == "full"
    assert rep.verdict.value == "invalid"
    assert {c.name: c.reason.value for c in rep.checks}["agreement"] == "pdf.registry_mismatch"


def test_past_the_signer_s_validity_an_issued_file_gets_the_full_path_s_report(registry: _Registry) -> None:
    _, pdf = registry.apply(event("establishment", entity()))
    expires = PdfFileReader(BytesIO(pdf)).embedded_signatures[0].signer_cert.not_valid_after
    fast, full = registry.verifier(lookup=True), registry.verifier(lookup=False)
    at = expires + timedelta(days=1)
    a, b = fast.verify_pdf(pdf, at=at), full.verify_pdf(pdf, at=at)
    assert a.pdf_validation == b.pdf_validation == "full"
    assert a.verdict == b.verdict and a.verdict.value != "valid"
    assert [(c.name, c.reason, c.detail) for c in a.checks] == [(c.name, c.reason, c.detail) for c in b.checks]
