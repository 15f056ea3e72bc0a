"""CJK fonts for license documents, with per-character fallback.

reportlab embeds subset TrueType fonts fast but cannot load CFF (OpenType/PS) fonts, so the chain is
TrueType: WenQuanYi Micro Hei for the common hanzi, then HanaMin A (BMP incl. CJK Ext-A) and
HanaMin B (plane 2: Ext-B and beyond, e.g. 𠮷 U+20BB7). Every character is checked against the
fonts' cmaps before rendering: a character no font can draw is refused, never printed as a blank.

Memory (see docs/benchmarks.md): only the primary face is loaded at start-up. The fallback faces --
each 23-31 MB of file and as much again in reportlab's per-glyph tables -- serve the rare characters
the common face lacks, so of them only the cmap and metrics are read (:mod:`.truetype`) until a text
needs one; every face is read through a memory map.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts

from ..domain.errors import FieldError
from .truetype import CodePoints, MappedTTFont, summary

__all__ = ["DEFAULT_FONT_FILES", "FontSet", "UnrenderableText"]

#: (path, face index in a collection); Debian packages fonts-wqy-microhei and fonts-hanazono.
DEFAULT_FONT_FILES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf", 0),
    ("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf", 0),
)


def _utf16_cmap(fontname: str, subset: Sequence[int]) -> str:
    """ToUnicode CMap (ISO 32000-1 s.9.10.3) with destination strings in UTF-16BE.

    reportlab's own writes ``<%04X>``, which turns a plane-2 code point such as U+20BB7 into five hex
    digits that readers misparse (pdftotext reads U+20BB); here such code points become surrogate
    pairs, as the standard requires.
    """
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo", f"<< /Registry ({fontname})", f"/Ordering ({fontname})",
        "/Supplement 0", ">> def", f"/CMapName /{fontname} def", "/CMapType 2 def",
        "1 begincodespacerange", f"<00> <{len(subset) - 1:02X}>", "endcodespacerange",
        f"{len(subset)} beginbfchar",
    ]
    lines += [f"<{i:02X}> <{chr(v).encode('utf-16-be').hex().upper()}>" for i, v in enumerate(subset)]
    lines += ["endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines)


ttfonts.makeToUnicodeCMap = _utf16_cmap  # see _utf16_cmap; guarded by the U+20BB7 extraction test


class UnrenderableText(FieldError):
    """A field holds characters that no configured font can draw."""

    def __init__(self, field: str, chars: str) -> None:
        listed = ", ".join(f"{c} (U+{ord(c):04X})" for c in chars)
        super().__init__(field, "text.unrenderable", f"no embedded font can draw {listed}")


@dataclass(frozen=True)
class _Face:
    name: str
    path: str
    index: int
    cmap: CodePoints | frozenset[int]


class FontSet:
    """An ordered chain of TrueType faces registered with reportlab (each loaded once per process, the
    fallback faces on first need)."""

    def __init__(self, files: Sequence[tuple[str, int]] = DEFAULT_FONT_FILES) -> None:
        """Raises ``FileNotFoundError`` naming a missing font file."""
        faces = []
        ascent = descent = 0.0
        self._ready: set[str] = set()
        self._loading = threading.Lock()
        for i, (path, index) in enumerate(files):
            name = f"ELicenseF{i}-{Path(path).stem}"
            if not Path(path).exists():
                raise FileNotFoundError(
                    f"font {path} is missing: install Debian's fonts-wqy-microhei and fonts-hanazono"
                )
            known = summary(path, index)
            if known is None:  # a cmap format read only by reportlab: load the face now
                face = self._load(name, path, index).face
                cmap: CodePoints | frozenset[int] = frozenset(c for c, g in face.charToGlyph.items() if g)
                top, bottom = face.ascent, face.descent
            else:
                cmap, top, bottom = known.cmap, known.ascent, known.descent
            faces.append(_Face(name, path, index, cmap))
            ascent = max(ascent, top / 1000)
            descent = max(descent, -bottom / 1000)
        self._faces = tuple(faces)
        self._load(faces[0].name, faces[0].path, faces[0].index)  # the primary draws nearly everything
        self._cache: dict[str, _Face | None] = {}
        self._advances: dict[str, float] = {}
        #: the highest ascent and deepest descent of the faces (em): a line's ink lies within
        #: [baseline - descent * size, baseline + ascent * size]
        self.ascent = ascent
        self.descent = descent
        #: Held while a reportlab document using these fonts is built: reportlab keeps its TrueType
        #: subsetting state on the (process-wide) font objects, and two documents at once corrupt it.
        self.lock = threading.Lock()

    def _load(self, name: str, path: str, index: int) -> ttfonts.TTFont:
        """The face registered with reportlab under ``name``, loading it if no FontSet has (fonts are
        process-wide: reportlab's registry holds them)."""
        with self._loading:
            if name in pdfmetrics.getRegisteredFontNames():
                font = pdfmetrics.getFont(name)
            else:
                font = MappedTTFont(name, path, index)
                pdfmetrics.registerFont(font)
            self._ready.add(name)
            return font

    @property
    def loaded(self) -> tuple[str, ...]:
        """The faces this set has made ready for drawing so far, in chain order."""
        return tuple(f.name for f in self._faces if f.name in self._ready)

    @property
    def primary(self) -> str:
        return self._faces[0].name

    def _find(self, ch: str) -> _Face | None:
        """The first face that has a glyph for ``ch`` (whitespace: the primary face), loaded or not."""
        try:
            return self._cache[ch]
        except KeyError:
            pass
        cp = ord(ch)
        found = self._faces[0] if ch.isspace() else next((f for f in self._faces if cp in f.cmap), None)
        self._cache[ch] = found
        return found

    def face_for(self, ch: str) -> str | None:
        """The first face that has a glyph for ``ch`` (whitespace: the primary face), loaded for
        drawing and measuring (a fallback face on the first character that needs it)."""
        face = self._find(ch)
        if face is None:
            return None
        if face.name not in self._ready:
            self._load(face.name, face.path, face.index)
        return face.name

    def missing(self, text: str) -> str:
        """The distinct characters of ``text`` that no face can draw, in order of appearance (loads
        nothing: the cmaps are known from start-up)."""
        return "".join(dict.fromkeys(c for c in text if self._find(c) is None))

    def runs(self, text: str) -> list[tuple[str, str]]:
        """Split ``text`` into (face, substring) runs. Characters without a face must have been
        refused by :meth:`missing` first; they raise ``KeyError`` here."""
        out: list[tuple[str, str]] = []
        for ch in text:
            face = self.face_for(ch)
            if face is None:
                raise KeyError(ch)
            if out and out[-1][0] == face:
                out[-1] = (face, out[-1][1] + ch)
            else:
                out.append((face, ch))
        return out

    def advance(self, text: str) -> float:
        """The width of ``text`` at size 1 (em), each character in the face :meth:`runs` gives it."""
        total = 0.0
        for ch in text:
            try:
                total += self._advances[ch]
            except KeyError:
                face = self.face_for(ch)
                if face is None:
                    raise KeyError(ch) from None
                w = self._advances[ch] = pdfmetrics.stringWidth(ch, face, 1.0)
                total += w
        return total

    def width(self, text: str, size: float) -> float:
        return float(sum(pdfmetrics.stringWidth(s, face, size) for face, s in self.runs(text)))

    def draw(self, canvas: object, x: float, y: float, text: str, size: float, char_space: float = 0.0) -> float:
        """Draw a single line at (x, y) switching faces per run, ``char_space`` points added after each
        character (PDF ``Tc``: justification); returns the width drawn."""
        start = x
        for face, s in self.runs(text):
            canvas.setFont(face, size)  # type: ignore[attr-defined]
            canvas.drawString(x, y, s, charSpace=char_space)  # type: ignore[attr-defined]
            x += pdfmetrics.stringWidth(s, face, size) + char_space * len(s)
        return x - start
