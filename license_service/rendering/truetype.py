"""TrueType files read through a read-only memory map instead of into memory.

reportlab's ``TTFont`` reads the whole file into a ``bytes`` object and keeps it, and copies the whole
``glyf`` table again for every subset it embeds: for the fallback CJK faces that is 23 and 31 MB held
per worker, plus as much again for every document that uses them. Here the file is mapped: the kernel
brings in only the pages actually read (the header tables, and the outlines of the glyphs used), and
they are the page cache's, shared by every worker.

:func:`summary` reads what deciding which face draws a character needs -- the Unicode cmap's coverage
and the vertical metrics -- without building reportlab's per-glyph tables (tens of MB for a face of
40,000-60,000 glyphs), so a face that is rarely needed can be loaded (:class:`MappedTTFont`) only
when it is.
"""

from __future__ import annotations

import mmap
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase import ttfonts

__all__ = ["CodePoints", "FaceSummary", "MappedTTFont", "summary"]

_UNICODE_SIZE = 0x110000


class CodePoints:
    """A set of Unicode code points as a bitmap (136 KiB whatever the count; a ``frozenset`` of 60,000
    code points beyond the small-int cache is about 4 MB)."""

    __slots__ = ("_bits", "_count")

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        """``ranges``: inclusive (first, last) pairs, possibly overlapping."""
        bits = bytearray(_UNICODE_SIZE // 8)
        for first, last in ranges:
            for cp in range(max(first, 0), min(last, _UNICODE_SIZE - 1) + 1):
                bits[cp >> 3] |= 1 << (cp & 7)
        self._bits = bytes(bits)
        self._count = sum(b.bit_count() for b in self._bits)

    def __contains__(self, cp: object) -> bool:
        return isinstance(cp, int) and 0 <= cp < _UNICODE_SIZE and bool(self._bits[cp >> 3] & (1 << (cp & 7)))

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        return (i * 8 + j for i, b in enumerate(self._bits) if b for j in range(8) if b & (1 << j))


@dataclass(frozen=True)
class FaceSummary:
    """What choosing a face for a character needs: ``cmap`` holds the code points the face maps to a
    glyph other than .notdef (glyph 0, which draws a blank or a box); ``ascent`` and ``descent`` are
    reportlab's (OS/2 sTypoAscender and sTypoDescender, in 1/1000 em), so that a face loaded later
    lays out exactly as it would have if loaded at once."""

    cmap: CodePoints
    ascent: float
    descent: float


class _MappedFile:
    """A file object for reportlab's parser whose ``read()`` is a read-only map of the file
    (reportlab: "file can be a filename or a file object")."""

    def __init__(self, path: str) -> None:
        self.name = path

    def read(self) -> mmap.mmap:
        with open(self.name, "rb") as f:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def summary(path: str, index: int = 0) -> FaceSummary | None:
    """The coverage and metrics of face ``index`` of the TrueType file (or collection) at ``path``,
    read from a memory map: only the header tables and the cmap are touched. ``None`` when the
    face's Unicode cmap is in a format other than 4 (BMP segments) or 12 (segmented coverage, for
    the supplementary planes): then load it whole and ask reportlab. Raises reportlab's
    ``TTFError`` for a file that is not a TrueType font."""
    face = ttfonts.TTFontFile(_MappedFile(path), charInfo=0, subfontIndex=index)
    data: mmap.mmap = face._ttf_data
    cmap_at, _ = face.get_table_pos("cmap")
    ranges = _cmap_ranges(data, cmap_at)
    if ranges is None:
        return None
    if any(a <= 0x20 <= b or a <= 0xA0 <= b for a, b in ranges):
        # reportlab maps U+0020 and U+00A0 to each other's glyph when a font has only one of them
        ranges += [(0x20, 0x20), (0xA0, 0xA0)]
    return FaceSummary(CodePoints(ranges), face.ascent, face.descent)


def _cmap_ranges(data: mmap.mmap, cmap_at: int) -> list[tuple[int, int]] | None:
    """The code points mapped to a glyph other than 0 by the Unicode subtable reportlab would pick
    (the same rule as its ``extractInfo``: the last of the records that qualify), as ranges."""
    version, count = struct.unpack_from(">HH", data, cmap_at)
    if count == 0 and version != 0:  # reportlab tolerates the two fields swapped
        count = version
    chosen = None
    rank = 0
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHL", data, cmap_at + 4 + 8 * i)
        if platform == 3 or (platform == 1 and encoding == 1) or (platform == 0 and encoding != 5):
            rank, chosen = 1, offset
        elif platform == 1 and encoding == 0 and rank != 1:
            rank, chosen = 2, offset
    if chosen is None or rank != 1:  # none, or Mac Roman only: not a Unicode map
        return None
    at = cmap_at + chosen
    (fmt,) = struct.unpack_from(">H", data, at)
    if fmt == 4:
        return _format4(data, at)
    if fmt == 12:
        return _format12(data, at)
    return None


def _format4(data: mmap.mmap, at: int) -> list[tuple[int, int]]:
    """OpenType cmap format 4 (segment mapping to delta values), read as reportlab reads it."""
    length, _, seg_x2 = struct.unpack_from(">HHH", data, at + 2)
    n = seg_x2 // 2
    ends = struct.unpack_from(f">{n}H", data, at + 14)
    starts = struct.unpack_from(f">{n}H", data, at + 16 + seg_x2)
    deltas = struct.unpack_from(f">{n}h", data, at + 16 + 2 * seg_x2)
    range_at = at + 16 + 3 * seg_x2
    range_offsets = struct.unpack_from(f">{n}H", data, range_at)
    limit = at + length
    out: list[tuple[int, int]] = []
    for s in range(n):
        start, end, delta, ro = starts[s], ends[s], deltas[s], range_offsets[s]
        if ro == 0:
            # one glyph id is 0: the code point whose delta wraps to it
            zero = (-delta) & 0xFFFF
            if start <= zero <= end:
                out += [(start, zero - 1), (zero + 1, end)]
            else:
                out.append((start, end))
            continue
        for cp in range(start, end + 1):
            where = range_at + 2 * s + ro + 2 * (cp - start)
            if where < limit:
                (glyph,) = struct.unpack_from(">H", data, where)
                if glyph and (glyph + delta) & 0xFFFF:
                    out.append((cp, cp))
    return out


def _format12(data: mmap.mmap, at: int) -> list[tuple[int, int]]:
    """OpenType cmap format 12 (segmented coverage): (first, last, first glyph) groups."""
    (groups,) = struct.unpack_from(">L", data, at + 12)
    out = []
    for first, last, glyph in struct.iter_unpack(">LLL", data[at + 16:at + 16 + 12 * groups]):
        if glyph == 0:  # only the group's first code point maps to .notdef
            first += 1
        if first <= last:
            out.append((first, last))
    return out


class _Window:
    """A slice of the map that is copied only piece by piece: what reportlab's subsetter does with
    the ``glyf`` table is take each used glyph's bytes from it."""

    __slots__ = ("_data", "_start")

    def __init__(self, data: mmap.mmap, start: int) -> None:
        self._data = data
        self._start = start

    def __getitem__(self, s: slice) -> bytes:
        if not isinstance(s, slice) or s.step is not None or s.start is None or s.stop is None:
            raise TypeError("only [start:stop] slices of the glyf table are read")
        return self._data[self._start + s.start:self._start + s.stop]


class _MappedFace(ttfonts.TTFontFace):  # type: ignore[misc]  # reportlab is untyped
    """reportlab's face, whose ``glyf`` table is a window on the map: its ``makeSubset`` would
    otherwise copy the whole table (4-28 MB) for every document, to take a few kilobytes from it."""

    def get_table(self, tag: str) -> Any:
        if tag == "glyf":
            return _Window(self._ttf_data, self.get_table_pos(tag)[0])
        return super().get_table(tag)


class _Metrics:
    """reportlab's ``hmetrics`` -- (advance, left side bearing) per glyph, which only the subsetter
    reads, each pair as ``int(advance), lsb`` as it writes them -- in two arrays: 8 bytes a glyph
    instead of a tuple and its numbers (about 90)."""

    __slots__ = ("_advances", "_bearings")

    def __init__(self, pairs: list[tuple[float, int]]) -> None:
        self._advances = array("I", (int(aw) for aw, _ in pairs))
        self._bearings = array("H", (lsb for _, lsb in pairs))

    def __getitem__(self, glyph: int) -> tuple[int, int]:
        return self._advances[glyph], self._bearings[glyph]

    def __len__(self) -> int:
        return len(self._advances)


class MappedTTFont(ttfonts.TTFont):  # type: ignore[misc]  # reportlab is untyped
    """reportlab's ``TTFont`` for face ``index`` of ``path``, reading the file through a memory map,
    its per-glyph tables compacted (a CJK face: 9-14 MB less each)."""

    def __init__(self, name: str, path: str, index: int = 0) -> None:
        # shaping (uharfbuzz; not installed) off for good: it is what reads the glyph-to-characters table
        super().__init__(name, _MappedFile(path), subfontIndex=index, shapable=False)
        face = self.face
        # the same face, plus the glyf window (a method only: no state of its own to initialise)
        face.__class__ = _MappedFace
        # what only the subsetter reads, in arrays; what the C string-width code reads (charWidths) and
        # the character lookups (charToGlyph) stay reportlab's dicts
        face.hmetrics = _Metrics(face.hmetrics)
        face.glyphPos = array("I", face.glyphPos)
        del face.glyphToChar  # read only by shaping: loudly missing rather than silently empty
