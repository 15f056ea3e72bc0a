"""PDF signature validation, pyHanko's model (DESIGN.md): intact, valid, trusted, whole-file
coverage, and no modification after signing beyond PAdES LTA updates (DSS updates and document
timestamps: ``lta_validation.LTA_ONLY_DIFF_POLICY`` and ``later_revision_problem``, stricter than
pyHanko's default policy, which lets the document information and XMP metadata change, and no bytes
after the last revision). ``skip_diff`` is never used.

Returns findings as data; the verification service turns them into report checks. Validation works
offline from trust roots (no fetching), as of the time the caller passes. Nothing here signs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.generic import DictionaryObject
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .lta_validation import LTA_ONLY_DIFF_POLICY, later_revision_problem, revision_end, validate_lta

__all__ = ["TOKEN_PREFIX", "PdfFindings", "load_roots", "revoked_before", "validate_license_pdf"]

TOKEN_PREFIX = "elicense-token:"


def load_roots(pem_bytes: bytes) -> list[asn1_x509.Certificate]:
    """The certificates of a PEM bundle (``GET /trust/roots.pem``), as pyHanko takes trust roots."""
    return [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(pem_bytes, multiple=True)]


@dataclass(frozen=True)
class PdfFindings:
    """What validation found. ``malformed`` is set (and the rest is false) when the file could not
    be read as a signed PDF at all."""

    malformed: str | None = None
    signatures: int = 0
    field_name: str | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    entire_file: bool = False
    unmodified: bool = False  # no change after signing beyond LTA updates, and DocMDP respected
    modification_level: str | None = None
    timestamp_trusted: bool | None = None
    signer: str | None = None
    signed_at: datetime | None = None
    token: str | None = None
    #: the long-term form (document timestamps after the signature): whether ``lta_validation``
    #: proves the signature from what the file carries, and why not; None for the form as issued
    long_term: bool | None = None
    long_term_reason: str | None = None
    #: where the seal's signed bytes end (its ``/ByteRange``)
    sealed_length: int | None = None
    #: where the seal's revision ends (its ``%%EOF`` and end-of-line): the document as issued is
    #: ``data[:issued_length]``, the rest the long-term form's updates
    issued_length: int | None = None
    #: what the revisions after the seal change that difference analysis does not judge
    #: (``lta_validation.later_revision_problem``): ``pdf.trailing_bytes``, ``pdf.info_changed``,
    #: ``pdf.metadata_changed``, ``pdf.trailer_changed``; None if nothing
    revision_problem: str | None = None
    #: the signer's certificate was revoked (key compromise) at or before the time the seal's trusted
    #: timestamp proves (or, with no trusted timestamp, at all): the CRL's revocation time
    signer_revoked_at: datetime | None = None
    #: the file is byte for byte a document the registry recorded as issued, and these findings come
    #: from ``issued_seal.IssuedSeal`` (what depends on the time and revocation, checked again) rather
    #: than from pyHanko's analysis of the bytes
    issued_copy: bool = False


def _token(reader: PdfFileReader, revision: int) -> str | None:
    """The license token in the document information dictionary as of ``revision`` (the seal's:
    what a later revision says is not what was signed)."""
    try:
        info = reader.get_historical_resolver(revision).trailer_view["/Info"]
    except KeyError:
        return None
    if not isinstance(info, DictionaryObject):
        return None
    kw = info.get("/Keywords")
    text = str(kw) if kw is not None else ""
    return text[len(TOKEN_PREFIX):] if text.startswith(TOKEN_PREFIX) else None


def validate_license_pdf(data: bytes, roots: list[asn1_x509.Certificate], *, at: datetime,
                         crls: Sequence[bytes] = ()) -> PdfFindings:
    """Validate the (single) certification signature of a license PDF as of ``at``, pyHanko's model
    (intact, valid, trusted, coverage, modification level; ISO 32000-2 s.12.8), with the long-term
    form's document timestamps validated by ``lta_validation.validate_lta`` at ``at``. After the
    seal only DSS updates and document timestamps count as unmodified (``LTA_ONLY_DIFF_POLICY``;
    ``revision_problem`` names what else a later revision changed), and bytes after the last
    revision's end are not covered (``revision_problem == "pdf.trailing_bytes"``, ``entire_file``
    false). The token is read from the seal's revision. ``crls`` are the CAs' current CRLs, read for
    a signer revoked for key compromise (``signer_revoked_at``).

    Never raises for bad input: any parsing failure is reported as ``malformed``.
    """
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, OSError, RecursionError,
            MemoryError) as e:
        return PdfFindings(malformed=f"unreadable PDF ({type(e).__name__})")
    if not sigs:
        return PdfFindings(malformed="no signature")
    sig = sigs[0]
    try:
        vc = ValidationContext(trust_roots=roots, allow_fetching=False, moment=at)
        st = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc,
                                    diff_policy=LTA_ONLY_DIFF_POLICY)
        problem = later_revision_problem(data, reader, sig.signed_revision)
        issued_length = revision_end(data, reader, sig.signed_revision)
    except Exception as e:  # pyHanko raises many types for broken CMS/ByteRange; all mean "not genuine"
        return PdfFindings(malformed=f"signature unreadable ({type(e).__name__})", signatures=len(sigs),
                           field_name=sig.field_name)
    level = st.modification_level
    # after the seal, only the long-term form's additions: DSS updates and document timestamps
    stamps_only = all(s.sig_object_type == "/DocTimeStamp" for s in sigs[1:])
    unmodified = (
        level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
        and bool(st.docmdp_ok)
        and stamps_only
        and problem in (None, "pdf.trailing_bytes")  # bytes after the end: a coverage problem
    )
    lta = validate_lta(data, roots, at=at) if len(sigs) > 1 and stamps_only else None
    entire = problem != "pdf.trailing_bytes" and (st.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        st.coverage == SignatureCoverageLevel.ENTIRE_REVISION and level == ModificationLevel.LTA_UPDATES
    ))
    ts = st.timestamp_validity
    try:
        token = _token(reader, sig.signed_revision)
    except Exception:
        token = None
    return PdfFindings(
        # a long-term form proven as of its timestamp stays valid and trusted after its certificates expire
        signatures=len(sigs), field_name=sig.field_name, intact=bool(st.intact),
        valid=bool(st.valid) or bool(lta and lta.passed), trusted=bool(st.trusted) or bool(lta and lta.passed),
        entire_file=bool(entire), unmodified=unmodified,
        modification_level=level.name if level is not None else None,
        timestamp_trusted=(bool(ts.intact and ts.valid and ts.trusted) if ts is not None else None),
        signer=st.signing_cert.subject.human_friendly if st.signing_cert else None,
        signed_at=ts.timestamp if ts is not None else st.signer_reported_dt,
        token=token, long_term=lta.passed if lta else None, long_term_reason=lta.reason if lta else None,
        sealed_length=_sealed_length(sig.byte_range), issued_length=issued_length, revision_problem=problem,
        signer_revoked_at=revoked_before(st.signing_cert, ts.timestamp if ts is not None and ts.trusted else None,
                                          crls),
    )


def revoked_before(cert: asn1_x509.Certificate | None, signed_at: datetime | None,
                    crls: Sequence[bytes]) -> datetime | None:
    """When ``cert`` was revoked, if a CRL of its issuer lists it as revoked at or before ``signed_at``
    (what it signed before its compromise stays good; without a trusted signing time, nothing does)."""
    if cert is None:
        return None
    for der in crls:
        crl = x509.load_der_x509_crl(der)
        if crl.issuer.public_bytes() != cert.issuer.dump():
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None and (signed_at is None or entry.revocation_date_utc <= signed_at):
            return entry.revocation_date_utc
    return None


def _sealed_length(byte_range: object) -> int | None:
    try:
        start, _, second, rest = (int(x) for x in byte_range)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    return second + rest if start == 0 else None
