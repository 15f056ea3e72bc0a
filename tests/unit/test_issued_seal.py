"""The issued-copy path's seal checks (``signing/issued_seal.py``) against pyHanko's full validation
(``validate_license_pdf``) on real seals: wherever it answers, it answers what the full validation
finds; wherever the full validation would refuse or doubt the seal (an expired chain, a signer revoked
for compromise before the timestamp, a file that is not a seal as issued), it does not answer, so the
caller takes the full path. Time is a parameter: a PKI made in the past, checks at chosen times."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.pdfgen.canvas import Canvas

from signing.issued_seal import IssuedSeal, seal_parts
from signing.keys.files import FileSigners, ensure_dev_keys
from signing.keys.public import FilePublicKeys
from signing.keys.rotation import revoke_certificate
from signing.pdf import PdfSealer
from signing.pdf_validation import PdfFindings, load_roots, validate_license_pdf

T0 = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)  # when the PKI is made
SEALED_AT = T0 + timedelta(hours=1)
BOX = (10.0, 10.0, 110.0, 110.0)
#: what the issued-copy path must report as the full validation does (the rest - the field's name,
#: the token, the modification level's spelling - the service takes from elsewhere or never shows)
SAME = ("intact", "valid", "trusted", "entire_file", "unmodified", "timestamp_trusted", "signer", "signed_at",
        "signer_revoked_at", "sealed_length", "issued_length", "long_term", "revision_problem", "malformed")


def _pdf(text: str) -> bytes:
    buf = BytesIO()
    c = Canvas(buf, pagesize=(200, 200))
    c.drawString(20, 100, text)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("issued-seal-keys")
    ensure_dev_keys(d, at=T0)
    return d


@pytest.fixture(scope="module")
def sealed(keys: Path) -> bytes:
    sealer = PdfSealer(FileSigners(keys).pdf_signing(), seal_appearance=lambda _: _pdf("seal"))
    return sealer.seal(_pdf("license"), box=BOX, authority="a", reason="r", location="l", at=SEALED_AT)


def _roots(keys: Path) -> list[object]:
    return list(load_roots(FilePublicKeys(keys).roots_pem()))


def _crls(keys: Path) -> tuple[bytes, ...]:
    pub = FilePublicKeys(keys)
    return tuple(c for c in (pub.crl("issuing-ca"), pub.crl("root-ca")) if c)


def _agrees(fast: PdfFindings | None, full: PdfFindings) -> None:
    """``fast`` answers only for a seal the full validation accepts, and then as it does."""
    accepted = (full.intact and full.valid and full.trusted and full.entire_file and full.unmodified
                and full.timestamp_trusted and full.signer_revoked_at is None and full.long_term is None)
    if fast is None:
        assert not accepted
        return
    assert accepted
    assert fast.issued_copy and not full.issued_copy
    assert {f: getattr(fast, f) for f in SAME} == {f: getattr(full, f) for f in SAME}
    assert {f.name for f in fields(PdfFindings)} >= set(SAME)


def test_the_seal_as_issued_is_read_from_its_bytes(keys: Path, sealed: bytes) -> None:
    parts = seal_parts(sealed)
    assert parts is not None
    signer = FileSigners(keys).pdf_signing().signer_cert
    assert parts.signer.dump() == signer.dump()
    assert parts.signed_at == SEALED_AT  # the timestamp token's genTime
    assert parts.tsa is not None and "Time Stamping" in parts.tsa.subject.human_friendly
    assert parts.sealed_length == len(sealed)


@pytest.mark.parametrize("after", [timedelta(minutes=1), timedelta(days=200)])
def test_within_the_chain_s_validity_it_answers_as_the_full_validation(keys: Path, sealed: bytes,
                                                                         after: timedelta) -> None:
    at = SEALED_AT + after
    fast = IssuedSeal(_roots(keys)).findings(sealed, at=at, crls=_crls(keys))  # type: ignore[arg-type]
    assert fast is not None
    _agrees(fast, validate_license_pdf(sealed, _roots(keys), at=at, crls=_crls(keys)))  # type: ignore[arg-type]


def test_after_the_signer_s_certificate_expires_it_leaves_the_seal_to_the_full_validation(
        keys: Path, sealed: bytes) -> None:
    expires = FileSigners(keys).pdf_signing().signer_cert.not_valid_after
    seal = IssuedSeal(_roots(keys))  # type: ignore[arg-type]
    before = seal.findings(sealed, at=expires - timedelta(seconds=10), crls=_crls(keys))
    assert before is not None
    # within the minute its path is remembered for: the remembered path does not outlive a certificate
    after = seal.findings(sealed, at=expires + timedelta(seconds=10), crls=_crls(keys))
    assert after is None
    full = validate_license_pdf(sealed, _roots(keys), at=expires + timedelta(seconds=10))  # type: ignore[arg-type]
    assert not full.trusted
    _agrees(after, full)
    _agrees(IssuedSeal(_roots(keys)).findings(sealed, at=expires + timedelta(days=1), crls=_crls(keys)),  # type: ignore[arg-type]
            validate_license_pdf(sealed, _roots(keys), at=expires + timedelta(days=1)))  # type: ignore[arg-type]


def test_a_signer_revoked_for_compromise_before_the_timestamp_is_left_to_the_full_validation(
        tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    ensure_dev_keys(keys, at=T0)
    sealer = PdfSealer(FileSigners(keys).pdf_signing(), seal_appearance=lambda _: _pdf("seal"))
    before = sealer.seal(_pdf("before"), box=BOX, authority="a", reason="r", location="l", at=T0 + timedelta(hours=1))
    after = sealer.seal(_pdf("after"), box=BOX, authority="a", reason="r", location="l", at=T0 + timedelta(hours=3))
    serial = FileSigners(keys).pdf_signing().signer_cert.serial_number
    revoke_certificate(keys, serial, T0 + timedelta(hours=2), at=T0 + timedelta(hours=4))
    at = T0 + timedelta(hours=5)
    seal = IssuedSeal(_roots(keys))  # type: ignore[arg-type]
    full_after = validate_license_pdf(after, _roots(keys), at=at, crls=_crls(keys))  # type: ignore[arg-type]
    assert full_after.signer_revoked_at is not None
    _agrees(seal.findings(after, at=at, crls=_crls(keys)), full_after)
    assert seal.findings(after, at=at, crls=_crls(keys)) is None
    fast_before = seal.findings(before, at=at, crls=_crls(keys))
    assert fast_before is not None  # what it sealed before its compromise stays good
    _agrees(fast_before, validate_license_pdf(before, _roots(keys), at=at, crls=_crls(keys)))  # type: ignore[arg-type]


def _appended(pdf: bytes) -> bytes:
    w = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    info = w.trailer["/Info"].get_object() if "/Info" in w.trailer else generic.DictionaryObject()
    info["/Title"] = generic.TextStringObject("changed")
    w.set_info(info)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: p + b"\n% trailing\n", id="bytes_after_the_end"),
    pytest.param(_appended, id="incremental_update"),
    pytest.param(lambda p: p.replace(b"/ByteRange", b"/ByteRangX", 1), id="no_byte_range"),
    pytest.param(lambda p: p[: len(p) // 2], id="truncated"),
    pytest.param(lambda _: _pdf("unsigned"), id="unsigned"),
    pytest.param(lambda _: b"%PDF-1.7 not a pdf", id="garbage"),
])
def test_anything_but_a_seal_as_issued_is_not_read_as_one(keys: Path, sealed: bytes, make: object) -> None:
    """The issued-copy path only ever sees files whose digest the registry holds; read anything else
    and it still declines rather than judge what it was not built to judge."""
    data = make(sealed)  # type: ignore[operator]
    assert seal_parts(data) is None
    assert IssuedSeal(_roots(keys)).findings(data, at=SEALED_AT + timedelta(minutes=1), crls=()) is None  # type: ignore[arg-type]
