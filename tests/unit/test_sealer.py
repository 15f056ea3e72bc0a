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
    for _ in range(40):
        out = sealer.seal(pdf, box=(10, 10, 110, 110), authority="a", reason="r", location="l")
        assert len(PdfFileReader(BytesIO(out)).embedded_signatures) == 1
    assert sealer._reserve is not None and sealer._reserve < 5000


def test_outgrown_reservation_falls_back(keys_dir: Path) -> None:
    sealer = PdfSealer(FileKeyProvider(keys_dir).pdf_signing(), seal_appearance=lambda _: _seal_pdf())
    sealer._reserve = 100  # far too small: as if the chain had grown since the size was learned
    out = sealer.seal(_blank_pdf(), box=(10, 10, 110, 110), authority="a", reason="r", location="l")
    assert PdfFileReader(BytesIO(out)).embedded_signatures
