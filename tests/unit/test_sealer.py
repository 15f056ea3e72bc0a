"""The sealer reserves what the first signature needed plus a margin; many signatures in a row must
all fit (DER ECDSA signatures vary in length), and an outgrown reservation falls back to an estimate.
Time is the caller's: a seal, its timestamp and a long-term form's document timestamp carry the
``at`` passed, read back with pyHanko, with no clock involved (a PKI made and used in the past)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen.canvas import Canvas

from signing.keys.files import FileSigners, ensure_dev_keys
from signing.keys.public import FilePublicKeys
from signing.pdf import PdfSealer
from signing.pdf_validation import load_roots, validate_license_pdf

BOX = (10.0, 10.0, 110.0, 110.0)
T0 = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)  # when the PKI of ``past_keys`` was made


def _blank_pdf() -> bytes:
    buf = BytesIO()
    c = Canvas(buf)
    c.drawString(100, 700, "license")
    c.showPage()
    c.save()
    return buf.getvalue()


def _seal_pdf() -> bytes:
    buf = BytesIO()
    c = Canvas(buf, pagesize=(100, 100))
    c.circle(50, 50, 40)
    c.showPage()
    c.save()
    return buf.getvalue()


def _sealer(keys_dir: Path) -> PdfSealer:
    return PdfSealer(FileSigners(keys_dir).pdf_signing(), seal_appearance=lambda _: _seal_pdf())


def test_many_seals_fit_the_learned_reservation(keys_dir: Path) -> None:
    sealer = _sealer(keys_dir)
    pdf = _blank_pdf()
    at = datetime.now(UTC)
    sealer.seal(pdf, box=BOX, authority="a", reason="r", location="l", at=at)  # learns the size
    learned = sealer._reserve
    assert learned is not None
    for _ in range(40):
        out = sealer.seal(pdf, box=BOX, authority="a", reason="r", location="l", at=at)
        sigs = PdfFileReader(BytesIO(out)).embedded_signatures
        assert len(sigs) == 1
        # the learned reservation was used (no fallback to pyHanko's estimate) and is tight
        assert sealer._reserve == learned and len(sigs[0].pkcs7_content) * 2 == learned
        cms_len = len(sigs[0].signed_data.dump())
        assert learned - 2 * cms_len < 2 * 200


def test_outgrown_reservation_falls_back(keys_dir: Path) -> None:
    sealer = _sealer(keys_dir)
    sealer._reserve = 100  # far too small: as if the chain had grown since the size was learned
    out = sealer.seal(_blank_pdf(), box=BOX, authority="a", reason="r", location="l", at=datetime.now(UTC))
    assert PdfFileReader(BytesIO(out)).embedded_signatures


@pytest.fixture(scope="module")
def past_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("past-keys")
    ensure_dev_keys(d, at=T0)
    return d


def _tst_times(signed_data: cms.SignedData) -> dict[str, object]:
    """An RFC 3161 token's time (TSTInfo ``genTime``) and its CMS signing time."""
    attrs = signed_data["signer_infos"][0]["signed_attrs"]
    return {"gen_time": signed_data["encap_content_info"]["content"].parsed["gen_time"].native,
            "signing_time": find_unique_cms_attribute(attrs, "signing_time").native}


def test_the_seal_and_its_timestamp_carry_the_time_passed(past_keys: Path) -> None:
    at = T0 + timedelta(hours=1, minutes=23, seconds=45)
    out = _sealer(past_keys).seal(_blank_pdf(), box=BOX, authority="a", reason="r", location="l", at=at)
    sig = PdfFileReader(BytesIO(out)).embedded_signatures[0]
    assert sig.self_reported_timestamp == at  # the signing time the seal claims (/M)
    token = find_unique_cms_attribute(sig.signer_info["unsigned_attrs"], "signature_time_stamp_token")
    assert _tst_times(token["content"]) == {"gen_time": at, "signing_time": at}  # the dev TSA's time, not its clock
    roots = load_roots(FilePublicKeys(past_keys).roots_pem())
    vc = ValidationContext(trust_roots=roots, moment=at + timedelta(minutes=1), allow_fetching=False)
    status = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc)
    assert status.signer_reported_dt == at
    assert status.timestamp_validity is not None and status.timestamp_validity.timestamp == at
    assert status.bottom_line


def test_the_long_term_form_is_made_as_of_the_time_passed(past_keys: Path) -> None:
    sealed_at, extended_at = T0 + timedelta(hours=1), T0 + timedelta(days=2)
    sealer = _sealer(past_keys)
    out = sealer.seal(_blank_pdf(), box=BOX, authority="a", reason="r", location="l", at=sealed_at)
    crls = FileSigners(past_keys).revocation_data(extended_at)  # a day old by then: re-issued at that time
    lta = sealer.long_term(out, crls, at=extended_at)
    sigs = PdfFileReader(BytesIO(lta)).embedded_signatures
    assert [s.sig_object_type for s in sigs] == ["/Sig", "/DocTimeStamp"]
    assert _tst_times(sigs[1].signed_data) == {"gen_time": extended_at, "signing_time": extended_at}
    roots = load_roots(FilePublicKeys(past_keys).roots_pem())
    findings = validate_license_pdf(lta, roots, at=extended_at + timedelta(days=3650))  # signer long expired
    assert findings.long_term and findings.long_term_reason == "lta.ok"
    assert findings.valid and findings.trusted and findings.unmodified
