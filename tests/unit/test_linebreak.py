"""避头尾 (clreq s.3.1.7, JIS X 4051 s.6.1.3): units and greedy filling, on their own (no fonts: every
wide character is 1 em, every narrow one 0.5 em)."""

from __future__ import annotations

import unicodedata

import pytest

from license_service.rendering.linebreak import NO_LINE_END, NO_LINE_START, units, wrap

#: scopes as registration systems write them: enumerations in full-width brackets, clauses ending in ；
DENSE = ("（一）蔬菜、水果（不含鲜活）种植；（二）茶叶“初制”加工；《食品经营许可证》范围内经营；【依法须经批准的项目】；"
         "（三）农产品：收购、销售，仓储（不含危险化学品）。")


def _em(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(c) in ("W", "F", "A") else 0.5 for c in text)


def _violations(lines: list[str]) -> list[str]:
    return [f"line {i}: {line!r}" for i, line in enumerate(lines)
            if line[0] in NO_LINE_START or line[-1] in NO_LINE_END]


def _naive(text: str, width: int) -> list[str]:
    """What breaking between any two characters gives (reportlab's CJK wrap, without its one hanging mark)."""
    return [text[i:i + width] for i in range(0, len(text), width)]


def test_units_join_openers_forward_and_closers_back() -> None:
    assert units("（不含粮食）；茶") == ["（不", "含", "粮", "食）；", "茶"]
    assert units("《食品经营许可证》") == ["《食", "品", "经", "营", "许", "可", "证》"]
    assert units("“初制”加工") == ["“初", "制”", "加", "工"]


def test_units_keep_narrow_runs_marks_and_doubled_dashes_whole() -> None:
    assert units("世纪大道88号A栋") == ["世", "纪", "大", "道", "88", "号", "A", "栋"]
    assert units("粮食,茶叶(鲜)") == ["粮", "食,", "茶", "叶", "(鲜)"]
    assert units("欧阳·娜娜") == ["欧", "阳·", "娜", "娜"]
    assert units("www.gsxt.gov.cn网址") == ["www.gsxt.gov.cn", "网", "址"]
    assert units("甲——乙……") == ["甲", "——", "乙", "……"]
    assert units("Zoe\u0308 Li") == ["Zoe\u0308", " ", "Li"]  # a combining diaeresis stays on its e


@pytest.mark.parametrize("text", [DENSE, DENSE * 3, "甲" + DENSE, "甲乙" + DENSE, "（" * 3 + DENSE + "）" * 3])
def test_units_cover_the_text_exactly(text: str) -> None:
    assert "".join(units(text)) == text


def test_no_line_starts_with_a_closing_or_ends_with_an_opening_mark_at_any_width() -> None:
    text = DENSE * 4
    naive_bad = 0
    for width in range(4, 60):
        lines, rest = wrap(units(text), width, _em)
        assert rest == []
        got = [line.text for line in lines]
        assert "".join(got) == text
        assert not _violations(got), (width, _violations(got))
        assert all(line.width <= width for line in lines)
        assert all(abs(line.width - _em(line.text)) < 1e-9 for line in lines)
        naive_bad += len(_violations(_naive(text, width)))
    assert naive_bad > 50  # the same text broken anywhere: the widths above do test the rule


def test_spaces_break_and_are_dropped_at_line_ends() -> None:
    lines, _ = wrap(units("Ltd Co 甲乙"), 2, _em)
    assert [line.text for line in lines] == ["Ltd", "Co", "甲乙"]


def test_a_unit_wider_than_the_line_is_broken_inside() -> None:
    lines, rest = wrap(units("甲ABCDEFGHIJ乙"), 2, _em)
    assert rest == [] and [line.text for line in lines] == ["甲AB", "CDEF", "GHIJ", "乙"]


def test_max_lines_returns_the_rest_to_continue_elsewhere() -> None:
    text = DENSE * 2
    first, rest = wrap(units(text), 20, _em, max_lines=3)
    assert len(first) == 3
    second, left = wrap(rest, 30, _em)
    assert left == [] and "".join(line.text for line in first + second) == text
    assert not _violations([line.text for line in first + second])
