"""The license page's layout, read back from the PDF by poppler (``pdftotext -bbox-layout``: one box per
word, from the fonts' metrics): with the longest items the intake accepts, for every entity kind,
no text leaves its box; the business scope shrinks to :data:`MIN_SIZE` and only then continues on a
page 经营范围（续）, whole; no line breaks against 避头尾; the seal is laid out like a seal, with the
authority's name under it; and the sealed multi-page PDF verifies (pyHanko, pdfsig)."""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from license_service.config import Settings
from license_service.domain.entity import Capital, EntityDetails, EntityKind, Term
from license_service.domain.numerals import CURRENCY_NAMES
from license_service.domain.uscc import Uscc
from license_service.intake import AuthorityIn, EntityIn
from license_service.rendering.fonts import FontSet
from license_service.rendering.license_pdf import FRAME, MIN_SIZE, PAGE_H, PAGE_W, LicensePage, LicenseRenderer
from license_service.rendering.linebreak import NO_LINE_END, NO_LINE_START
from license_service.rendering.seal import SEAL_SIZE, _arc_text, draw_seal_pdf
from signing.keys.files import FileSigners
from signing.keys.public import FilePublicKeys
from tests.conftest import TYPE_CODE, make_uscc
from tests.e2e.validators import pdfsig, pyhanko_status

FOOTER = "核验：https://license.example.cn/v/ · 电子营业执照与纸质营业执照具有同等法律效力"
AUTHORITY = "湘西土家族苗族自治州市场监督管理局"
SCOPE_PATTERN = "农产品种植、收购及销售（不含粮食）；茶叶“初制”加工；《食品经营许可证》范围内经营；"
KINDS = [k.value for k in EntityKind]
_XHTML = "{http://www.w3.org/1999/xhtml}"


def _limit(model: Any, field: str) -> int:
    """The intake's length limit for ``field`` (from its JSON Schema, so the test follows the API)."""
    prop = model.model_json_schema()["properties"][field]
    return int(next(s["maxLength"] for s in prop.get("anyOf", [prop]) if "maxLength" in s))


def _longest(pattern: str, n: int) -> str:
    return (pattern * (n // len(pattern) + 1))[:n]


def _details(kind: str, scope: str, **over: Any) -> EntityDetails:
    k = EntityKind(kind)
    items: dict[str, Any] = dict(
        uscc=Uscc.parse(make_uscc(TYPE_CODE[kind])), kind=k, name="湘西峒河生态农业科技有限公司", entity_type="有限责任公司",
        representative="向喆", established_on=date(2018, 5, 31), business_scope=scope,
        address="湖南省湘西土家族苗族自治州吉首市世纪大道88号",
        capital=Capital(Decimal("350")) if kind in ("company", "cooperative") else None,
        term=Term(date(2018, 5, 31)) if kind in ("company", "branch", "partnership") else None,
        composition="个人经营" if kind == "individual_business" else None)
    items.update(over)
    return EntityDetails(**items)


def _longest_details(kind: str) -> EntityDetails:
    """Every item at the intake's limit (``license_service/intake.py``), the widest money line (the
    largest amount, the longest currency name) and the longest term; a plane-2 character (𠮷, drawn
    by the fallback face) in the name."""
    longest_currency = max(CURRENCY_NAMES, key=lambda c: len(CURRENCY_NAMES[c]))
    return _details(
        kind, _longest(SCOPE_PATTERN, _limit(EntityIn, "business_scope")),
        name=_longest("湘西𠮷祥峒河生态农业科技发展（集团）有限公司", _limit(EntityIn, "name")),
        entity_type=_longest("有限责任公司（自然人投资或控股的法人独资）", _limit(EntityIn, "entity_type")),
        representative=_longest("欧阳·买买提艾力", _limit(EntityIn, "representative")),
        address=_longest("湖南省湘西土家族苗族自治州吉首市世纪大道88号A栋1201室；", _limit(EntityIn, "address")),
        capital=Capital(Decimal("999999999999.999999"), longest_currency) if kind in ("company", "cooperative") else None,
        term=Term(date(2018, 5, 31), date(2199, 12, 31)) if kind in ("company", "branch", "partnership") else None,
        composition="家庭经营" if kind == "individual_business" else None)


@pytest.fixture(scope="module")
def renderer() -> LicenseRenderer:
    return LicenseRenderer(FontSet(), Settings().templates_dir / "license", footer=FOOTER)


def _page(details: EntityDetails, authority: str = AUTHORITY) -> LicensePage:
    return LicensePage(details=details, serial="43310020180531000001", version=1, authority=authority,
                       registered_on=date(2018, 5, 31), verify_url="https://license.example.cn/v/" + "t" * 420,
                       token="t")


@dataclass(frozen=True)
class Word:
    """A word's box in PDF coordinates (origin bottom left, points)."""

    page: int
    line: int  # pdftotext's line, numbered through the document
    x1: float
    y1: float
    x2: float
    y2: float
    text: str

    @property
    def size(self) -> float:
        """The font size it was drawn at: poppler's box is ascent + descent, about 1 em for our faces."""
        return self.y2 - self.y1

    def overlaps(self, box: tuple[float, float, float, float], tol: float = 0.2) -> bool:
        x1, y1, x2, y2 = box
        return self.x1 < x2 - tol and x1 + tol < self.x2 and self.y1 < y2 - tol and y1 + tol < self.y2


def words(pdf: bytes) -> list[Word]:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "l.pdf").write_bytes(pdf)
        xml = subprocess.run(["pdftotext", "-bbox-layout", str(Path(d) / "l.pdf"), "-"], capture_output=True,
                             check=True).stdout
    out: list[Word] = []
    line_no = 0
    for p, page in enumerate(ET.fromstring(xml).iter(f"{_XHTML}page"), start=1):
        height = float(page.attrib["height"])
        for line in page.iter(f"{_XHTML}line"):
            line_no += 1
            for w in line.iter(f"{_XHTML}word"):
                a = {k: float(w.attrib[k]) for k in ("xMin", "yMin", "xMax", "yMax")}
                out.append(Word(p, line_no, a["xMin"], height - a["yMax"], a["xMax"], height - a["yMin"], w.text or ""))
    return out


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _lines(ws: list[Word]) -> list[str]:
    """The words' text line by line, in reading order."""
    by_line: dict[int, list[Word]] = {}
    for w in ws:
        by_line.setdefault(w.line, []).append(w)
    ordered = sorted(by_line.values(), key=lambda ln: (ln[0].page, -max(w.y2 for w in ln)))
    return ["".join(w.text for w in sorted(ln, key=lambda w: w.x1)) for ln in ordered]


def scope_words(ws: list[Word]) -> list[Word]:
    """The business scope's words: on page 1, right of its label and in the left column; on later pages,
    between the heading (title and identifiers) and the footer."""
    label = next(w for w in ws if w.page == 1 and w.text == "经营范围")
    found = [w for w in ws if w.page == 1 and w.x1 > label.x2 and w.x2 < PAGE_W / 2 + 40 and w.y2 <= label.y2 + 0.5]
    for p in sorted({w.page for w in ws} - {1}):
        heading = max(w.y2 for w in ws if w.page == p and "页" in w.text)  # the identifiers' line
        found += [w for w in ws if w.page == p and heading > w.y2 and w.y1 > 44]
    return found


def _footer(ws: list[Word], page: int) -> list[Word]:
    return [w for w in ws if w.page == page and w.y2 < 44]


@pytest.mark.parametrize("kind", KINDS)
def test_the_longest_items_stay_in_their_boxes(renderer: LicenseRenderer, kind: str) -> None:
    """Every item at the intake's limit, a 100-character authority: every word inside the frame, none
    over another, over the footer, the QR code or the seal; nothing under :data:`MIN_SIZE`; the
    2000-character scope continued on page 2, every character of it there once."""
    details = _longest_details(kind)
    authority = _longest(AUTHORITY, _limit(AuthorityIn, "name"))
    r = renderer.render(_page(details, authority))
    ws = words(r.pdf)
    assert r.pages == 2 and {w.page for w in ws} == {1, 2}
    fx1, fy1, fx2, fy2 = FRAME
    for w in ws:
        assert fx1 < w.x1 and w.x2 < fx2 and fy1 < w.y1 and w.y2 < fy2, w
        if w.page == 1:
            assert not w.overlaps(r.qr_box), w
            assert not w.overlaps(r.seal_box), w
        assert w.size >= MIN_SIZE - 0.05, w  # the footer (8 pt) and QR caption (7.5 pt) included
    for page in (1, 2):
        on_page = [w for w in ws if w.page == page]
        for i, a in enumerate(on_page):
            for b in on_page[i + 1:]:
                assert not a.overlaps((b.x1, b.y1, b.x2, b.y2)), (a, b)
        footer = _footer(ws, page)  # baseline 34: its words, and nothing else, below y = 44
        assert _flat("".join(_lines(footer))) == _flat("国家企业信用信息公示系统网址：https://www.gsxt.gov.cn" + FOOTER)
        assert min(w.y1 for w in on_page if w not in footer) > max(w.y2 for w in footer) + 2
    # the QR box is where the code is: zxing finds it there, on page 1 at 100 dpi
    assert all(r.qr_box[0] - 1 <= x <= r.qr_box[2] + 1 and r.qr_box[1] - 1 <= y <= r.qr_box[3] + 1
               for x, y in _qr_corners(r.pdf))
    scope = scope_words(ws)
    assert _flat("".join(_lines(scope))) == _flat(details.business_scope)
    assert {w.page for w in scope} == {1, 2}
    flat = _flat("".join(_lines(ws)))
    assert "（续见第2页）" in flat and "经营范围（续）" in flat and "共2页" in flat
    name = [w for w in ws if w.page == 1 and w.y2 < r.seal_box[1] and w.x1 > PAGE_W / 2 and w not in _footer(ws, 1)]
    assert _flat("".join(_lines(name))) == _flat(authority + "2018年05月31日")  # under the seal: name, date


def _qr_corners(pdf: bytes) -> list[tuple[float, float]]:
    import zxingcpp
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "l.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", str(Path(d) / "l.pdf"),
                        str(Path(d) / "pg")], check=True)
        found = zxingcpp.read_barcodes(Image.open(next(Path(d).glob("pg*.png"))))
    assert len(found) == 1
    p = found[0].position
    return [(pt.x * 72 / 100, PAGE_H - pt.y * 72 / 100)
            for pt in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]


@pytest.mark.parametrize("kind", ["company", "individual_business"])  # the largest and the smallest scope box
def test_page_two_exists_exactly_when_the_scope_does_not_fit_at_the_minimum_size(
        renderer: LicenseRenderer, kind: str) -> None:
    """Longer and longer prefixes of one scope: the longest that stays on one page is printed at
    :data:`MIN_SIZE` (the scope shrank as far as it may before continuing), one character more makes
    page 2; a scope a third as long is larger than the minimum and on one page."""
    full = _longest(SCOPE_PATTERN, 2000)

    def pages(n: int) -> int:
        return renderer.render(_page(_details(kind, full[:n]))).pages

    lo, hi = 1, 2000  # pages(lo) == 1 < pages(hi)
    assert pages(lo) == 1 and pages(hi) == 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if pages(mid) == 1 else (lo, mid)
    one = words(renderer.render(_page(_details(kind, full[:lo]))).pdf)
    two = words(renderer.render(_page(_details(kind, full[:hi]))).pdf)
    assert {w.page for w in one} == {1} and {w.page for w in two} == {1, 2}
    scope = scope_words(one)
    assert _flat("".join(_lines(scope))) == full[:lo]
    assert all(abs(w.size - MIN_SIZE) < 0.1 for w in scope), sorted({round(w.size, 2) for w in scope})
    assert _flat("".join(_lines(scope_words(two)))) == full[:hi]
    short = words(renderer.render(_page(_details(kind, full[:lo // 3]))).pdf)
    assert {w.page for w in short} == {1} and min(w.size for w in scope_words(short)) > MIN_SIZE + 0.4


def _bad_breaks(lines: list[str]) -> list[str]:
    return [line for line in lines if line and (line[0] in NO_LINE_START or line[-1] in NO_LINE_END)]


def test_no_line_starts_with_closing_or_ends_with_opening_punctuation(renderer: LicenseRenderer) -> None:
    """Scopes made of ；and （…） clauses, shifted one character at a time so that every line position
    meets a mark: no printed line of them (nor of any other item) breaks against 避头尾, where cutting
    the same lines anywhere (same number of characters a line: all are 1 em) would, many times over."""
    clauses = "（一）蔬菜、水果（不含鲜活）种植；（二）茶叶（初制）加工；（三）农产品（不含粮食）收购、销售；【许可项目】；"
    naive_bad = 0
    for shift in range(0, 24, 2):
        scope = "甲" * shift + _longest(clauses, 420)
        ws = words(renderer.render(_page(_details("company", scope))).pdf)
        lines = _lines(scope_words(ws))
        assert _flat("".join(lines)) == scope and len(lines) > 10
        assert not _bad_breaks(lines), _bad_breaks(lines)
        assert not _bad_breaks(_lines(ws)), _bad_breaks(_lines(ws))  # nor any other printed line
        per_line = max(len(line) for line in lines)
        naive_bad += len(_bad_breaks([scope[i:i + per_line] for i in range(0, len(scope), per_line)]))
    assert naive_bad > 20


def test_continued_scope_breaks_by_the_rules_on_both_pages(renderer: LicenseRenderer) -> None:
    for shift in (0, 1, 3):
        scope = "甲" * shift + _longest("（一）种植；（二）加工（不含粮食）；", 1990)
        ws = words(renderer.render(_page(_details("partnership", scope))).pdf)
        assert {w.page for w in ws} == {1, 2}
        assert not _bad_breaks(_lines(ws)), _bad_breaks(_lines(ws))
        assert _flat("".join(_lines(scope_words(ws)))) == scope


@pytest.mark.parametrize("n", [6, 8, 10, 17, 24, 40])
def test_the_seal_name_runs_along_the_ring_evenly_over_210_to_240_degrees(n: int) -> None:
    """Geometry of :func:`seal._arc_text` for a seal of :data:`SEAL_SIZE`: the characters' tops just
    inside the ring, equal steps over 210-240 degrees centred on the top, neighbours not touching at
    their feet, all clear of the star."""
    ring = SEAL_SIZE / 2 - 0.028 * SEAL_SIZE / 2 - 0.5
    outer = ring - 0.028 * SEAL_SIZE / 2 - 0.018 * SEAL_SIZE
    arc = _arc_text(n, 1.0, outer, 0.28 * ring)
    assert 210 <= math.degrees(arc.step * n) <= 240
    assert math.isclose(arc.angle(0, n) - math.pi / 2, math.pi / 2 - arc.angle(n - 1, n))  # centred on the top
    assert arc.baseline + 0.8 * arc.size == pytest.approx(outer)  # tops at ``outer``: 2 pt inside the ring
    assert arc.size * arc.scale < arc.step * arc.baseline  # narrower than its place at its foot
    assert arc.baseline - 0.25 * arc.size > 0.34 * ring + 2  # clear of the star


def test_the_seal_is_drawn_red_with_the_name_and_the_page_prints_the_name_under_it(renderer: LicenseRenderer) -> None:
    seal = draw_seal_pdf(renderer.fonts, AUTHORITY)
    texts = _flat("".join(w.text for w in words(seal)))
    assert sorted(texts) == sorted(AUTHORITY)  # each character once, nothing else
    r = renderer.render(_page(_details("company", "茶叶种植")))
    ws = words(r.pdf)
    x1, y1, x2, _ = r.seal_box
    name = next(w for w in ws if w.text == AUTHORITY)
    assert name.y2 < y1 and abs((name.x1 + name.x2) / 2 - (x1 + x2) / 2) < 1  # centred under the seal
    dated = next(w for w in ws if w.text == "2018年05月31日" and w.y2 < name.y1)
    assert abs((dated.x1 + dated.x2) / 2 - (x1 + x2) / 2) < 1


def test_a_sealed_two_page_license_verifies(renderer: LicenseRenderer, keys_dir: Path) -> None:
    """The seal (on page 1) is one certification signature over the whole file, page 2 included."""
    from signing.pdf import PdfSealer

    r = renderer.render(_page(_longest_details("company")))
    assert r.pages == 2
    sealer = PdfSealer(FileSigners(keys_dir).pdf_signing(), seal_appearance=lambda a: draw_seal_pdf(renderer.fonts, a))
    pdf = sealer.seal(r.pdf, box=r.seal_box, authority=AUTHORITY, reason="登记", location="433100", at=datetime.now(UTC))
    roots = FilePublicKeys(keys_dir).roots_pem()
    st = pyhanko_status(pdf, roots)
    assert st.intact and st.valid and st.trusted and st.docmdp_ok and "ENTIRE_FILE" in str(st.coverage)
    out = pdfsig(pdf, roots)
    for want in ("Signature is Valid", "Total document signed"):
        assert want in out, out
    assert {w.page for w in words(pdf)} == {1, 2}
