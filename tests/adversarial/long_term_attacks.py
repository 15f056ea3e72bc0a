"""The long-term form's adversarial corpus (issue 12, item 6): after the certification signature a
long-term form may carry DSS updates and document timestamps, and nothing else. Each attack turns a
genuine license (its form as issued and its long-term form, issued in the same test run) into a
file named after the attack it proves, with the verdict and the reason codes it must get; the
controls are what a long-term form may legitimately gain, and stay ``valid``.

Every later revision here is written by a writer that adds only what the attack adds (pyHanko's
writers also stamp a modification date into the document information and XMP metadata on every
write, which would make every attack an ``/Info`` edit).

``build_long_term_corpus(folder, issued, long_term)`` writes them and returns the expectations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = ["LONG_TERM_ATTACKS", "LongTermAttack", "build_long_term_corpus"]


@dataclass(frozen=True)
class LongTermAttack:
    name: str  # the file's name: the attack it proves
    make: Callable[[bytes, bytes], bytes]  # (the form as issued, its long-term form) -> the file
    verdict: str  # of POST /api/v1/verify/pdf (200)
    reasons: frozenset[str]  # at least one failing check carries one of these codes (none: a control)
    detail: str = ""  # ...and this in its detail: what exactly was changed


class _ExactWriter(IncrementalPdfFileWriter):
    """An incremental writer that writes what the attack changes, and no modification date."""

    def _update_meta(self) -> None:
        return None


def _update(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    w = _ExactWriter(BytesIO(pdf), strict=False)
    change(w)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def info_title_edited(_issued: bytes, lta: bytes) -> bytes:
    """A later revision rewrites the signed document information dictionary: a new /Title (what
    viewers show in their title bar)."""
    def change(w: IncrementalPdfFileWriter) -> None:
        info = w.trailer["/Info"]
        info["/Title"] = generic.TextStringObject("营业执照（已注销）")
        w.update_container(info)
    return _update(lta, change)


def info_replaced(_issued: bytes, lta: bytes) -> bytes:
    """A later trailer names a new document information dictionary: nothing in the catalog reaches
    it, so pyHanko's difference analysis sees an orphan, not a change."""
    def change(w: IncrementalPdfFileWriter) -> None:
        old = w.trailer["/Info"]
        new = generic.DictionaryObject({k: v for k, v in old.items()})
        new["/Title"] = generic.TextStringObject("FORGED")
        w.set_info(w.add_object(new))
    return _update(lta, change)


def xmp_metadata_edited(_issued: bytes, lta: bytes) -> bytes:
    """A later revision rewrites the signed XMP metadata stream (dc:title), still well-formed XMP."""
    def change(w: IncrementalPdfFileWriter) -> None:
        ref = w.root.raw_get("/Metadata")
        stream = ref.get_object()
        xmp = stream.data
        stream._data = xmp.replace(b"</rdf:RDF>", b"<rdf:Description rdf:about='' "
                                   b"xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title>FORGED</dc:title>"
                                   b"</rdf:Description></rdf:RDF>")
        stream._encoded_data = None
        w.mark_update(ref)
    return _update(lta, change)


def extensions_edited(_issued: bytes, lta: bytes) -> bytes:
    """A later revision declares another developer extension in the catalog's /Extensions."""
    def change(w: IncrementalPdfFileWriter) -> None:
        ext = w.root["/Extensions"]
        ext["/ADBE"] = generic.DictionaryObject({
            generic.NameObject("/BaseVersion"): generic.NameObject("/1.7"),
            generic.NameObject("/ExtensionLevel"): generic.NumberObject(8),
        })
        w.update_root()
    return _update(lta, change)


def version_edited(_issued: bytes, lta: bytes) -> bytes:
    """A later revision lowers the catalog's /Version (readers then apply other rules)."""
    def change(w: IncrementalPdfFileWriter) -> None:
        w.root["/Version"] = generic.NameObject("/1.4")
        w.update_root()
    return _update(lta, change)


def page_text_after_timestamp(_issued: bytes, lta: bytes) -> bytes:
    """An incremental saving attack after the document timestamp: the page shows other text."""
    def change(w: IncrementalPdfFileWriter) -> None:
        page = w.root["/Pages"]["/Kids"][0].get_object()
        page["/Contents"] = w.add_object(generic.StreamObject(
            stream_data=b"BT /Helvetica 40 Tf 80 300 Td (FORGED) Tj ET"))
        w.update_container(page)
    return _update(lta, change)


def bytes_after_eof(_issued: bytes, lta: bytes) -> bytes:
    """A ZIP archive appended after the last %%EOF: a polyglot that every PDF reader ignores."""
    return lta + b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"payload" * 64


def bytes_after_eof_with_a_new_startxref(_issued: bytes, lta: bytes) -> bytes:
    """Junk, then a new ``startxref`` pointing at the last genuine cross-reference section and a new
    %%EOF: readers find the same revisions, the junk sits between two ends of file."""
    startxref = int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", lta)[-1])
    return lta + b"%" + b"junk " * 100 + b"\nstartxref\n" + str(startxref).encode() + b"\n%%EOF\n"


def issued_bytes_after_eof(issued: bytes, _lta: bytes) -> bytes:
    """The form as issued with bytes after its %%EOF."""
    return issued + b"\n% trailing comment, no revision\n"


def control_long_term_form(_issued: bytes, lta: bytes) -> bytes:
    """The genuine long-term form, unchanged."""
    return lta


def control_dss_update_after_timestamp(_issued: bytes, lta: bytes) -> bytes:
    """A DSS-only update after the document timestamp (what pyHanko's own B-LTA signing writes):
    allowed after the certification signature."""
    def change(w: IncrementalPdfFileWriter) -> None:
        dss = w.root["/DSS"]
        certs = dss["/Certs"]
        refs = [certs.raw_get(i) for i in range(len(certs))]
        cert = refs[0].get_object()
        copy = generic.StreamObject(stream_data=cert.data)  # the same certificate, stored again
        dss["/Certs"] = generic.ArrayObject([*refs, w.add_object(copy)])
        w.update_container(dss)
    return _update(lta, change)


LONG_TERM_ATTACKS = [
    LongTermAttack("long_term_info_title_edited.pdf", info_title_edited, "invalid", frozenset({"pdf.modified"}),
                   "document information"),
    LongTermAttack("long_term_info_dictionary_replaced.pdf", info_replaced, "invalid",
                   frozenset({"pdf.modified"}), "document information"),
    LongTermAttack("long_term_xmp_metadata_edited.pdf", xmp_metadata_edited, "invalid",
                   frozenset({"pdf.modified"}), "XMP metadata"),
    LongTermAttack("long_term_extensions_edited.pdf", extensions_edited, "invalid", frozenset({"pdf.modified"})),
    LongTermAttack("long_term_version_edited.pdf", version_edited, "invalid", frozenset({"pdf.modified"})),
    LongTermAttack("long_term_page_text_after_document_timestamp.pdf", page_text_after_timestamp, "invalid",
                   frozenset({"pdf.modified"})),
    LongTermAttack("long_term_zip_after_eof.pdf", bytes_after_eof, "invalid", frozenset({"pdf.trailing_bytes"})),
    LongTermAttack("long_term_junk_and_new_startxref_after_eof.pdf", bytes_after_eof_with_a_new_startxref,
                   "invalid", frozenset({"pdf.trailing_bytes"})),
    LongTermAttack("issued_bytes_after_eof.pdf", issued_bytes_after_eof, "invalid",
                   frozenset({"pdf.trailing_bytes"})),
    LongTermAttack("control_long_term_form.pdf", control_long_term_form, "valid", frozenset()),
    LongTermAttack("control_dss_update_after_document_timestamp.pdf", control_dss_update_after_timestamp, "valid",
                   frozenset()),
]


def build_long_term_corpus(folder: Path, issued: bytes, long_term: bytes) -> list[tuple[Path, LongTermAttack]]:
    """Write each attack's file to ``folder``; returns (file, its expectations) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    assert PdfFileReader(BytesIO(long_term)).embedded_timestamp_signatures, "not a long-term form"
    out = []
    for attack in LONG_TERM_ATTACKS:
        path = folder / attack.name
        path.write_bytes(attack.make(issued, long_term))
        out.append((path, attack))
    return out
