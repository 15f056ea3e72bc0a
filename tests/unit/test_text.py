"""Person-entered text (license_service/domain/text.py): NFC-normalised, and refused, naming the code
point, if it holds a control, format, separator, private-use or unassigned character."""

from __future__ import annotations

import unicodedata

import pytest

from license_service.domain.errors import FieldError
from license_service.domain.text import REFUSED, person_text

# (character, rule, how the refusal names it): the characters of the security finding, and their kin
HOSTILE = [
    ("\x00", "text.control_character", "U+0000 NULL"),
    ("\t", "text.control_character", "U+0009 CHARACTER TABULATION"),
    ("\n", "text.control_character", "U+000A LINE FEED"),
    ("\r", "text.control_character", "U+000D CARRIAGE RETURN"),
    ("\x1b", "text.control_character", "U+001B ESCAPE"),
    ("\x85", "text.control_character", "U+0085 NEXT LINE"),
    ("\x9b", "text.control_character", "U+009B <control>"),
    ("\u200b", "text.format_character", "U+200B ZERO WIDTH SPACE"),
    ("\u200c", "text.format_character", "U+200C ZERO WIDTH NON-JOINER"),
    ("\u200d", "text.format_character", "U+200D ZERO WIDTH JOINER"),
    ("\ufeff", "text.format_character", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("\u00ad", "text.format_character", "U+00AD SOFT HYPHEN"),
    ("\u202a", "text.format_character", "U+202A LEFT-TO-RIGHT EMBEDDING"),
    ("\u202b", "text.format_character", "U+202B RIGHT-TO-LEFT EMBEDDING"),
    ("\u202c", "text.format_character", "U+202C POP DIRECTIONAL FORMATTING"),
    ("\u202d", "text.format_character", "U+202D LEFT-TO-RIGHT OVERRIDE"),
    ("\u202e", "text.format_character", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u2066", "text.format_character", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\u2067", "text.format_character", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("\u2068", "text.format_character", "U+2068 FIRST STRONG ISOLATE"),
    ("\u2069", "text.format_character", "U+2069 POP DIRECTIONAL ISOLATE"),
    ("\u200e", "text.format_character", "U+200E LEFT-TO-RIGHT MARK"),
    ("\u200f", "text.format_character", "U+200F RIGHT-TO-LEFT MARK"),
    ("\u061c", "text.format_character", "U+061C ARABIC LETTER MARK"),
    ("\U000e0041", "text.format_character", "U+E0041 TAG LATIN CAPITAL LETTER A"),
    ("\u2028", "text.line_separator", "U+2028 LINE SEPARATOR"),
    ("\u2029", "text.line_separator", "U+2029 PARAGRAPH SEPARATOR"),
    ("\ue000", "text.private_use", "U+E000 <private use>"),
    ("\U000f0000", "text.private_use", "U+F0000 <private use>"),
    ("\ud800", "text.unassigned", "U+D800 <surrogate>"),
    ("\uffff", "text.unassigned", "U+FFFF <unassigned>"),
    ("\u0378", "text.unassigned", "U+0378 <unassigned>"),
]


@pytest.mark.parametrize("ch,rule,named", HOSTILE, ids=[f"U+{ord(h[0]):04X}" for h in HOSTILE])
@pytest.mark.parametrize("where", ["middle", "start", "end"])
def test_a_hostile_character_anywhere_is_refused_naming_it(ch: str, rule: str, named: str, where: str) -> None:
    text = {"middle": f"湘西{ch}峒河公司", "start": f"{ch}湘西峒河公司", "end": f"湘西峒河公司{ch}"}[where]
    with pytest.raises(FieldError) as e:
        person_text(text, field="entity.name")
    assert e.value.field == "entity.name" and e.value.code == rule
    assert named in e.value.detail
    assert f"at character {text.index(ch) + 1} " in e.value.detail


def test_the_first_refused_character_is_named_and_the_rest_counted() -> None:
    with pytest.raises(FieldError) as e:
        person_text("ab\u200bc\u202ed\x00", field="reason")
    assert e.value.code == "text.format_character"
    assert e.value.detail.startswith("U+200B ZERO WIDTH SPACE at character 3 ") and "(and 2 more refused)" in \
        e.value.detail


@pytest.mark.parametrize("given,stored", [
    ("Cafe\u0301 Lumie\u0300re", "Café Lumière"),  # combining accents compose
    ("\u1112\u1161\u11ab\u1100\u116e\u11a8", "한국"),  # Hangul jamo compose into syllables
    ("\u212b", "\u00c5"),  # ANGSTROM SIGN is canonically the letter Å
])
def test_text_is_nfc_normalised(given: str, stored: str) -> None:
    assert person_text(given, field="entity.name") == stored


@pytest.mark.parametrize("text", [
    "有限责任公司（自然人投资或控股）",  # full-width brackets stay: NFC, not NFKC, which would change the name
    "湘西　峒河",  # IDEOGRAPHIC SPACE (Zs) is ordinary text
    " 前后空格 ",  # spaces are not this rule's business (the contract strips them)
    "𠮷野家",  # plane 2 hanzi
    "מסעדה شركة",  # right-to-left letters are allowed; pages isolate them in <bdi>
    "Café",
])
def test_ordinary_text_passes_unchanged(text: str) -> None:
    assert person_text(text, field="entity.name") == text


def test_the_refused_categories_are_exactly_the_documented_ones() -> None:
    assert set(REFUSED) == {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}


def test_normalising_moves_no_character_into_or_out_of_the_refused_categories() -> None:
    """Why the text can be scanned as received (positions are the sender's own) and still hold the
    rule after NFC: checked over every character with a canonical decomposition."""
    decomposable = [c for c in map(chr, range(0x110000))
                    if unicodedata.decomposition(c) and not unicodedata.decomposition(c).startswith("<")]
    assert decomposable
    for c in decomposable:
        assert (unicodedata.category(c) in REFUSED) == any(
            unicodedata.category(x) in REFUSED for x in unicodedata.normalize("NFC", c)), f"U+{ord(c):04X}"
