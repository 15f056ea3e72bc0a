"""PDF findings (``signing/pdf_validation.py``, pyHanko's model) as report checks, against the
published roots and the CAs' CRLs (re-read at most once a minute)."""

from __future__ import annotations

import time
from datetime import datetime
from functools import cached_property
from typing import Any

from license_service.reasons import Reason, lta_reason
from signing.issued_seal import IssuedSeal
from signing.keys.api import PublicKeys
from signing.pdf_validation import PdfFindings, load_roots, validate_license_pdf

from .report import Check

__all__ = ["PdfChecker", "checks_of"]

_CRL_TTL = 60.0  # seconds


#: the modification check's detail for each of ``PdfFindings.revision_problem``'s codes
_CHANGED = {
    Reason.PDF_INFO_CHANGED: "a revision after the seal changes the document information dictionary",
    Reason.PDF_METADATA_CHANGED: "a revision after the seal changes the XMP metadata",
    Reason.PDF_TRAILER_CHANGED: "a revision after the seal names another catalog or adds encryption",
}


def _integrity(f: PdfFindings) -> Check:
    if f.issued_copy:
        return Check(Reason.PDF_INTACT, "byte for byte the document issued (its SHA-256 is the one the registry "
                                        "recorded): its signed bytes and signature are those sealed, so only "
                                        "what can change since was checked again (trust, timestamp, signer status)")
    if f.intact and f.valid:
        return Check(Reason.PDF_INTACT)
    if not f.intact:
        return Check(Reason.PDF_NOT_INTACT, "the digest of the signed bytes is not the one the signature signs: "
                                            "the signed content was changed")
    return Check(Reason.PDF_NOT_INTACT, "the signed bytes are intact, but the signature does not verify with the "
                                        "signer's certificate")


def _trust(f: PdfFindings) -> Check:
    if f.trusted:
        return Check(Reason.PDF_TRUSTED, f"signed by {f.signer}")
    signer = f.signer or "unnamed"
    if f.intact and f.valid:
        return Check(Reason.PDF_UNTRUSTED, f"the signer ({signer}) does not chain to our published root")
    return Check(Reason.PDF_UNTRUSTED, f"a signature that does not verify earns its signer ({signer}) no trust")


def _coverage(f: PdfFindings, size: int) -> Check:
    if f.revision_problem == Reason.PDF_TRAILING_BYTES:
        end = f" (the issued revision ends at byte {f.issued_length})" if f.issued_length else ""
        return Check(Reason.PDF_TRAILING_BYTES, f"bytes follow the last revision's end (%%EOF) in this {size}-byte "
                                                f"file{end}: they are part of no signed revision")
    if f.entire_file:
        return Check(Reason.PDF_ENTIRE_FILE)
    covered = f"{f.sealed_length} of its {size} bytes" if f.sealed_length is not None else "part of it"
    return Check(Reason.PDF_PARTIAL_COVERAGE, f"the signature covers {covered}, not the whole file")


def _modification(f: PdfFindings) -> Check:
    if f.unmodified:
        return Check(Reason.PDF_UNMODIFIED)
    problem = Reason.of(f.revision_problem) if f.revision_problem else None
    if problem in _CHANGED:
        return Check(Reason.PDF_MODIFIED, _CHANGED[problem])
    return Check(Reason.PDF_MODIFIED, f"changed after signing (pyHanko's modification level: {f.modification_level})")


def _timestamp(f: PdfFindings) -> Check:
    if f.timestamp_trusted:
        when = f" at {f.signed_at.isoformat()}" if f.signed_at else ""
        return Check(Reason.PDF_TIMESTAMP_OK, f"timestamped{when}")
    if f.timestamp_trusted is None:
        return Check(Reason.PDF_TIMESTAMP_MISSING_OR_UNTRUSTED, "the signature carries no timestamp")
    return Check(Reason.PDF_TIMESTAMP_MISSING_OR_UNTRUSTED, "the signature's timestamp does not verify, or its TSA "
                                                            "does not chain to the published root")


def _long_term(f: PdfFindings) -> list[Check]:
    if f.long_term is None:
        return []
    reason = lta_reason(f.long_term_reason)  # lta.ok when it passed
    return [Check(reason, "" if f.long_term else f"the long-term form's document timestamps or validation data do "
                                                 f"not prove the signature: {reason.en[0].lower()}{reason.en[1:]}",
                  on="long_term")]


def checks_of(f: PdfFindings, size: int) -> list[Check]:
    """One check per finding of a ``size``-byte file: integrity, trust, coverage (``pdf.trailing_bytes``
    for bytes after the last revision), modification (``pdf.modified`` for anything after the seal but
    DSS updates and document timestamps; the detail names an edit of the document information, the XMP
    metadata or the trailer), timestamp, signer status and, for a long-term form, its document
    timestamps and validation data (``reasons.lta_reason``)."""
    if f.malformed:
        return [Check(Reason.PDF_MALFORMED, f"the file cannot be read as a signed PDF: {f.malformed}")]
    return [
        _integrity(f),
        _trust(f),
        _coverage(f, size),
        _modification(f),
        _timestamp(f),
        Check(Reason.PDF_SIGNER_NOT_REVOKED) if f.signer_revoked_at is None else
        Check(Reason.PDF_SIGNER_COMPROMISED, f"sealed after its certificate was revoked for key compromise "
                                             f"({f.signer_revoked_at.isoformat()})"),
        *_long_term(f),
    ]


class PdfChecker:
    def __init__(self, keys: PublicKeys) -> None:
        self._keys = keys
        self._crl_cache: tuple[float, tuple[bytes, ...]] = (float("-inf"), ())

    @cached_property
    def _roots(self) -> list[Any]:
        return load_roots(self._keys.roots_pem())

    @cached_property
    def _issued(self) -> IssuedSeal:
        return IssuedSeal(self._roots)

    def _crls(self) -> tuple[bytes, ...]:
        fetched, crls = self._crl_cache
        if time.monotonic() - fetched > _CRL_TTL:
            crls = tuple(c for c in (self._keys.crl("issuing-ca"), self._keys.crl("root-ca")) if c)
            self._crl_cache = (time.monotonic(), crls)
        return crls

    def validate(self, data: bytes, *, at: datetime) -> PdfFindings:
        """pyHanko's validation of a license PDF at time ``at``."""
        return validate_license_pdf(data, self._roots, at=at, crls=self._crls())

    def issued(self, data: bytes, *, at: datetime) -> PdfFindings | None:
        """The findings for ``data`` known to be byte for byte a PDF we issued (``issued_seal``): only
        its chains at ``at`` and its signer's revocation checked; None if they do not all hold, or
        the seal cannot be read so (then :meth:`validate`)."""
        return self._issued.findings(data, at=at, crls=self._crls())
