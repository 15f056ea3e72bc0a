"""The adversarial corpus: each attack turns a genuine license PDF (issued in the same test run: keys
are generated per run) into a file named after the attack it proves, with the verdict and the reason
codes it must get. Shadow, ISA, SWA and USF are the attack classes of Mladenov et al. (NDSS 2021,
"Shadow Attacks"; CCS 2019, "1 Trillion Dollar Refund").

``build_corpus(genuine, other, foreign)`` writes them to a folder and returns the expectations:
- genuine: our license PDF; other: our PDF of another license; foreign: a PDF with our layout and
  token format, signed by a CA that is not ours.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

__all__ = ["Attack", "build_corpus"]


@dataclass(frozen=True)
class Attack:
    name: str  # the file's name: the attack it proves
    make: Callable[[bytes, bytes, bytes], bytes]
    status: int  # HTTP status of POST /api/v1/verify/pdf
    verdict: str | None  # None with a 4xx
    reasons: frozenset[str]  # at least one failing check carries one of these codes


def _update(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    w = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    change(w)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def _page(w: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    page: generic.DictionaryObject = w.root["/Pages"]["/Kids"][0].get_object()
    return page


def _stream(data: bytes) -> generic.StreamObject:
    return generic.StreamObject(stream_data=data)


def _font_text(text: str) -> bytes:
    return f"BT /Helvetica 40 Tf 80 300 Td ({text}) Tj ET".encode()


def byte_flip(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    i = pdf.index(b"stream", len(pdf) // 3) + 40  # inside a signed content stream
    return pdf[:i] + bytes([pdf[i] ^ 0x01]) + pdf[i + 1:]


def _new_contents(pdf: bytes, content: bytes) -> bytes:
    """A later revision pointing the page at a new content stream."""
    def change(w: IncrementalPdfFileWriter) -> None:
        page = _page(w)
        page["/Contents"] = w.add_object(_stream(content))
        w.update_container(page)
    return _update(pdf, change)


def isa_changes_text(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """Incremental Saving Attack: a later revision replaces the page's content with other text."""
    return _new_contents(pdf, _font_text("FORGED LICENSE"))


def overlay_content(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """Draws over the signed page: the original content stays, a new stream is appended."""
    def change(w: IncrementalPdfFileWriter) -> None:
        page = _page(w)
        old = page.raw_get("/Contents")
        olds = list(old.get_object()) if isinstance(old.get_object(), generic.ArrayObject) else [old]
        page["/Contents"] = generic.ArrayObject([*olds, w.add_object(_stream(b"1 1 1 rg 60 300 400 80 re f"))])
        w.update_container(page)
    return _update(pdf, change)


def overlay_annotation(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """A FreeText annotation over the name, added after signing."""
    def change(w: IncrementalPdfFileWriter) -> None:
        page = _page(w)
        annot = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
            generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (150, 350, 450, 380)]),
            generic.NameObject("/Contents"): generic.TextStringObject("FORGED"),
            generic.NameObject("/DA"): generic.TextStringObject("/Helv 20 Tf 0 g"),
        })
        annots = page.get("/Annots")
        lst = list(annots) if annots is not None else []
        page["/Annots"] = generic.ArrayObject([*lst, w.add_object(annot)])
        w.update_container(page)
    return _update(pdf, change)


def shadow_hide(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """Shadow hide: a later revision points the page at an empty content stream."""
    return _new_contents(pdf, b"")


def shadow_replace(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """Shadow replace: the same object number as the signed content stream, redefined."""
    def change(w: IncrementalPdfFileWriter) -> None:
        ref = _page(w).raw_get("/Contents")
        ref = ref[0] if isinstance(ref, generic.ArrayObject) else ref
        stream = ref.get_object()
        stream.strip_filters()
        stream._data, stream._encoded_data = _font_text("REPLACED"), None  # same object number, new bytes
        w.mark_update(ref)
    return _update(pdf, change)


def shadow_hide_and_replace(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """Shadow hide-and-replace: a new page tree in the catalog shows a whole different page."""
    def change(w: IncrementalPdfFileWriter) -> None:
        old_page = _page(w)
        new_page = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): old_page["/MediaBox"],
            generic.NameObject("/Contents"): w.add_object(_stream(_font_text("NEW PAGE"))),
            generic.NameObject("/Resources"): generic.DictionaryObject(),
        })
        pages = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Pages"),
            generic.NameObject("/Kids"): generic.ArrayObject([w.add_object(new_page)]),
            generic.NameObject("/Count"): generic.NumberObject(1),
        })
        pages_ref = w.add_object(pages)
        new_page["/Parent"] = pages_ref
        w.root["/Pages"] = pages_ref
        w.update_root()
    return _update(pdf, change)


def swa_gap(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """Signature Wrapping: bytes smuggled into the unsigned /Contents gap (its zero padding)."""
    m = re.search(rb"/Contents <([0-9a-fA-F]+)>", pdf)
    assert m
    hexed = m.group(1)
    pad = len(hexed) - len(hexed.rstrip(b"0"))
    assert pad >= 16, "no padding to smuggle into"
    start = m.end(1) - pad + (pad % 2)
    payload = b"2525454f46" + b"41" * ((pad - 10 - (pad % 2)) // 2 - 1) + b"00"  # "%%EOF" + "AAA..."
    return pdf[:start] + payload[: m.end(1) - start] + pdf[m.end(1):]


def usf_empty_contents(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """Universal Signature Forgery: the signature value emptied (same length, so offsets hold)."""
    m = re.search(rb"/Contents <([0-9a-fA-F]+)>", pdf)
    assert m
    return pdf[:m.start(1)] + b"0" * len(m.group(1)) + pdf[m.end(1):]


def usf_malformed_byterange(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """USF: /ByteRange rewritten to cover nothing (same length)."""
    m = re.search(rb"/ByteRange \[([0-9 ]+)\]", pdf)
    assert m
    body = b"0 0 0 0"
    return pdf[:m.start(1)] + body.ljust(len(m.group(1)), b" ") + pdf[m.end(1):]


def foreign_ca(_p: bytes, _o: bytes, foreign: bytes) -> bytes:
    return foreign


def token_swapped(pdf: bytes, other: bytes, _f: bytes) -> bytes:
    """A genuine license whose embedded token was swapped for another genuine license's."""
    other_token = re.search(rb"elicense-token:([A-Za-z0-9_.\-]+)", other)
    assert other_token
    def change(w: IncrementalPdfFileWriter) -> None:
        info = w.trailer["/Info"].get_object()
        info["/Keywords"] = generic.TextStringObject("elicense-token:" + other_token.group(1).decode())
        w.update_container(info)
    return _update(pdf, change)


def truncated(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    return pdf[: len(pdf) // 2]


def zip_bomb(pdf: bytes, _o: bytes, _f: bytes) -> bytes:
    """An incremental update with a 64 MiB stream of zeros that deflates to ~64 KiB."""
    bomb = zlib.compress(b"\0" * (64 << 20), 9)
    def change(w: IncrementalPdfFileWriter) -> None:
        s = generic.StreamObject(encoded_data=bomb)
        s[generic.NameObject("/Filter")] = generic.NameObject("/FlateDecode")
        page = _page(w)
        page["/Contents"] = w.add_object(s)
        w.update_container(page)
    return _update(pdf, change)


def garbage(_p: bytes, _o: bytes, _f: bytes) -> bytes:
    return bytes(range(256)) * 64


_MOD = frozenset({"pdf.modified"})
ATTACKS = [
    Attack("byte_flip_in_signed_content.pdf", byte_flip, 200, "invalid", frozenset({"pdf.not_intact"})),
    Attack("isa_incremental_update_changes_text.pdf", isa_changes_text, 200, "invalid", _MOD),
    Attack("overlay_content_after_signing.pdf", overlay_content, 200, "invalid", _MOD),
    Attack("overlay_annotation_after_signing.pdf", overlay_annotation, 200, "invalid", _MOD),
    Attack("shadow_hide.pdf", shadow_hide, 200, "invalid", _MOD),
    Attack("shadow_replace.pdf", shadow_replace, 200, "invalid", _MOD),
    Attack("shadow_hide_and_replace.pdf", shadow_hide_and_replace, 200, "invalid", _MOD),
    Attack("swa_bytes_in_signature_gap.pdf", swa_gap, 200, "invalid",
           frozenset({"pdf.registry_mismatch", "pdf.not_intact", "pdf.malformed"})),
    Attack("usf_empty_contents.pdf", usf_empty_contents, 200, "invalid", frozenset({"pdf.malformed", "pdf.not_intact"})),
    Attack("usf_malformed_byterange.pdf", usf_malformed_byterange, 200, "invalid",
           frozenset({"pdf.malformed", "pdf.not_intact", "pdf.partial_coverage"})),
    Attack("foreign_ca_same_layout.pdf", foreign_ca, 200, "invalid", frozenset({"pdf.untrusted", "token.unknown_kid"})),
    Attack("genuine_license_with_swapped_qr_token.pdf", token_swapped, 200, "invalid",
           frozenset({"pdf.registry_mismatch", "pdf.modified"})),
    Attack("truncated.pdf", truncated, 200, "invalid", frozenset({"pdf.malformed"})),
    Attack("zip_bomb_object_stream.pdf", zip_bomb, 200, "invalid", _MOD | {"pdf.malformed"}),
    Attack("plain_garbage.bin", garbage, 422, None, frozenset({"pdf.not_pdf"})),
]


def build_corpus(folder: Path, genuine: bytes, other: bytes, foreign: bytes) -> list[tuple[Path, Attack]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for attack in ATTACKS:
        path = folder / attack.name
        path.write_bytes(attack.make(genuine, other, foreign))
        out.append((path, attack))
    return out
