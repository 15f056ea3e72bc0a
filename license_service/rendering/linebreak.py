"""Line breaking for Chinese text, with the line-start and line-end prohibitions (避头尾, kinsoku).

W3C *Requirements for Chinese Text Layout* (clreq) s.3.1.7 and JIS X 4051:2004 s.6.1.3: a line does not
start with a closing mark (点号 ，。、；：？！, closing brackets and quotes ）」』】》〉”’..., the interpunct ·)
and does not end with an opening one (（「『【《〈“‘...). reportlab's CJK wrapping breaks between any
two characters (and hangs one closing mark past the right edge), so the text is first cut into units
that are never broken, :func:`units`, and lines are filled with whole units, :func:`wrap`:

* an opening mark is joined to what follows it, a closing mark to what precedes it, so ``（不含粮食）；``
  becomes ``（不`` ``含`` ``粮`` ``食）；``;
* a run of narrow (not East Asian Wide or Fullwidth, UAX #11) characters is one unit, its ASCII
  punctuation included: ``2018``, ``3.5``, ``www.a.cn``; a mark on its own between wide characters
  (``粮食,茶叶``) is a closing or opening mark like any other;
* a combining mark stays with its base; the two halves of ``——`` and ``……`` stay together (clreq s.3.1.7,
  分隔禁则);
* a breaking space (Zs other than the no-break ones) is a break opportunity, dropped at a line's ends.

Only a unit wider than the whole line is broken inside (between characters), the one case where the
rules cannot hold. Pure: widths come from the caller's ``advance`` function.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["NO_LINE_END", "NO_LINE_START", "Line", "units", "wrap"]

#: may not start a line: 点号, closing brackets and quotes, 间隔号 and 连接号 (clreq s.3.1.7), their ASCII
#: counterparts
NO_LINE_START = frozenset("，。、；：？！）」』】》〉〕〗］｝”’·・．～%,.;:?!)]}")
#: may not end a line: opening brackets and quotes (clreq s.3.1.7), their ASCII counterparts
NO_LINE_END = frozenset("（「『【《〈〔〖［｛“‘([{")
_INSEPARABLE = frozenset("—…⋯")  # two-em dash and ellipsis: written doubled, never split
_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f")
_EPSILON = 1e-9


@dataclass(frozen=True)
class Line:
    """One line of a wrapped paragraph: its ``text`` and ``width`` (the caller's units)."""

    text: str
    width: float


def _is_space(s: str) -> bool:
    """``s`` is one breaking space (each is an atom and a unit of its own)."""
    return len(s) == 1 and unicodedata.category(s) == "Zs" and s not in _NO_BREAK_SPACES


def _narrow(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) not in ("W", "F") and ch not in _INSEPARABLE


def _atoms(text: str) -> list[str]:
    """``text`` cut where a break might be allowed: narrow runs, runs of one inseparable mark,
    single characters otherwise; combining marks stay with their base; spaces stand alone."""
    out: list[str] = []
    for ch in text:
        if out and not _is_space(ch) and not _is_space(out[-1][-1]):
            prev = out[-1][-1]
            if (unicodedata.category(ch).startswith("M") or (_narrow(ch) and _narrow(prev))
                    or (ch in _INSEPARABLE and ch == prev)):
                out[-1] += ch
                continue
        out.append(ch)
    return out


def units(text: str) -> list[str]:
    """``text`` as the units lines are made of (their concatenation is ``text``): an opening mark
    joined to the unit after it, a closing mark to the unit before it, each space a unit of its own."""
    out: list[str] = []
    glue = False  # the previous atom ends with an opening mark: what follows joins it
    for atom in _atoms(text):
        if _is_space(atom):
            out.append(atom)
            glue = False
            continue
        if out and not _is_space(out[-1]) and (glue or atom[0] in NO_LINE_START):
            out[-1] += atom
        else:
            out.append(atom)
        glue = atom[-1] in NO_LINE_END
    return out


def _chars(unit: str) -> list[str]:
    """A unit's characters, each with the combining marks after it (for a unit wider than a line)."""
    out: list[str] = []
    for ch in unit:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def wrap(parts: Sequence[str], width: float, advance: Callable[[str], float],
         max_lines: int | None = None) -> tuple[list[Line], list[str]]:
    """Fill lines of at most ``width`` greedily with the units ``parts`` (from :func:`units`).

    Returns the lines (at most ``max_lines``) and the units that did not fit, to continue in another
    box. Spaces at a line's start and end are dropped. ``advance(unit)`` is a unit's width.
    """
    lines: list[Line] = []
    cur: list[str] = []
    cur_w = 0.0
    spaces: list[str] = []  # spaces after the current line's last unit: kept only if a unit follows
    spaces_w = 0.0
    queue = list(reversed(parts))
    while queue:
        if max_lines is not None and len(lines) >= max_lines:
            break
        unit = queue.pop()
        if _is_space(unit):
            if cur:
                spaces.append(unit)
                spaces_w += advance(unit)
            continue
        w = advance(unit)
        if w > width + _EPSILON and len(unit) > 1:
            pieces = _chars(unit)
            if len(pieces) > 1:  # wider than any line: the one place a unit is broken
                queue.extend(reversed(pieces))
                continue
        if cur and cur_w + spaces_w + w > width + _EPSILON:
            lines.append(Line("".join(cur), cur_w))
            cur, cur_w, spaces, spaces_w = [], 0.0, [], 0.0
            queue.append(unit)
            continue
        cur.extend(spaces)
        cur.append(unit)
        cur_w += spaces_w + w
        spaces, spaces_w = [], 0.0
    if cur:  # (a line is only begun while fewer than max_lines are made)
        lines.append(Line("".join(cur), cur_w))
    return lines, list(reversed(queue))
