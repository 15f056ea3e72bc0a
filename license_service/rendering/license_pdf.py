"""The license page (2019 national arrangement, landscape A4), rendered with reportlab.

Arrangement (DOMAIN.md): a neutral mark and the title centred at the top; under it, left, the USCC
with the serial beside it; top right the QR code with a one-line caption; registered items in two
columns, left 名称 / 类型 / person line / 经营范围 (running down), right the money, date, term and
place lines; bottom right the registration authority's seal (the signature widget, added by the
sealer, in :attr:`RenderedLicense.seal_box`) with the authority's name and the date under it; along
the bottom edge the public credit system's address.

Every item stays in its box: text is wrapped by :mod:`.linebreak` (避头尾) and shrunk, never below
:data:`MIN_SIZE` for what the intake accepts (``license_service/intake.py``'s length limits). A
business scope that does not fit its box at :data:`MIN_SIZE` continues on further pages headed
经营范围（续）, in the same PDF, so the one certification signature covers them; the seal stays on
page 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from io import BytesIO
from pathlib import Path

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from signing.pdf_validation import TOKEN_PREFIX

from ..domain.entity import EntityDetails
from ..domain.errors import FieldError, InvalidInput
from ..domain.numerals import format_date
from ..layout_templates import load_template
from ..printed import PrintedLine, printed_lines, printed_values
from .fonts import FontSet, UnrenderableText
from .linebreak import Line, units, wrap
from .qr import draw_qr
from .seal import SEAL_SIZE

__all__ = ["FRAME", "MIN_SIZE", "LicensePage", "LicenseRenderer", "RenderedLicense"]

PAGE_W, PAGE_H = landscape(A4)
#: the inner frame line (x1, y1, x2, y2): everything printed stays inside it
FRAME = (24.0, 24.0, PAGE_W - 24.0, PAGE_H - 24.0)
#: the smallest size (pt) a registered item prints at: legible on paper (a little over 小六, 6.5 pt)
MIN_SIZE = 7.0
QR_SIZE = 128.0  # ~45 mm: a version-18 code keeps ~2 px per module when a page is rendered at 96 dpi

_INK = Color(0.13, 0.13, 0.13)
_FRAME_RED = Color(0.62, 0.12, 0.10)
_MUTED = Color(0.35, 0.35, 0.35)
_VALUE_SIZES = (12.0, 11.0, 10.5, 10.0, 9.5, 9.0, 8.5, 8.0, 7.5, MIN_SIZE)
_SCOPE_SIZES = (11.0, 10.5, 10.0, 9.5, 9.0, 8.5, 8.0, 7.5, MIN_SIZE)
_NAME_SIZES = (11.0, 10.5, 10.0, 9.5, 9.0, 8.5, 8.0, 7.5, MIN_SIZE)
#: only for text longer than the intake accepts (no such text reaches a license): smaller, rather
#: than over its neighbours or the seal
_BEYOND_LIMITS = (6.5, 6.0, 5.5, 5.0, 4.5, 4.0)
_LEADING = 1.3  # line pitch, of the size
_LABEL_SIZE = 12.0
_ROW_GAP = 11.0  # between one item's lowest ink and the next item's highest
_ROW_HEIGHT = 42.0  # the most an item other than a column's last may take (3 lines at 11 pt)
_ITEMS_TOP = PAGE_H - 209  # highest ink of the first items, under the identifiers and the QR caption
_BOTTOM = 46.0  # lowest ink of anything above the footer (footer: baseline 34, 8 pt)
_FOOTER_Y = 34.0
_SLACK = 3.0  # a wrapped line is justified unless that would spread more than this many em


@dataclass(frozen=True)
class _Column:
    x: float  # the labels' left edge
    label_w: float
    value_w: float

    @property
    def value_x(self) -> float:
        return self.x + self.label_w


_LEFT = _Column(60.0, 96.0, 300.0)  # labels up to 7 characters (执行事务合伙人)
_RIGHT = _Column(480.0, 84.0, 242.0)  # labels up to 6 characters (主要经营场所)
_RIGHT_END = _RIGHT.value_x + _RIGHT.value_w
_SEAL_CX = (_RIGHT.x + _RIGHT_END) / 2  # the seal, the authority's name and the date are centred here
_BODY = _Column(60.0, 0.0, PAGE_W - 120.0)  # a continuation page's text
_BODY_TOP = PAGE_H - 122


@dataclass(frozen=True)
class LicensePage:
    """Everything one license page prints."""

    details: EntityDetails
    serial: str
    version: int
    authority: str
    registered_on: date  # 登记机关's date: the date this version was decided
    verify_url: str  # what the QR code carries
    token: str  # stored in the PDF's metadata too


@dataclass(frozen=True)
class RenderedLicense:
    """The PDF, the seal's rectangle on page 1 and the QR code's (x1, y1, x2, y2, points), and how
    many pages the PDF has (more than one when the business scope continues)."""

    pdf: bytes
    seal_box: tuple[float, float, float, float]
    qr_box: tuple[float, float, float, float]
    pages: int


@dataclass(frozen=True)
class _Block:
    """Wrapped text at one size; ``continued``: its last line breaks inside the text (justify it)."""

    lines: list[Line]  # widths in em
    size: float
    width: float  # the box's width, points
    continued: bool = False

    @property
    def leading(self) -> float:
        return self.size * _LEADING


class LicenseRenderer:
    """Renders license pages from the per-kind templates in ``templates_dir``."""

    def __init__(self, fonts: FontSet, templates_dir: Path, footer: str) -> None:
        self.fonts = fonts
        self.templates_dir = templates_dir
        self.footer = footer

    def check(self, page: LicensePage) -> None:
        """Raise :class:`InvalidInput` naming every field with characters no font can draw."""
        errors: list[FieldError] = []
        texts = {f"entity.{k}": v for k, v in printed_values(page.details).items()}
        texts["authority.name"] = page.authority
        for field, text in texts.items():
            if text:
                missing = self.fonts.missing(text)
                if missing:
                    errors.append(UnrenderableText(field, missing))
        if errors:
            raise InvalidInput(errors)

    def render(self, page: LicensePage) -> RenderedLicense:
        """Render the license; :meth:`check` must have passed. Deterministic for a given input
        (no creation-time drift: the PDF dates are the registration date). Thread-safe: documents
        are built one at a time per process (see :attr:`FontSet.lock`)."""
        with self.fonts.lock:
            return self._render(page)

    # -- text blocks ------------------------------------------------------------------------------

    def _lines_in(self, depth: float, size: float) -> int:
        """How many lines at ``size`` fit when the first baseline is ``depth`` above the lowest ink."""
        return max(0, math.floor((depth - self.fonts.descent * size) / (size * _LEADING) + 1e-9) + 1)

    def _lines_within(self, height: float, size: float) -> int:
        """How many lines at ``size`` fit in ``height`` from the highest ink to the lowest."""
        return self._lines_in(height - self.fonts.ascent * size, size)

    def _fit(self, parts: Sequence[str], width: float, room: Callable[[float], int],
             sizes: Sequence[float]) -> _Block | None:
        """The largest of ``sizes`` at which ``parts`` wraps into ``room(size)`` lines of ``width``."""
        for size in sizes:
            lines, rest = wrap(parts, width / size, self.fonts.advance, room(size))
            if not rest or all(u.isspace() for u in rest):
                return _Block(lines, size, width)
        return None

    def _value(self, text: str, width: float, room: Callable[[float], int], sizes: Sequence[float]) -> _Block:
        parts = units(text)
        block = self._fit(parts, width, room, (*sizes, *_BEYOND_LIMITS))
        if block is None:  # not for any text the intake accepts: the smallest size, whatever it takes
            size = _BEYOND_LIMITS[-1]
            block = _Block(wrap(parts, width / size, self.fonts.advance)[0], size, width)
        return block

    def _scope(self, text: str, depth: float) -> list[_Block]:
        """The business scope from a first baseline ``depth`` above the box's bottom: one block at the
        largest size that fits; if none fits at :data:`MIN_SIZE`, page 1's box filled and the rest on
        continuation pages, at the largest size that needs one continuation page (at :data:`MIN_SIZE`
        on as many as it takes, for text longer than the intake accepts)."""
        parts = units(text)
        block = self._fit(parts, _LEFT.value_w, partial(self._lines_in, depth), _SCOPE_SIZES)
        if block is not None:
            return [block]
        body = _BODY_TOP - _BOTTOM
        for size in _SCOPE_SIZES:
            first, rest = wrap(parts, _LEFT.value_w / size, self.fonts.advance, self._lines_in(depth, size))
            second = self._fit(rest, _BODY.value_w, partial(self._lines_within, body), (size,))
            if second is not None:
                return [_Block(first, size, _LEFT.value_w, continued=True), second]
        size = MIN_SIZE
        lines, rest = wrap(parts, _LEFT.value_w / size, self.fonts.advance, self._lines_in(depth, size))
        blocks = [_Block(lines, size, _LEFT.value_w, continued=True)]
        while rest:
            lines, rest = wrap(rest, _BODY.value_w / size, self.fonts.advance, self._lines_within(body, size))
            blocks.append(_Block(lines, size, _BODY.value_w, continued=bool(rest)))
        return blocks

    def _draw_block(self, c: Canvas, block: _Block, x: float, baseline: float, centre: float | None = None) -> None:
        """Lines from ``baseline`` down, left-aligned at ``x`` (or centred on ``centre``); a line that
        breaks inside the text is justified (inter-character space, clreq s.3.2.5) when that stays small."""
        for i, line in enumerate(block.lines):
            natural = line.width * block.size
            char_space = 0.0
            if centre is None and (i < len(block.lines) - 1 or block.continued):
                slack = block.width - natural
                if 0 < slack <= _SLACK * block.size:
                    char_space = slack / len(line.text)
            left = x if centre is None else centre - natural / 2
            self.fonts.draw(c, left, baseline - i * block.leading, line.text, block.size, char_space)

    def _bottom_of(self, block: _Block, baseline: float) -> float:
        return baseline - (len(block.lines) - 1) * block.leading - self.fonts.descent * block.size

    # -- the page ---------------------------------------------------------------------------------

    def _column(self, c: Canvas, rows: list[PrintedLine], col: _Column, bottom: float) -> list[_Block]:
        """Draw one column of items down to ``bottom``: each item in at most :data:`_ROW_HEIGHT`, the
        last one in all that is left. Returns the business scope's continuation blocks, if any."""
        visible = [row for row in rows if row.value is not None]
        baseline = _ITEMS_TOP - self.fonts.ascent * _LABEL_SIZE
        for i, row in enumerate(visible):
            assert row.value is not None
            last = i == len(visible) - 1
            depth = baseline - bottom
            self.fonts.draw(c, col.x, baseline, _spaced(row.label), _LABEL_SIZE)
            more: list[_Block] = []
            if row.field == "business_scope":
                if not last:
                    raise ValueError("经营范围 must be the last item of its column (it runs down to the bottom)")
                block, *more = self._scope(row.value, depth)
            elif last:
                block = self._value(row.value, col.value_w, partial(self._lines_in, depth), _VALUE_SIZES)
            else:
                block = self._value(row.value, col.value_w, partial(self._lines_within, _ROW_HEIGHT),
                                    _VALUE_SIZES)
            self._draw_block(c, block, col.value_x, baseline)
            if more:
                c.setFillColor(_MUTED)
                pages = "第 2 页" if len(more) == 1 else f"第 2 至 {len(more) + 1} 页"
                self.fonts.draw(c, col.x, baseline - 18, f"（续见{pages}）", 9.0)
                c.setFillColor(_INK)
                return more
            low = min(self._bottom_of(block, baseline), baseline - self.fonts.descent * _LABEL_SIZE)
            baseline = low - _ROW_GAP - self.fonts.ascent * _LABEL_SIZE
        return []

    def _authority(self, c: Canvas, page: LicensePage) -> tuple[float, float, float, float]:
        """Date at the bottom, the authority's name above it, the seal's box above that (returned),
        all centred under the right column; the label 登记机关 left of the seal."""
        date_size = 11.0
        date_base = _BOTTOM + self.fonts.descent * date_size
        dated = format_date(page.registered_on)
        self.fonts.draw(c, _SEAL_CX - self.fonts.width(dated, date_size) / 2, date_base, dated, date_size)
        name = self._value(page.authority, _RIGHT_END - _RIGHT.x,
                           partial(self._lines_within, 30.0), _NAME_SIZES)
        name_low = date_base + self.fonts.ascent * date_size + 3
        name_base = name_low + self.fonts.descent * name.size + (len(name.lines) - 1) * name.leading
        self._draw_block(c, name, 0.0, name_base, centre=_SEAL_CX)
        y1 = math.ceil(name_base + self.fonts.ascent * name.size + 3)
        x1 = round(_SEAL_CX - SEAL_SIZE / 2)
        label = "登 记 机 关"
        self.fonts.draw(c, _RIGHT.x, y1 + SEAL_SIZE / 2 - 4, label, _LABEL_SIZE)
        return (x1, y1, x1 + SEAL_SIZE, y1 + SEAL_SIZE)

    def _frame_and_footer(self, c: Canvas) -> None:
        c.setStrokeColor(_FRAME_RED)
        c.setLineWidth(2.2)
        c.rect(18, 18, PAGE_W - 36, PAGE_H - 36)
        c.setLineWidth(0.6)
        x1, y1, x2, y2 = FRAME
        c.rect(x1, y1, x2 - x1, y2 - y1)
        c.setFillColor(_MUTED)
        self.fonts.draw(c, 60, _FOOTER_Y, "国家企业信用信息公示系统网址：https://www.gsxt.gov.cn", 8)
        self.fonts.draw(c, PAGE_W - 60 - self.fonts.width(self.footer, 8), _FOOTER_Y, self.footer, 8)
        c.setFillColor(_INK)

    def _render(self, page: LicensePage) -> RenderedLicense:
        tpl = load_template(self.templates_dir, page.details.kind)
        left, right = printed_lines(page.details, self.templates_dir)
        buf = BytesIO()
        c = Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=1)
        c.setTitle(f"电子营业执照 {page.details.uscc} v{page.version}")
        c.setAuthor(page.authority)
        c.setSubject(f"USCC {page.details.uscc}; serial {page.serial}; version {page.version}")
        c.setKeywords(f"{TOKEN_PREFIX}{page.token}")
        c.setCreator("elicense")
        self._frame_and_footer(c)

        # neutral mark and title
        _mark(c, PAGE_W / 2, PAGE_H - 62)
        title = _spaced(str(tpl["title"]), "  ")
        tw = self.fonts.width(title, 34)
        self.fonts.draw(c, (PAGE_W - tw) / 2, PAGE_H - 128, title, 34)
        c.setFillColor(_MUTED)
        sub = "（电子营业执照）"
        self.fonts.draw(c, (PAGE_W - self.fonts.width(sub, 12)) / 2, PAGE_H - 150, sub, 12)

        # QR (top right) with its caption
        qx, qy = PAGE_W - 60 - QR_SIZE, PAGE_H - 46 - QR_SIZE
        draw_qr(c, page.verify_url, qx, qy, QR_SIZE)
        c.setFillColor(_MUTED)
        cap = "扫描二维码核验登记信息与执照状态"
        self.fonts.draw(c, qx + (QR_SIZE - self.fonts.width(cap, 7.5)) / 2, qy - 12, cap, 7.5)

        # registered items; the authority, its seal (drawn by the sealer in the widget) and the date
        c.setFillColor(_INK)
        seal_box = self._authority(c, page)
        more = self._column(c, left, _LEFT, _BOTTOM)
        self._column(c, right, _RIGHT, seal_box[3] + 6)
        pages = 1 + len(more)

        # identifiers (the page count once the scope continues)
        self.fonts.draw(c, 60, PAGE_H - 182, "统一社会信用代码", 11)
        c.setFont("Courier-Bold", 13)
        c.drawString(60 + self.fonts.width("统一社会信用代码", 11) + 8, PAGE_H - 182, str(page.details.uscc))
        self.fonts.draw(c, 330, PAGE_H - 182, f"证照编号：{page.serial}", 10)
        edition = f"版本：第 {page.version} 版" + (f"　共 {pages} 页" if pages > 1 else "")
        self.fonts.draw(c, 330, PAGE_H - 196, edition, 9)
        c.showPage()

        for number, block in enumerate(more, start=2):
            self._continuation(c, page, block, number, pages)
            c.showPage()
        c.save()
        return RenderedLicense(buf.getvalue(), seal_box, (qx, qy, qx + QR_SIZE, qy + QR_SIZE), pages)

    def _continuation(self, c: Canvas, page: LicensePage, block: _Block, number: int, pages: int) -> None:
        """A continuation page: the heading 经营范围（续）, the license's identifiers, the scope's next part."""
        self._frame_and_footer(c)
        title = "经营范围（续）"
        self.fonts.draw(c, (PAGE_W - self.fonts.width(title, 20)) / 2, PAGE_H - 76, title, 20)
        c.setFillColor(_MUTED)
        ident = f"统一社会信用代码 {page.details.uscc}　证照编号：{page.serial}　第 {number} 页 共 {pages} 页"
        self.fonts.draw(c, (PAGE_W - self.fonts.width(ident, 9)) / 2, PAGE_H - 98, ident, 9)
        c.setFillColor(_INK)
        self._draw_block(c, block, _BODY.x, _BODY_TOP - self.fonts.ascent * block.size)


def _spaced(label: str, gap: str = "") -> str:
    """Two-character labels print spaced out (名 称) so label columns line up, as on paper."""
    if gap:
        return gap.join(label)
    return "　".join(label) if len(label) == 2 else label


def _mark(c: Canvas, x: float, y: float) -> None:
    """A neutral mark (deliberately not the national emblem): two rings and a document glyph."""
    c.saveState()
    c.setStrokeColor(_FRAME_RED)
    c.setFillColor(_FRAME_RED)
    c.setLineWidth(1.6)
    c.circle(x, y, 19, stroke=1, fill=0)
    c.setLineWidth(0.6)
    c.circle(x, y, 15, stroke=1, fill=0)
    c.rect(x - 6, y - 8, 12, 16, stroke=1, fill=0)
    for dy in (3, 0, -3):
        c.line(x - 3.5, y + dy, x + 3.5, y + dy)
    c.restoreState()
