"""Long-term validity, the validation half: a license's long-term form (PAdES B-LTA, made by
``signing/ltv.py``) validated at any later time from what the file carries alone.

Validated later (even after the signer's certificate has expired, with fetching disabled), the
signature is judged as of the time the oldest document timestamp proves it existed, and each
document timestamp as of the time the next one proves it existed. Pure validation: this module
imports nothing that signs, so the verifier may.

What may follow the certification signature (``LTA_ONLY_DIFF_POLICY``, ``later_revision_problem``):
DSS updates and document timestamps (ISO 32000-2 s.12.8.2.2.1, the changes DocMDP P=1 still allows),
and nothing else: no edit of the document information dictionary or the XMP metadata, of the
catalog's ``/Extensions`` or ``/Version``, and no byte after the last revision's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DSSCompareRule,
    FormUpdatingRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    XrefStreamRule,
)
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

__all__ = ["LTA_ONLY_DIFF_POLICY", "LtaFindings", "later_revision_problem", "newest_timestamp_expiry",
           "revision_end", "validate_lta"]

_WHOLE = (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION)

#: pyHanko's difference analysis allowing only what a long-term form adds after the certification
#: signature: DSS updates and document timestamps (their signature fields). Unlike pyHanko's default
#: policy it does not let the document information dictionary (``DocInfoRule``) or the XMP metadata
#: (``MetadataUpdateRule``) change, nor the catalog's ``/Extensions``, ``/Version``, ``/Metadata`` or
#: ``/MarkInfo`` (``CatalogModificationRule`` compares every catalog entry but ``/AcroForm`` and
#: ``/DSS``), nor any form field but signature fields.
LTA_ONLY_DIFF_POLICY = StandardDiffPolicy(  # (pyHanko leaves two of these rules' constructors unannotated)
    global_rules=[
        CatalogModificationRule(ignored_keys=frozenset({"/AcroForm", "/DSS"})),  # type: ignore[no-untyped-call]
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(),  # type: ignore[no-untyped-call]
                                            SigFieldModificationRule()]),
)


@dataclass(frozen=True)
class LtaFindings:
    passed: bool
    reason: str  # "lta.ok" or what failed: lta.no_document_timestamp, lta.timestamp_invalid, ...
    signature_time: datetime | None = None  # when the oldest document timestamp proves it existed
    document_timestamps: int = 0


def revision_end(data: bytes, reader: PdfFileReader, revision: int) -> int | None:
    """Where ``revision`` ends in ``data``: just past the ``%%EOF`` marker that closes its trailer,
    and the one end-of-line after it (ISO 32000-2 s.7.5.5). None if no marker follows its
    cross-reference section."""
    info = reader.xrefs.get_xref_container_info(revision)
    mark = data.find(b"%%EOF", info.end_location)
    if mark < 0:
        return None
    end = mark + len(b"%%EOF")
    for eol in (b"\r\n", b"\n", b"\r"):
        if data.startswith(eol, end):
            return end + len(eol)
    return end


def _object_changed(reader: PdfFileReader, ref: generic.Reference, after: int) -> bool:
    return any(ref in reader.xrefs.explicit_refs_in_revision(r) for r in range(after + 1, reader.xrefs.total_revisions))


def later_revision_problem(data: bytes, reader: PdfFileReader, signed_revision: int) -> str | None:
    """What, if anything, the revisions after ``signed_revision`` (the certification signature's)
    change that pyHanko's difference analysis does not judge, as a reason code; None if nothing.

    - ``pdf.trailing_bytes``: bytes after the last revision's end (a file is its revisions, nothing
      more: whatever follows ``%%EOF`` is there for some other reader);
    - ``pdf.info_changed``: a later trailer names another ``/Info`` dictionary, or rewrites the one the
      signature covers (pyHanko's default policy allows both; a new dictionary is not even a change
      to it, since nothing in the catalog reaches it);
    - ``pdf.metadata_changed``: the XMP metadata stream the signature covers is rewritten;
    - ``pdf.trailer_changed``: a later trailer names another catalog, or adds encryption.
    """
    last = reader.xrefs.total_revisions - 1
    end = revision_end(data, reader, last)
    if end is None or end != len(data):
        return "pdf.trailing_bytes"
    if signed_revision >= last:
        return None
    signed = reader.get_historical_resolver(signed_revision)
    old_trailer = signed.trailer_view
    old_info = old_trailer.raw_get("/Info") if "/Info" in old_trailer else None
    for r in range(signed_revision + 1, last + 1):
        trailer = reader.get_historical_resolver(r).trailer_view
        info = trailer.raw_get("/Info") if "/Info" in trailer else None
        if info != old_info:
            return "pdf.info_changed"
        if trailer.raw_get("/Root") != old_trailer.raw_get("/Root") or "/Encrypt" in trailer:
            return "pdf.trailer_changed"
    if isinstance(old_info, generic.IndirectObject) and _object_changed(reader, old_info.reference, signed_revision):
        return "pdf.info_changed"
    metadata = signed.root.raw_get("/Metadata") if "/Metadata" in signed.root else None
    if isinstance(metadata, generic.IndirectObject) and _object_changed(reader, metadata.reference, signed_revision):
        return "pdf.metadata_changed"
    return None


def newest_timestamp_expiry(pdf: bytes) -> datetime | None:
    """When the certificate of the TSA that made the newest document timestamp of ``pdf`` expires:
    a long-term form needs a new document timestamp before then (ETSI EN 319 142-1 s.5.5, PAdES-LTA).
    None without a document timestamp. Raises pyHanko's errors for an unreadable file."""
    stamps = PdfFileReader(BytesIO(pdf), strict=False).embedded_timestamp_signatures
    if not stamps:
        return None
    expiry: datetime = stamps[-1].signer_cert.not_valid_after
    return expiry


def _signature_timestamp_time(sig: EmbeddedPdfSignature) -> datetime | None:
    """The time the signature timestamp token of ``sig`` claims (TSTInfo genTime, RFC 3161
    s.2.4.2), unverified: ``validate_lta`` checks the token itself."""
    for token in extract_tst_data_iter(sig.signer_info, signed=False):
        when: datetime = token["encap_content_info"]["content"].parsed["gen_time"].native
        return when
    return None


def validate_lta(pdf: bytes, roots: list[asn1_x509.Certificate], *, at: datetime) -> LtaFindings:
    """Validate a license's long-term form as of ``at`` (any later time) from what the file carries
    alone; nothing is fetched. The PAdES-LTV model (ETSI EN 319 142-1 s.5.4; the chain of document
    timestamps as in ETSI EN 319 102-1 s.5.6.3):

    1. the newest document timestamp must be valid at ``at`` (its TSA's certificate in force then)
       and cover the whole file but for a DSS update after it;
    2. each older document timestamp is validated as of the time the next one proves, with the
       revocation data in the DSS (required): its TSA's certificate was in force and not revoked
       then;
    3. the oldest proves the document, DSS included, existed at its time T: the seal's signature
       timestamp is validated as of T, and the certification signature as of the time that
       timestamp proves (as of T without one), with the revocation data in the DSS (gathered after
       the signature: it speaks for that earlier time too), revocation data required for every
       certificate;
    4. nothing after the signature but DSS updates and document timestamps (pyHanko's difference
       analysis with ``LTA_ONLY_DIFF_POLICY``, and ``later_revision_problem``).

    Never raises for bad input: the reason says what failed (``lta.no_signature``,
    ``lta.no_document_timestamp``, ``lta.timestamp_invalid``, ``lta.no_validation_data``,
    ``lta.unreadable``, ``lta.signature_invalid_at_proven_time``, or step 4's reason codes).
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
        stamps = [x for x in sigs if x.sig_object_type == "/DocTimeStamp"]
        if not sigs or sigs[0].sig_object_type == "/DocTimeStamp":
            return LtaFindings(False, "lta.no_signature")
        if not stamps:
            return LtaFindings(False, "lta.no_document_timestamp")
        problem = later_revision_problem(pdf, reader, sigs[0].signed_revision)
        if problem is not None:
            return LtaFindings(False, problem, document_timestamps=len(stamps))
        now_vc = ValidationContext(trust_roots=roots, moment=at, allow_fetching=False, revocation_mode="soft-fail")
        ts = validate_pdf_timestamp(stamps[-1], validation_context=now_vc, diff_policy=LTA_ONLY_DIFF_POLICY)
        # after it only its own TSA's validation data (a DSS update), which step 4 checks
        if not (ts.intact and ts.valid and ts.trusted) or ts.coverage not in _WHOLE:
            return LtaFindings(False, "lta.timestamp_invalid", document_timestamps=len(stamps))
        dss = DocumentSecurityStore.read_dss(reader)
        proven = ts.timestamp
        for older in reversed(stamps[:-1]):
            then_vc = dss.as_validation_context({"trust_roots": roots, "moment": proven, "allow_fetching": False,
                                                 "revocation_mode": "require"})
            old = validate_pdf_timestamp(older, validation_context=then_vc, diff_policy=LTA_ONLY_DIFF_POLICY)
            if not (old.intact and old.valid and old.trusted) or old.coverage not in _WHOLE:
                return LtaFindings(False, "lta.timestamp_invalid", document_timestamps=len(stamps))
            proven = old.timestamp
        # the seal's signature timestamp as of ``proven``; the signer as of the time it proves, with
        # the revocation data gathered after it (retroactive: a key compromised later does not undo
        # what was signed before)
        signed_at = _signature_timestamp_time(sigs[0]) or proven
        ts_vc = dss.as_validation_context({"trust_roots": roots, "moment": proven, "allow_fetching": False,
                                           "revocation_mode": "require"})
        signer_vc = dss.as_validation_context({"trust_roots": roots, "moment": signed_at, "allow_fetching": False,
                                               "revocation_mode": "require", "retroactive_revinfo": True})
        st = validate_pdf_signature(sigs[0], signer_validation_context=signer_vc, ts_validation_context=ts_vc,
                                    diff_policy=LTA_ONLY_DIFF_POLICY)
    except NoDSSFoundError:
        return LtaFindings(False, "lta.no_validation_data")
    except Exception:  # pyHanko raises many types for broken structures; all mean "not proven"
        return LtaFindings(False, "lta.unreadable")
    sig_ts = st.timestamp_validity
    ts_ok = signed_at == proven or (sig_ts is not None and bool(sig_ts.intact and sig_ts.valid and sig_ts.trusted)
                                    and sig_ts.timestamp == signed_at)
    ok = (st.intact and st.valid and st.trusted and st.docmdp_ok and ts_ok
          and st.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES))
    return LtaFindings(bool(ok), "lta.ok" if ok else "lta.signature_invalid_at_proven_time", proven, len(stamps))
