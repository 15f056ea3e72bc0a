"""The authority's seal, drawn as the signature widget's appearance, the way a round official seal is
laid out: a red ring, the authority's name along the ring just inside it (evenly spaced over an arc
centred at the top, each character upright with its foot towards the centre, condensed when the name
is long) and a five-pointed star at the centre. A neutral mark, not a reproduction of any official
seal (no emblem, no code)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from io import BytesIO

from reportlab.pdfgen.canvas import Canvas

from .fonts import FontSet

__all__ = ["SEAL_SIZE", "draw_seal_pdf"]

SEAL_SIZE = 118.0  # points (about 42 mm, the diameter of a round official seal)
_RED = (0.80, 0.07, 0.07)
_RING = 0.028  # ring stroke, of the diameter (~1.2 mm at 42 mm)
_GAP = 0.018  # between the ring's inner edge and the tops of the characters, of the diameter
_TEXT = 0.28  # character height, of the ring's radius
_STAR = 0.34  # the star's circumradius, of the ring's radius
_ARC = math.radians(225)  # the arc the name spans (a seal's name runs over about 210-240 degrees)
_PITCH = 1.6  # widest spacing, in character heights: a short name is not spread over the whole arc
_FILL = 0.92  # a character takes this share of its place on the arc at its foot, where places are narrowest
_MIN_SCALE = 0.5  # horizontal condensing before the characters are made smaller
_INK_TOP = 0.80  # the top of an ideograph's ink above the baseline, in em (WenQuanYi, HanaMin)


def draw_seal_pdf(fonts: FontSet, authority: str, size: float = SEAL_SIZE) -> bytes:
    """A one-page PDF, ``size`` points square, with the seal for ``authority`` (thread-safe)."""
    with fonts.lock:
        return _draw(fonts, authority, size)


def _draw(fonts: FontSet, authority: str, size: float) -> bytes:
    buf = BytesIO()
    c = Canvas(buf, pagesize=(size, size), pageCompression=1)
    c.setAuthor("elicense")
    cx = cy = size / 2
    line = _RING * size
    r = size / 2 - line / 2 - 0.5  # the ring's centre line; its outer edge stays inside the page
    c.setStrokeColorRGB(*_RED)
    c.setFillColorRGB(*_RED)
    c.setLineWidth(line)
    c.circle(cx, cy, r, stroke=1, fill=0)
    _star(c, cx, cy, _STAR * r)
    _name(c, fonts, authority, cx, cy, r - line / 2 - _GAP * size, _TEXT * r)
    c.showPage()
    c.save()
    return buf.getvalue()


def _star(c: Canvas, cx: float, cy: float, radius: float) -> None:
    """A five-pointed star centred on (cx, cy), one point up."""
    p = c.beginPath()
    for i in range(10):
        rr = radius if i % 2 == 0 else radius * 0.382  # inner radius of a regular star: sin 18 / sin 126
        a = math.pi / 2 + i * math.pi / 5
        pt = (cx + rr * math.cos(a), cy + rr * math.sin(a))
        if i == 0:
            p.moveTo(*pt)
        else:
            p.lineTo(*pt)
    p.close()
    c.drawPath(p, stroke=0, fill=1)


@dataclass(frozen=True)
class _ArcText:
    """Where the name's characters go: ``step`` radians apart, centred on the top, baselines on a
    circle of radius ``baseline``, at ``size`` points condensed horizontally by ``scale``."""

    step: float
    baseline: float
    size: float
    scale: float

    def angle(self, i: int, n: int) -> float:
        """The direction of character ``i`` of ``n`` from the centre (radians; pi/2 is the top)."""
        return math.pi / 2 + self.step * ((n - 1) / 2 - i)


def _arc_text(n: int, widest: float, outer: float, height: float) -> _ArcText:
    """Lay out ``n`` characters at most ``widest`` em wide with their tops at radius ``outer``:
    evenly spaced over :data:`_ARC` (over less for a short name: at most :data:`_PITCH` character
    heights apart), ``height`` points high, condensed to fit their place at the foot, and made
    smaller only once condensed to :data:`_MIN_SCALE`."""
    size = height
    for _ in range(8):  # smaller characters sit further out, with more room: two rounds suffice
        arc = _arc_at(n, widest, outer, size)
        if arc.scale >= _MIN_SCALE - 1e-9:
            break
        size = arc.scale * size / _MIN_SCALE  # as wide as now, condensed no more than the minimum
    return arc


def _arc_at(n: int, widest: float, outer: float, size: float) -> _ArcText:
    foot = outer - _INK_TOP * size  # the baseline's radius: where neighbours come closest
    step = min(_ARC / n, _PITCH * size / foot)
    room = _FILL * step * foot  # the arc length one character may take
    return _ArcText(step, foot, size, min(1.0, room / (widest * size)))


def _name(c: Canvas, fonts: FontSet, text: str, cx: float, cy: float, outer: float, height: float) -> None:
    """``text`` clockwise along the top of the circle, the characters' tops at radius ``outer``,
    each upright with its foot towards the centre (:func:`_arc_text`)."""
    chars = [ch for ch in text if not ch.isspace()]
    n = len(chars)
    if n == 0:
        return
    arc = _arc_text(n, max(fonts.advance(ch) for ch in chars), outer, height)
    for i, ch in enumerate(chars):
        a = arc.angle(i, n)
        c.saveState()
        c.translate(cx + arc.baseline * math.cos(a), cy + arc.baseline * math.sin(a))
        c.rotate(math.degrees(a) - 90)  # upright, its foot towards the centre
        c.scale(arc.scale, 1)
        c.setFont(fonts.face_for(ch) or fonts.primary, arc.size)
        c.drawCentredString(0, 0, ch)
        c.restoreState()
