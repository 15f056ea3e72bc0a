"""Person-entered text (a name, an address, the business scope, a reason): the one rule it must meet
before the registry stores, prints or signs it.

The text is NFC-normalised (Unicode Standard Annex #15), so that canonically equivalent spellings
(``e`` + U+0301 and ``é``; Hangul jamo and the syllable they spell) are one string on the page, in
the PDF and in the signed record. It is refused if it holds any character of these Unicode general
categories (UAX #44 s.5.7.1), each with its own rule code:

================  ===========================  ==============================================================
categories        rule code                    why, with examples
================  ===========================  ==============================================================
Cc                ``text.control_character``   C0/C1 controls: NUL (PostgreSQL cannot store it), TAB, LF, CR,
                                               ESC, DEL, NEL (U+0085). A license line is one line; a control
                                               breaks it or is invisible.
Cf                ``text.format_character``    invisible format characters: ZERO WIDTH SPACE U+200B, ZWNJ/ZWJ
                                               U+200C/D, the BOM U+FEFF, SOFT HYPHEN U+00AD, the bidi controls
                                               (LRE RLE PDF LRO RLO U+202A-202E, LRI RLI FSI PDI U+2066-2069,
                                               LRM RLM U+200E/F, ALM U+061C), tag characters U+E0001-E007F. They
                                               make a name look identical to another one, or display it in a
                                               different order on the page than in the PDF.
Zl, Zp            ``text.line_separator``      LINE SEPARATOR U+2028, PARAGRAPH SEPARATOR U+2029: they move the
                                               rest of a field onto a line of its own (under a "valid" banner).
Co                ``text.private_use``         private-use characters (U+E000-F8FF, planes 15-16): no agreed
                                               meaning, no glyph anyone else can check.
Cs, Cn            ``text.unassigned``          lone surrogates (U+D800-DFFF, which JSON ``\\ud800`` escapes
                                               can carry) and code points unassigned in the Unicode version
                                               of this Python (:data:`UNICODE_VERSION`), incl. noncharacters
                                               such as U+FFFF: not characters anyone can read.
================  ===========================  ==============================================================

Everything else is allowed, including ordinary spaces (Zs: U+0020, U+3000 IDEOGRAPHIC SPACE),
combining marks and letters of right-to-left scripts; pages isolate person-entered text in ``<bdi>``
so that such letters cannot reorder what surrounds them.

NFC maps no character into or out of these categories (no refused character has a canonical
decomposition, and canonical decompositions consist of assigned letters, marks and symbols), so the
verdict is the same before and after normalising; the text is scanned as received so that a
refusal's position is the sender's own.
"""

from __future__ import annotations

import unicodedata

from .errors import FieldError

__all__ = ["REFUSED", "UNICODE_VERSION", "person_text"]

#: the Unicode version whose character database decides the categories (Python's ``unicodedata``)
UNICODE_VERSION = unicodedata.unidata_version

#: general category -> (rule code, what such a character is, for the refusal's detail)
REFUSED: dict[str, tuple[str, str]] = {
    "Cc": ("text.control_character", "a control character (Cc)"),
    "Cf": ("text.format_character", "an invisible format character (Cf)"),
    "Zl": ("text.line_separator", "a line separator (Zl)"),
    "Zp": ("text.line_separator", "a paragraph separator (Zp)"),
    "Co": ("text.private_use", "a private-use character (Co)"),
    "Cs": ("text.unassigned", "a lone surrogate (Cs)"),
    "Cn": ("text.unassigned", f"unassigned in Unicode {UNICODE_VERSION} (Cn)"),
}

# controls have no character name (UnicodeData.txt says "<control>"); the formal aliases of the usual ones
_CONTROL_NAMES = {0x00: "NULL", 0x09: "CHARACTER TABULATION", 0x0A: "LINE FEED", 0x0B: "LINE TABULATION",
                  0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE", 0x85: "NEXT LINE"}


def _described(ch: str) -> str:
    """``U+200B ZERO WIDTH SPACE``; ``U+0000 NULL``; ``U+E000 <private use>`` when it has no name."""
    cp = ord(ch)
    name = unicodedata.name(ch, "") or _CONTROL_NAMES.get(cp, "")
    if not name:
        name = {"Cc": "<control>", "Co": "<private use>", "Cs": "<surrogate>"}.get(unicodedata.category(ch),
                                                                                 "<unassigned>")
    return f"U+{cp:04X} {name}"


def person_text(text: str, *, field: str) -> str:
    """``text`` NFC-normalised, or a refusal if it holds a character of a refused category.

    Leading and trailing characters are not exempt: a trailing LF is refused like any other (the
    caller may strip spaces afterwards). Pure; no length limit (the caller's contract sets one).

    Raises :class:`FieldError` on ``field`` for the first refused character, with the rule code of
    its category (see the module's table) and a detail naming the code point, its position in
    ``text`` as received (1-based, in code points) and how many more refused characters follow.
    """
    refused = [(i, ch) for i, ch in enumerate(text) if unicodedata.category(ch) in REFUSED]
    if refused:
        i, ch = refused[0]
        code, what = REFUSED[unicodedata.category(ch)]
        more = f" (and {len(refused) - 1} more refused)" if len(refused) > 1 else ""
        raise FieldError(field, code, f"{_described(ch)} at character {i + 1} is {what}{more}")
    return unicodedata.normalize("NFC", text)
