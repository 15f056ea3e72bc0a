"""A license's long-term form (PAdES B-LTA) through the real app, on both databases: the DSS carries
the chain's certificates, the CAs' CRLs and OCSP answers made with the form, a document timestamp
covers it; validated ten years later, with the signer's certificate long expired and nothing
fetched, it is still genuine (to our model and to pyHanko's AdES-LTA algorithm), while the form as
issued is not; the verification API accepts it and refuses it when altered, and refuses every
change after the seal but validation data and document timestamps (the long-term corpus)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from asn1crypto.crl import CertificateList
from asn1crypto.ocsp import OCSPResponse
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import DocumentSecurityStore

from license_service.runtime.issuing import IssuingRuntime
from signing.lta_validation import validate_lta
from signing.pdf_validation import load_roots, validate_license_pdf
from tests.adversarial.long_term_attacks import LONG_TERM_ATTACKS, build_long_term_corpus
from tests.conftest import entity, event
from tests.unit.test_sealer import ades_lta_ten_years_ahead

TEN_YEARS = timedelta(days=3653)


def _issue(registrar: TestClient) -> dict[str, Any]:
    r = registrar.post("/api/v1/registrations", json=event("establishment", entity()))
    assert r.status_code == 201, r.text
    lic: dict[str, Any] = r.json()["license"]
    return lic


def _pdf(registrar: TestClient, lic: dict[str, Any], form: str = "issued") -> bytes:
    r = registrar.get(f"/api/v1/licenses/{lic['license_id']}/pdf", params={"form": form})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    return r.content


def test_the_long_term_form_carries_its_validation_data_and_a_document_timestamp(
        registrar: TestClient, runtime: IssuingRuntime) -> None:
    lic = _issue(registrar)
    issued, lta = _pdf(registrar, lic), _pdf(registrar, lic, "long-term")
    assert lta.startswith(issued)  # incremental updates after the seal: the sealed bytes are untouched
    reader = PdfFileReader(BytesIO(lta))
    kinds = [s.sig_object_type for s in reader.embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp"]
    dss = DocumentSecurityStore.read_dss(reader)
    crl_issuers = {CertificateList.load(c.get_object().data).issuer.native["common_name"] for c in dss.crls}
    assert crl_issuers == {"elicense Dev Issuing CA", "elicense Dev Root CA"}
    certs = {c.subject.native["common_name"] for c in dss.load_certs()}
    assert {"elicense Dev Document Signer", "elicense Dev Time Stamping Authority", "elicense Dev Issuing CA"} <= certs
    answered = {OCSPResponse.load(o.get_object().data).basic_ocsp_response["tbs_response_data"]["responses"][0]
                ["cert_id"]["serial_number"].native for o in dss.ocsps}
    seal = reader.embedded_signatures[0]
    assert answered == {seal.signer_cert.serial_number, reader.embedded_signatures[1].signer_cert.serial_number}
    findings = validate_lta(lta, load_roots(runtime.keys.roots_pem()), at=datetime.now(UTC))
    assert findings.passed and findings.reason == "lta.ok" and findings.document_timestamps == 1


def test_ten_years_later_from_what_the_file_carries(registrar: TestClient, runtime: IssuingRuntime) -> None:
    lic = _issue(registrar)
    issued, lta = _pdf(registrar, lic), _pdf(registrar, lic, "long-term")
    roots = load_roots(runtime.keys.roots_pem())
    later = datetime.now(UTC) + TEN_YEARS
    signer = PdfFileReader(BytesIO(issued)).embedded_signatures[0].signer_cert
    assert signer.not_valid_after < later - timedelta(days=365 * 5)  # long expired by then

    findings = validate_lta(lta, roots, at=later)  # no fetching: ValidationContexts are offline
    assert findings.passed, findings
    assert findings.signature_time is not None and findings.signature_time < datetime.now(UTC)
    report = validate_license_pdf(lta, roots, at=later)
    assert report.long_term and report.valid and report.trusted and report.unmodified

    # the form as issued has no validation data and no document timestamp: by then it proves nothing
    assert validate_lta(issued, roots, at=later).reason == "lta.no_document_timestamp"
    plain = validate_license_pdf(issued, roots, at=later)
    assert plain.long_term is None and not (plain.valid and plain.trusted)


def test_the_verification_api_accepts_the_long_term_form_and_refuses_it_altered(
        registrar: TestClient, client_for: Any) -> None:
    verifier = client_for("verify")
    lic = _issue(registrar)
    lta = _pdf(registrar, lic, "long-term")
    rep = verifier.post("/api/v1/verify/pdf", files={"file": ("l.pdf", lta, "application/pdf")}).json()
    assert rep["verdict"] == "valid", rep
    assert {c["name"]: c["reason"] for c in rep["checks"]}["long_term"] == "pdf.long_term_ok"
    assert rep["pdf_validation"] == "full"  # its document timestamps and validation data prove it
    # the registry's digest is of the form as issued: the long-term form is recognised by its seal
    issued_length = len(_pdf(registrar, lic))
    flipped = bytearray(lta)  # a byte of the validation data the document timestamp covers
    flipped[issued_length + (len(lta) - issued_length) // 4] ^= 0x01
    for altered in (bytes(flipped), lta.replace(b"/DocTimeStamp", b"/DocTimeStanp", 1)):
        rep = verifier.post("/api/v1/verify/pdf", files={"file": ("l.pdf", altered, "application/pdf")}).json()
        assert rep["verdict"] == "invalid", rep


def test_the_cas_crls_are_published(anon: TestClient) -> None:
    for ca in ("root-ca", "issuing-ca"):
        r = anon.get(f"/trust/crl/{ca}.crl")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pkix-crl"
        crl = CertificateList.load(r.content)
        assert crl.issuer.native["common_name"] == f"elicense Dev {'Root' if ca == 'root-ca' else 'Issuing'} CA"
        assert crl["tbs_cert_list"]["next_update"].native > datetime.now(UTC)
    assert anon.get("/trust/crl/tsa.crl").status_code == 422


def test_the_dev_pki_ocsp_responder(anon: TestClient, runtime: IssuingRuntime) -> None:
    """RFC 6960 over HTTP POST: the document signer is good (signed by its CA), a serial the CA never
    issued is unknown, a request about a CA that is not ours is refused, garbage is malformed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import ocsp

    keys = runtime.settings.keys_dir
    signer = x509.load_pem_x509_certificate((keys / "document-signer.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((keys / "issuing-ca.pem").read_bytes())

    def ask(req: bytes) -> ocsp.OCSPResponse:
        r = anon.post("/trust/ocsp", content=req, headers={"Content-Type": "application/ocsp-request"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/ocsp-response"
        return ocsp.load_der_ocsp_response(r.content)

    der = serialization.Encoding.DER
    good = ask(ocsp.OCSPRequestBuilder().add_certificate(signer, ca, hashes.SHA1()).build().public_bytes(der))
    assert good.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert good.certificate_status == ocsp.OCSPCertStatus.GOOD and good.serial_number == signer.serial_number
    ca_key = ca.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    ca_key.verify(good.signature, good.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))  # raises unless the CA's
    unknown = ask(ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        good.issuer_name_hash, good.issuer_key_hash, 12345, hashes.SHA1()).build().public_bytes(der))
    assert unknown.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    foreign = ask(ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        b"\0" * 20, b"\0" * 20, 1, hashes.SHA1()).build().public_bytes(der))
    assert foreign.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert ask(b"not a request").response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_the_served_long_term_form_passes_pyhankos_ades_lta_ten_years_ahead(
        registrar: TestClient, runtime: IssuingRuntime) -> None:
    """Issue 12, item 7, through the route: pyHanko's AdES-LTA algorithm, simulated ten years after
    the form was made, with nothing fetched and revocation data required, passes it."""
    lic = _issue(registrar)
    lta = _pdf(registrar, lic, "long-term")
    stamp = PdfFileReader(BytesIO(lta)).embedded_timestamp_signatures[-1]
    made_at = stamp.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    result = ades_lta_ten_years_ahead(lta, load_roots(runtime.keys.roots_pem()), made_at=made_at)
    assert result.ades_subindic == AdESPassed.OK, (result.ades_subindic, result.failure_msg)


@pytest.fixture(scope="module")
def long_term_corpus(tmp_path_factory: pytest.TempPathFactory, client_for: Any) -> list[Any]:
    registrar = client_for("registrations:write licenses:read")
    lic = _issue(registrar)
    return build_long_term_corpus(tmp_path_factory.mktemp("long-term-corpus"), _pdf(registrar, lic),
                                  _pdf(registrar, lic, "long-term"))


def test_the_long_term_corpus(long_term_corpus: list[Any], client_for: Any) -> None:
    """Issue 12, item 6: after the seal only DSS updates and document timestamps; edits of /Info, XMP,
    /Extensions, /Version and bytes after %%EOF make a file invalid, each with its reason."""
    verifier = client_for("verify")
    seen = []
    for path, attack in long_term_corpus:
        r = verifier.post("/api/v1/verify/pdf", files={"file": (path.name, path.read_bytes(), "application/pdf")})
        assert r.status_code == 200, (path.name, r.text)
        body = r.json()
        failed = {c["reason"] for c in body["checks"] if not c["ok"]}
        assert body["verdict"] == attack.verdict, (path.name, failed)
        if attack.reasons:
            assert failed & attack.reasons, (path.name, failed)
            assert body["license"] is None and body["status"] is None
            details = " ".join(c["detail"] for c in body["checks"] if c["reason"] in attack.reasons)
            assert attack.detail in details, (path.name, details)
        else:
            assert not failed and body["license"]["status"] == "current", (path.name, failed)
        seen.append(path.name)
    assert len(seen) == len(LONG_TERM_ATTACKS)
