"""The paper license (营业执照 正本 and 副本) as the bureau prints it on pre-printed stock: the
variable items only, placed by ``templates/print/stock.toml`` (page size, orientation, offsets and
positions per form; the items and their order per entity kind from ``templates/license/<kind>.toml``
through ``printed.printed_lines``). Unsigned: the paper's authenticity is the QR, which carries the
license's verify URL. A test print also draws the stock's frame and boxes, for alignment."""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A3, A4, landscape, portrait
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ..domain.entity import EntityDetails
from ..domain.numerals import format_date
from ..printed import PrintedLine, printed_lines
from .fonts import FontSet
from .qr import draw_qr

__all__ = ["FORMS", "PrintJob", "StockPrinter"]

FORMS = ("original", "duplicate")  # 正本, 副本
_PAGES = {"A3": A3, "A4": A4}


@dataclass(frozen=True)
class PrintJob:
    details: EntityDetails
    uscc: str
    serial: str
    authority: str
    registered_on: date
    verify_url: str
    form: str  # original | duplicate
    numbers: tuple[int, ...] = (0,)  # 副本's numbers, one page each; 正本: one page
    test: bool = False
    offset_mm: tuple[float, float] = (0.0, 0.0)  # added to the stock file's


class StockPrinter:
    def __init__(self, fonts: FontSet, templates_dir: Path) -> None:
        self.fonts = fonts
        self.license_templates = templates_dir / "license"
        self.stock = tomllib.loads((templates_dir / "print" / "stock.toml").read_text(encoding="utf-8"))

    def page_size(self, form: str) -> tuple[float, float]:
        spec = self.stock[form]
        size = _PAGES[spec["page"]]
        w, h = landscape(size) if spec["landscape"] else portrait(size)
        return float(w), float(h)

    def render(self, job: PrintJob) -> bytes:
        """The print-ready PDF: one page per copy (正本: one)."""
        spec = self.stock[job.form]
        buf = io.BytesIO()
        with self.fonts.lock:
            c = Canvas(buf, pagesize=self.page_size(job.form), pageCompression=1)
            c.setTitle(f"营业执照{'正本' if job.form == 'original' else '副本'} {job.uscc}")
            left, right = printed_lines(job.details, self.license_templates)
            for n in job.numbers:
                dx = (spec["offset_mm"][0] + job.offset_mm[0]) * mm
                dy = (spec["offset_mm"][1] + job.offset_mm[1]) * mm
                c.saveState()
                c.translate(dx, dy)
                if job.test:
                    self._frame(c, spec)
                self._page(c, spec, job, left, right, n)
                c.restoreState()
                c.showPage()
            c.save()
        return buf.getvalue()

    def _text(self, c: Canvas, x: float, y: float, text: str, size: float) -> None:
        self.fonts.draw(c, x, y, text, size)

    def _wrapped(self, c: Canvas, text: str, x: float, top: float, width: float, room: float, size: float) -> None:
        """``text`` from ``top`` down within ``width`` x ``room`` (points), smaller if it must be."""
        while True:
            lines, line = [], ""
            for ch in text:
                if self.fonts.width(line + ch, size) > width:
                    lines.append(line)
                    line = ch
                else:
                    line += ch
            lines.append(line)
            if len(lines) * size * 1.3 <= room or size <= 6:
                break
            size -= 0.5
        for i, ln in enumerate(lines):
            self._text(c, x, top - size - i * size * 1.3, ln, size)

    def _page(self, c: Canvas, spec: dict[str, Any], job: PrintJob, left: list[PrintedLine],
              right: list[PrintedLine], number: int) -> None:
        size = spec["value_pt"]
        self._text(c, spec["uscc_mm"][0] * mm, spec["uscc_mm"][1] * mm, job.uscc, size + 2)
        self._text(c, spec["serial_mm"][0] * mm, spec["serial_mm"][1] * mm, f"证照编号 {job.serial}", size - 2)
        if job.form == "duplicate":
            self._text(c, spec["number_mm"][0] * mm, spec["number_mm"][1] * mm, f"副本编号 {number}", size - 1)
        for rows, (x, top, width) in ((left, spec["left_mm"]), (right, spec["right_mm"])):
            y = top * mm
            for row in rows:
                if row.value is None:
                    continue
                room = spec["row_mm"] * mm * (3 if row.field == "business_scope" else 1)
                self._wrapped(c, row.value, x * mm, y, width * mm, room, size)
                y -= room
        qx, qy, qs = spec["qr_mm"]
        draw_qr(c, job.verify_url, qx * mm, qy * mm, qs * mm)
        ax, ay = spec["authority_mm"]
        for i, line in enumerate((job.authority, format_date(job.registered_on))):
            w = self.fonts.width(line, size)
            self._text(c, ax * mm - w / 2, ay * mm - i * size * 1.6, line, size)

    @staticmethod
    def _frame(c: Canvas, spec: dict[str, Any]) -> None:
        """The stock's frame and the boxes the items go in (test print only)."""
        c.setStrokeColorRGB(0.6, 0.1, 0.1)
        c.setLineWidth(0.5)
        x, y, w, h = spec["frame_mm"]
        c.rect(x * mm, y * mm, w * mm, h * mm)
        qx, qy, qs = spec["qr_mm"]
        c.rect(qx * mm, qy * mm, qs * mm, qs * mm)
        for bx, top, width in (spec["left_mm"], spec["right_mm"]):
            c.line(bx * mm, top * mm, (bx + width) * mm, top * mm)
