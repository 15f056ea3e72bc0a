"""The authority's seal, drawn as the signature widget's appearance: a red ring, the authority's
name along the upper arc and a five-pointed star. A neutral mark, not a reproduction of any
official seal."""

from __future__ import annotations

import math
from io import BytesIO

from reportlab.pdfgen.canvas import Canvas

from .fonts import FontSet

__all__ = ["SEAL_SIZE", "draw_seal_pdf"]

SEAL_SIZE = 118.0  # points (about 42 mm)
_RED = (0.80, 0.07, 0.07)


def draw_seal_pdf(fonts: FontSet, authority: str, size: float = SEAL_SIZE) -> bytes:
    """A one-page PDF, ``size`` points square, with the seal for ``authority`` (thread-safe)."""
    with fonts.lock:
        return _draw(fonts, authority, size)


def _draw(fonts: FontSet, authority: str, size: float) -> bytes:
    buf = BytesIO()
    c = Canvas(buf, pagesize=(size, size), pageCompression=1)
    c.setAuthor("elicense")
    cx = cy = size / 2
    r = size / 2 - 3
    c.setStrokeColorRGB(*_RED)
    c.setFillColorRGB(*_RED)
    c.setLineWidth(3)
    c.circle(cx, cy, r, stroke=1, fill=0)
    # star
    star_r = r * 0.28
    p = c.beginPath()
    for i in range(10):
        rr = star_r if i % 2 == 0 else star_r * 0.382
        a = math.pi / 2 + i * math.pi / 5
        pt = (cx + rr * math.cos(a), cy + rr * math.sin(a))
        p.moveTo(*pt) if i == 0 else p.lineTo(*pt)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
    # name along the upper arc, 220 degrees centred at the top, characters upright to the centre
    chars = list(authority)
    span = math.radians(220)
    text_r = r - 15
    font_size = min(14.0, 0.8 * span * text_r / max(len(chars), 1))
    step = span / max(len(chars), 1)
    for i, ch in enumerate(chars):
        a = math.pi / 2 + span / 2 - step * (i + 0.5)
        c.saveState()
        c.translate(cx + text_r * math.cos(a), cy + text_r * math.sin(a))
        c.rotate(math.degrees(a) - 90)
        face = fonts.face_for(ch) or fonts.primary
        c.setFont(face, font_size)
        c.drawCentredString(0, -font_size * 0.35, ch)
        c.restoreState()
    c.showPage()
    c.save()
    return buf.getvalue()
