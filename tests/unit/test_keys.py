"""Key providers (``signing/keys``): the file signers hand out ECDSA P-256 signers (never keys) whose
signatures verify under their certificates; PDF signing runs through whatever ``EcSigner`` the
material holds; ``FilePublicKeys`` serves a verifier from a folder holding only the public files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from reportlab.pdfgen.canvas import Canvas

from signing.errors import KeyMaterialError
from signing.keys.api import EcSigner, Signers
from signing.keys.devpki import OcspResponder
from signing.keys.files import EcKeySigner, FileSigners
from signing.keys.public import FilePublicKeys
from signing.note import NoteVerifier
from signing.pdf import PdfSealer
from signing.pdf_validation import load_roots, validate_license_pdf
from signing.tokens import sign_claims, verify_claims

#: what a verifier's folder holds: no ``*.key``, no ``log.skey``
PUBLIC_FILES = ("*.pem", "*.crl", "jwks.json", "access-jwks.json", "log.vkey")


def _cert_key(keys_dir: Path, name: str) -> ec.EllipticCurvePublicKey:
    key = x509.load_pem_x509_certificate((keys_dir / f"{name}.pem").read_bytes()).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(("name", "which"), [("document-signer", "signer"), ("tsa", "tsa")])
@pytest.mark.parametrize(("algorithm", "hash_class"), [("sha256", hashes.SHA256), ("sha384", hashes.SHA384)])
def test_the_file_signers_sign_under_their_certificates(keys_dir: Path, name: str, which: str, algorithm: str,
                                                        hash_class: type[hashes.HashAlgorithm]) -> None:
    signer: EcSigner = getattr(FileSigners(keys_dir).pdf_signing(), which)
    cert_key = _cert_key(keys_dir, name)
    assert _pem(signer.public_key()) == _pem(cert_key)
    signature = signer.sign(b"data", algorithm)  # DER ECDSA-Sig-Value over the data hashed so
    cert_key.verify(signature, b"data", ec.ECDSA(hash_class()))


def test_the_file_signers_satisfy_the_interface(keys_dir: Path) -> None:
    signers: Signers = FileSigners(keys_dir)
    public = FilePublicKeys(keys_dir)
    assert signers.token_signer().kid in public.token_keyring().keys
    assert signers.access_signer().kid in public.access_keyring().keys
    assert signers.token_signer().kid != signers.access_signer().kid  # one key per purpose
    assert NoteVerifier.from_vkey(public.log_vkey()).name == signers.log_signer().name
    assert signers.pdf_signing().signer_cert.subject.native["common_name"] == "elicense Dev Document Signer"
    data = signers.revocation_data(datetime.now(UTC))
    crls = [d for d in data if _is_crl(d)]
    assert len(crls) == 2  # the root's and the issuing CA's CRLs, then OCSP answers for the end entities
    assert len(data) > len(crls)


def _is_crl(der: bytes) -> bool:
    try:
        x509.load_der_x509_crl(der)
    except ValueError:
        return False
    return True


def test_only_p256_keys_sign(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError) as e:
        EcKeySigner(ec.generate_private_key(ec.SECP384R1()))
    assert e.value.code == "keys.wrong_type"
    with pytest.raises(KeyMaterialError):  # nothing there: a clear error, not an OSError
        FileSigners(tmp_path).pdf_signing()


@dataclass
class _CountingSigner:
    """An ``EcSigner`` held elsewhere (as an HSM's is): the sealer must sign through it."""

    inner: EcSigner
    calls: list[str] = field(default_factory=list)

    def sign(self, data: bytes, hash_algorithm: str) -> bytes:
        self.calls.append(hash_algorithm)
        return self.inner.sign(data, hash_algorithm)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.inner.public_key()


def _pdf(size: tuple[float, float] = (595, 842)) -> bytes:
    buf = BytesIO()
    c = Canvas(buf, pagesize=size)
    c.drawString(10, 10, "license")
    c.showPage()
    c.save()
    return buf.getvalue()


def test_the_sealer_signs_through_the_materials_signer(keys_dir: Path) -> None:
    files = FileSigners(keys_dir)
    counting = _CountingSigner(files.pdf_signing().signer)
    material = files.pdf_signing_with(counting)
    assert material.tsa is files.pdf_signing().tsa and material.signer is counting
    at = datetime.now(UTC)
    out = PdfSealer(material, seal_appearance=lambda _: _pdf((100, 100))).seal(
        _pdf(), box=(10, 10, 110, 110), authority="a", reason="r", location="l", at=at)
    assert counting.calls and set(counting.calls) == {"sha256"}
    findings = validate_license_pdf(out, load_roots(FilePublicKeys(keys_dir).roots_pem()), at=at)
    assert findings.intact and findings.valid and findings.trusted and findings.timestamp_trusted


@pytest.fixture
def public_only(keys_dir: Path, tmp_path: Path) -> Path:
    """The public files of a generated dev keys folder, copied alone: a verifier's folder."""
    for pattern in PUBLIC_FILES:
        for p in keys_dir.glob(pattern):
            shutil.copy(p, tmp_path / p.name)
    assert not [*tmp_path.glob("*.key"), *tmp_path.glob("*.skey")]
    return tmp_path


def test_public_keys_from_a_folder_without_private_keys(keys_dir: Path, public_only: Path) -> None:
    public = FilePublicKeys(public_only)
    at = datetime.now(UTC)
    token = sign_claims({"ver": 1}, FileSigners(keys_dir).token_signer())  # signed on the issuing side
    assert verify_claims(token, public.token_keyring(), at=at) == {"ver": 1}
    access = sign_claims({"sub": "c"}, FileSigners(keys_dir).access_signer())
    assert verify_claims(access, public.access_keyring(), at=at) == {"sub": "c"}
    assert public.roots_pem() == (keys_dir / "root-ca.pem").read_bytes()
    assert load_roots(public.roots_pem())[0].subject.native["common_name"] == "elicense Dev Root CA"
    assert public.log_vkey() == (keys_dir / "log.vkey").read_text().strip()
    assert public.log_handovers() == []
    crl = public.crl("issuing-ca")
    assert crl is not None and x509.load_der_x509_crl(crl).issuer == _cert_issuer(keys_dir)
    assert public.crl("tsa") is None
    assert public.is_dev()


def _cert_issuer(keys_dir: Path) -> x509.Name:
    return x509.load_pem_x509_certificate((keys_dir / "document-signer.pem").read_bytes()).issuer


def test_a_missing_public_file_is_a_key_material_error(public_only: Path) -> None:
    (public_only / "jwks.json").unlink()
    with pytest.raises(KeyMaterialError):
        FilePublicKeys(public_only).token_keyring()


def test_the_dev_ocsp_responder_answers_only_where_the_ca_key_is(keys_dir: Path, public_only: Path) -> None:
    signer = x509.load_pem_x509_certificate((keys_dir / "document-signer.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((keys_dir / "issuing-ca.pem").read_bytes())
    request = ocsp.OCSPRequestBuilder().add_certificate(signer, ca, hashes.SHA1()).build()
    der = request.public_bytes(serialization.Encoding.DER)
    at = datetime(2026, 6, 1, tzinfo=UTC)
    answer = OcspResponder(keys_dir).answer(der, at=at)
    assert answer is not None
    response = ocsp.load_der_ocsp_response(answer)
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.this_update_utc == at and response.next_update_utc == at + timedelta(days=1)  # not the clock
    assert OcspResponder(public_only).answer(der, at=at) is None  # production: the CA runs its own
