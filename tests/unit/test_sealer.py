"""The sealer reserves what the first signature needed plus a margin; many signatures in a row must
all fit (DER ECDSA signatures vary in length), and an outgrown reservation falls back to an estimate."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen.canvas import Canvas

from signing.keys import FileKeyProvider
from signing.pdf import PdfSealer


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


def test_many_seals_fit_the_learned_reservation(keys_dir: Path) -> None:
    sealer = PdfSealer(FileKeyProvider(keys_dir).pdf_signing(), seal_appearance=lambda _: _seal_pdf())
    pdf = _blank_pdf()
    sealer.seal(pdf, box=(10, 10, 110, 110), authority="a", reason="r", location="l")  # learns the size
    learned = sealer._reserve
    assert learned is not None
    for _ in range(40):
        out = sealer.seal(pdf, box=(10, 10, 110, 110), authority="a", reason="r", location="l")
        sigs = PdfFileReader(BytesIO(out)).embedded_signatures
        assert len(sigs) == 1
        # the learned reservation was used (no fallback to pyHanko's estimate) and is tight
        assert sealer._reserve == learned and len(sigs[0].pkcs7_content) * 2 == learned
        cms_len = len(sigs[0].signed_data.dump())
        assert learned - 2 * cms_len < 2 * 200


def test_outgrown_reservation_falls_back(keys_dir: Path) -> None:
    sealer = PdfSealer(FileKeyProvider(keys_dir).pdf_signing(), seal_appearance=lambda _: _seal_pdf())
    sealer._reserve = 100  # far too small: as if the chain had grown since the size was learned
    out = sealer.seal(_blank_pdf(), box=(10, 10, 110, 110), authority="a", reason="r", location="l")
    assert PdfFileReader(BytesIO(out)).embedded_signatures
