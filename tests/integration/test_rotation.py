"""Key rotation and compromise against a real registry (SQLite) and its own keys folder: licenses
issued before and after a rotation of the token key and of the PDF signer all verify (the services
restarted in between, as the README says); the JWKS lists both token keys with their windows; a
retired or compromised key cannot make a token that passes as issued after that time, while what
it signed before still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from license_service.api.schemas import RegistrationIn
from license_service.config import Settings
from license_service.db.models import LicenseDocument
from license_service.intake import parse_registration
from license_service.runtime.issuing import IssuingRuntime
from license_service.runtime.read import ReadRuntime
from signing.errors import KeyMaterialError
from signing.keys.devpki import OcspResponder
from signing.keys.files import TokenSigningKey, ensure_dev_keys
from signing.keys.rotation import mark_compromised, revoke_certificate, rotate_pdf_signer, rotate_token_key
from signing.tokens import sign_claims, verify_claims
from tests.conftest import entity, event
from verify_app.recorder import VerificationRecorder
from verify_app.service import VerificationService


def _start(home: Path) -> tuple[IssuingRuntime, VerificationService]:
    """The two services as (re)started processes build them: the verifier from public keys only."""
    settings = Settings(database_url=f"sqlite:///{home}/db.sqlite", keys_dir=home / "keys",
                        public_base_url="http://testserver")
    issuing = IssuingRuntime.build(settings)
    read = ReadRuntime.build(settings)
    verifier = VerificationService(read.engine, read.sessions, read.keys, "http://testserver",
                                   VerificationRecorder(read.write_sessions, 0), read.log)
    return issuing, verifier


def _issue(services: IssuingRuntime) -> tuple[dict[str, Any], bytes]:
    at = datetime.now(UTC)
    ev = parse_registration(RegistrationIn.model_validate(event("establishment", entity())), frozenset(), at=at)
    lic: dict[str, Any] = services.issuance.apply(ev, at=at).body["license"]
    with services.sessions() as s:
        doc = s.get(LicenseDocument, lic["license_id"])
        assert doc is not None
        return lic, doc.pdf


def _reason(report: Any, name: str) -> str:
    return next(c.reason for c in report.checks if c.name == name)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    ensure_dev_keys(tmp_path / "keys", at=datetime.now(UTC))
    return tmp_path


def test_token_rotation_and_compromise(home: Path) -> None:
    services, _ = _start(home)
    before, _ = _issue(services)
    old_key = TokenSigningKey.from_pem((home / "keys" / "token.key").read_text())  # a copy that leaks later
    old_kid, new_kid = rotate_token_key(home / "keys", at=datetime.now(UTC))
    assert old_kid == old_key.kid != new_kid

    services, verifier = _start(home)  # restarted
    after, _ = _issue(services)
    now = datetime.now(UTC)
    assert verifier.verify_token(before["token"], at=now).verdict.value == "valid"
    assert verifier.verify_token(after["token"], at=now).verdict.value == "valid"
    jwks = {k["kid"]: k for k in services.keys.token_keyring().jwks()["keys"]}
    assert set(jwks) == {old_kid, new_kid}
    assert jwks[old_kid]["retired_at"] <= jwks[new_kid]["valid_from"]
    assert "retired_at" not in jwks[new_kid]

    # whoever holds the old key cannot date a token after its retirement
    claims = verify_claims(before["token"], services.keys.token_keyring(), at=now)
    late = sign_claims({**claims, "iat": jwks[old_kid]["retired_at"] + 60}, old_key)
    assert _reason(verifier.verify_token(late, at=now), "token_signature") == "token.key_retired"

    # compromise from a time after the first license: what it signed before still verifies
    with pytest.raises(KeyMaterialError):
        mark_compromised(home / "keys", new_kid, now)  # the current key: rotate it first
    mark_compromised(home / "keys", old_kid, datetime.fromtimestamp(claims["iat"] + 1, UTC))
    _, verifier = _start(home)
    assert verifier.verify_token(before["token"], at=now).verdict.value == "valid"
    forged = sign_claims({**claims, "iat": claims["iat"] + 1}, old_key)
    report = verifier.verify_token(forged, at=now)
    assert report.verdict.value == "invalid"
    assert _reason(report, "token_signature") == "token.key_compromised"


def test_pdf_signer_rotation(home: Path) -> None:
    services, _ = _start(home)
    before_lic, before_pdf = _issue(services)
    old_serial, new_serial = rotate_pdf_signer(home / "keys", at=datetime.now(UTC) - timedelta(minutes=1))
    assert (home / "keys" / "retired" / f"document-signer-{old_serial:x}.pem").exists()

    services, verifier = _start(home)
    _, after_pdf = _issue(services)
    serials = [PdfFileReader(BytesIO(p)).embedded_signatures[0].signer_cert.serial_number
               for p in (before_pdf, after_pdf)]
    assert serials == [old_serial, new_serial]
    now = datetime.now(UTC)
    for pdf in (before_pdf, after_pdf):
        report = verifier.verify_pdf(pdf, at=now)
        assert report.verdict.value == "valid", [c for c in report.checks if not c.ok]
        assert report.pdf_validation == "issued_copy"  # the retired signer's chain is still trusted
    assert before_lic["version"] == 1


def test_a_pdf_signer_revoked_for_compromise_fails_what_it_sealed_afterwards(home: Path) -> None:
    """The signer's certificate revoked from T (the CA's CRL lists it): a PDF sealed before T (its
    trusted timestamp says so) still verifies, one sealed after fails with pdf.signer_compromised."""
    services, _ = _start(home)
    _, before = _issue(services)
    serial = PdfFileReader(BytesIO(before)).embedded_signatures[0].signer_cert.serial_number
    compromised_from = datetime.now(UTC) + timedelta(seconds=1)
    import time

    time.sleep(1.5)
    _, after = _issue(services)  # an attacker with the stolen key would seal like this
    revoke_certificate(home / "keys", serial, compromised_from, at=datetime.now(UTC))
    _, verifier = _start(home)
    now = datetime.now(UTC)
    assert verifier.verify_pdf(before, at=now).verdict.value == "valid"
    assert verifier.verify_pdf(before, at=now).pdf_validation == "issued_copy"
    report = verifier.verify_pdf(after, at=now)  # issued and recorded, yet sealed after the compromise
    assert report.verdict.value == "invalid"
    assert _reason(report, "signer_status") == "pdf.signer_compromised"
    assert report.pdf_validation == "full"  # the issued-copy path leaves a revoked signer to pyHanko
    # the dev PKI's OCSP responder says the same
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    cert = x509.load_pem_x509_certificate((home / "keys" / "document-signer.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((home / "keys" / "issuing-ca.pem").read_bytes())
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, ca, hashes.SHA1()).build()
    der = OcspResponder(home / "keys").answer(req.public_bytes(serialization.Encoding.DER), at=now)
    assert der is not None
    answer = ocsp.load_der_ocsp_response(der)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
