"""The license page (2019 national arrangement, landscape A4), rendered with reportlab.

Arrangement (DOMAIN.md): a neutral mark and the title centred at the top; under it, left, the USCC
with the serial beside it; top right the QR code with a one-line caption; registered items in two
columns, left 名称 / 类型 / person line / 经营范围 (running down), right the money, date, term and
place lines; bottom right the registration authority, the date and the seal (the signature
widget, added by the sealer); along the bottom edge the public credit system's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from signing.pdf_validation import TOKEN_PREFIX

from ..domain.entity import EntityDetails
from ..domain.errors import FieldError, InvalidInput
from ..domain.numerals import format_date
from ..layout_templates import load_template
from ..printed import PrintedLine, printed_lines, printed_values
from .fonts import FontSet, UnrenderableText
from .qr import draw_qr
from .seal import SEAL_SIZE

__all__ = ["LicensePage", "LicenseRenderer", "RenderedLicense"]

PAGE_W, PAGE_H = landscape(A4)
_INK = Color(0.13, 0.13, 0.13)
_FRAME = Color(0.62, 0.12, 0.10)
_MUTED = Color(0.35, 0.35, 0.35)
_SCOPE_SIZES = (11.0, 10.5, 10.0, 9.5, 9.0, 8.5, 8.0, 7.5, 7.0, 6.5, 6.0, 5.5)
_LINE_SIZES = (12.0, 11.0, 10.0, 9.0, 8.0)
QR_SIZE = 128.0  # ~45 mm: a version-18 code keeps ~2 px per module when a page is rendered at 96 dpi


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
    pdf: bytes
    seal_box: tuple[float, float, float, float]


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

    def _para(self, text: str, size: float, leading: float | None = None) -> Paragraph:
        style = ParagraphStyle("v", fontName=self.fonts.primary, fontSize=size,
                               leading=leading or size * 1.38, textColor=_INK, wordWrap="CJK")
        return Paragraph(self.fonts.markup(text), style)

    def _fit(self, text: str, width: float, height: float, sizes: tuple[float, ...]) -> Paragraph:
        """The largest size at which ``text`` wraps into the box; shrinks, never clips (the
        smallest size is the last resort, and field length limits keep it inside the box)."""
        para = self._para(text, sizes[-1])
        for size in sizes:
            para = self._para(text, size)
            _, h = para.wrap(width, height)
            if h <= height:
                return para
        para.wrap(width, height)
        return para

    def _rows(self, c: Canvas, rows: list[PrintedLine], x: float, top: float, bottom: float, label_w: float,
              value_w: float) -> None:
        y = top
        for i, row in enumerate(rows):
            value = row.value
            if value is None:
                continue
            self.fonts.draw(c, x, y - 12, _spaced(row.label), 12)
            last = i == len(rows) - 1
            if row.field == "business_scope" or last:
                para = self._fit(value, value_w, y - bottom, _SCOPE_SIZES if last else _LINE_SIZES)
            else:
                para = self._fit(value, value_w, 52, _LINE_SIZES)
            _, h = para.wrap(value_w, y - bottom)
            para.drawOn(c, x + label_w, y - h + 1)
            y -= max(h, 16) + 14

    def render(self, page: LicensePage) -> RenderedLicense:
        """Render one page; :meth:`check` must have passed. Deterministic for a given input
        (no creation-time drift: the PDF dates are the registration date). Thread-safe: documents
        are built one at a time per process (see :attr:`FontSet.lock`)."""
        with self.fonts.lock:
            return self._render(page)

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

        # frame
        c.setStrokeColor(_FRAME)
        c.setLineWidth(2.2)
        c.rect(18, 18, PAGE_W - 36, PAGE_H - 36)
        c.setLineWidth(0.6)
        c.rect(24, 24, PAGE_W - 48, PAGE_H - 48)

        # neutral mark and title
        _mark(c, PAGE_W / 2, PAGE_H - 62)
        c.setFillColor(_INK)
        title = _spaced(str(tpl["title"]), "  ")
        tw = self.fonts.width(title, 34)
        self.fonts.draw(c, (PAGE_W - tw) / 2, PAGE_H - 128, title, 34)
        c.setFillColor(_MUTED)
        sub = "（电子营业执照）"
        self.fonts.draw(c, (PAGE_W - self.fonts.width(sub, 12)) / 2, PAGE_H - 150, sub, 12)

        # identifiers
        c.setFillColor(_INK)
        self.fonts.draw(c, 60, PAGE_H - 182, "统一社会信用代码", 11)
        c.setFont("Courier-Bold", 13)
        c.drawString(60 + self.fonts.width("统一社会信用代码", 11) + 8, PAGE_H - 182, str(page.details.uscc))
        self.fonts.draw(c, 330, PAGE_H - 182, f"证照编号：{page.serial}", 10)
        self.fonts.draw(c, 330, PAGE_H - 196, f"版本：第 {page.version} 版", 9)

        # QR (top right) with its caption
        qx, qy = PAGE_W - 60 - QR_SIZE, PAGE_H - 46 - QR_SIZE
        draw_qr(c, page.verify_url, qx, qy, QR_SIZE)
        c.setFillColor(_MUTED)
        cap = "扫描二维码核验登记信息与执照状态"
        self.fonts.draw(c, qx + (QR_SIZE - self.fonts.width(cap, 7.5)) / 2, qy - 12, cap, 7.5)

        # registered items
        c.setFillColor(_INK)
        top = PAGE_H - 222
        self._rows(c, left, 60, top, 70, 96, 300)
        self._rows(c, right, 480, top, 210, 96, 230)

        # authority, date (the seal goes over them: sealer draws it in the signature widget)
        ax, ay = 560, 120
        self.fonts.draw(c, ax, ay + 40, "登 记 机 关", 12)
        name_size = 11.0 if self.fonts.width(page.authority, 11) < 230 else 9.0
        self.fonts.draw(c, ax, ay + 18, page.authority, name_size)
        self.fonts.draw(c, ax + 40, ay - 6, format_date(page.registered_on), 12)
        seal_box = (ax + 50, ay - 48, ax + 50 + SEAL_SIZE, ay - 48 + SEAL_SIZE)

        # bottom edge
        c.setFillColor(_MUTED)
        self.fonts.draw(c, 60, 34, "国家企业信用信息公示系统网址：https://www.gsxt.gov.cn", 8)
        self.fonts.draw(c, PAGE_W - 60 - self.fonts.width(self.footer, 8), 34, self.footer, 8)
        c.showPage()
        c.save()
        return RenderedLicense(buf.getvalue(), seal_box)


def _spaced(label: str, gap: str = "") -> str:
    """Two-character labels print spaced out (名 称) so label columns line up, as on paper."""
    if gap:
        return gap.join(label)
    return "　".join(label) if len(label) == 2 else label


def _mark(c: Canvas, x: float, y: float) -> None:
    """A neutral mark (deliberately not the national emblem): two rings and a document glyph."""
    c.saveState()
    c.setStrokeColor(_FRAME)
    c.setFillColor(_FRAME)
    c.setLineWidth(1.6)
    c.circle(x, y, 19, stroke=1, fill=0)
    c.setLineWidth(0.6)
    c.circle(x, y, 15, stroke=1, fill=0)
    c.rect(x - 6, y - 8, 12, 16, stroke=1, fill=0)
    for dy in (3, 0, -3):
        c.line(x - 3.5, y + dy, x + 3.5, y + dy)
    c.restoreState()
