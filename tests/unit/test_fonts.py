"""The font chain reads only what it needs: the fallback faces' coverage and metrics at start-up (the
same as reportlab's own parse), the faces themselves on the first character that needs them, and the
files through a memory map, with subsets byte-identical to reportlab's."""

from __future__ import annotations

import pytest
from reportlab.pdfbase import ttfonts

from license_service.rendering.fonts import DEFAULT_FONT_FILES, FontSet
from license_service.rendering.truetype import MappedTTFont, summary

WQY, HANA_A, HANA_B = DEFAULT_FONT_FILES
EXT_A = "\u3400"  # 㐀, CJK Ext-A: not in WenQuanYi Micro Hei, in HanaMin A
PLANE_2 = "\U00020bb7"  # 𠮷: HanaMin A has it too (the first face in the chain that does)
EXT_B = "\U00020001"  # 𠀁, plane 2: only HanaMin B


@pytest.mark.parametrize("path, index", DEFAULT_FONT_FILES, ids=["wqy", "hanamin-a", "hanamin-b"])
def test_the_summary_is_reportlabs_own_reading_of_the_face(path: str, index: int) -> None:
    face = ttfonts.TTFontFace(path, subfontIndex=index)
    known = summary(path, index)
    assert known is not None  # formats 4 and 12: every default face is summarised, none loaded for it
    assert set(known.cmap) == {c for c, g in face.charToGlyph.items() if g}
    assert len(known.cmap) == len(face.charToGlyph)
    assert (known.ascent, known.descent) == (face.ascent, face.descent)


def test_only_the_primary_face_is_loaded_until_a_character_needs_a_fallback() -> None:
    fonts = FontSet()
    primary, a, b = (f"ELicenseF{i}-{n}" for i, n in enumerate(("wqy-microhei", "HanaMinA", "HanaMinB")))
    assert fonts.loaded == (primary,)
    # refusing unrenderable text at intake needs the cmaps only
    assert fonts.missing(f"湘西{PLANE_2}祥{EXT_A}{EXT_B}") == ""
    assert fonts.missing("\U000e0001\ufffe") == "\U000e0001\ufffe"
    assert fonts.loaded == (primary,)
    assert fonts.face_for(EXT_B) == b
    assert fonts.loaded == (primary, b)
    assert fonts.advance(PLANE_2) > 0  # measuring loads too
    assert fonts.loaded == (primary, a, b)
    assert fonts.face_for(PLANE_2) == fonts.face_for(EXT_A) == a
    assert fonts.runs(f"吉{EXT_B}") == [(primary, "吉"), (b, EXT_B)]


def test_the_chain_metrics_do_not_depend_on_what_is_loaded() -> None:
    faces = [ttfonts.TTFontFace(p, subfontIndex=i) for p, i in DEFAULT_FONT_FILES]
    fonts = FontSet()
    assert fonts.ascent == max(f.ascent / 1000 for f in faces)
    assert fonts.descent == max(-f.descent / 1000 for f in faces)


@pytest.mark.parametrize("path, index, text", [
    (*WQY, "中华人民共和国营业执照统一社会信用代码ABC123（）·½¼"),  # ½ ¼: composite glyphs
    (*HANA_A, f"{EXT_A}\u3401\u4dB5齋"),
    (*HANA_B, f"{EXT_B}{PLANE_2}\U0002a6d6"),
], ids=["wqy", "hanamin-a", "hanamin-b"])
def test_a_mapped_face_embeds_the_same_subset_as_reportlabs(path: str, index: int, text: str) -> None:
    mapped = MappedTTFont("MappedTest", path, index)
    plain = ttfonts.TTFont("PlainTest", path, subfontIndex=index)
    codes = [0, 32, *map(ord, text)]
    assert mapped.face.makeSubset(codes) == plain.face.makeSubset(codes)
    assert mapped.stringWidth(text, 10) == plain.stringWidth(text, 10)
