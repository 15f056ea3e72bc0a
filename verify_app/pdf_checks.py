"""PDF findings (``signing/pdf_validation.py``, pyHanko's model) as report checks, against the
published roots and the CAs' CRLs (re-read at most once a minute)."""

from __future__ import annotations

import time
from datetime import datetime
from functools import cached_property
from typing import Any

from signing.keys.api import PublicKeys
from signing.pdf_validation import PdfFindings, load_roots, validate_license_pdf

from .report import Check

__all__ = ["PdfChecker", "checks_of"]

_CRL_TTL = 60.0  # seconds


#: what each of ``PdfFindings.revision_problem``'s codes means, for the report's detail
_PROBLEMS = {
    "pdf.trailing_bytes": "bytes follow the last revision's end (%%EOF): not part of any signed revision",
    "pdf.info_changed": "a revision after the seal changes the document information dictionary",
    "pdf.metadata_changed": "a revision after the seal changes the XMP metadata",
    "pdf.trailer_changed": "a revision after the seal names another catalog or adds encryption",
}


def _coverage(f: PdfFindings) -> Check:
    if f.revision_problem == "pdf.trailing_bytes":
        return Check("coverage", False, "pdf.trailing_bytes", _PROBLEMS["pdf.trailing_bytes"])
    return Check("coverage", f.entire_file, "pdf.entire_file" if f.entire_file else "pdf.partial_coverage")


def _modification(f: PdfFindings) -> Check:
    if f.unmodified:
        return Check("modification", True, "pdf.unmodified")
    if f.revision_problem in _PROBLEMS and f.revision_problem != "pdf.trailing_bytes":
        return Check("modification", False, "pdf.modified", _PROBLEMS[f.revision_problem])
    return Check("modification", False, "pdf.modified", f"changed after signing ({f.modification_level})")


def _long_term_reason(reason: str | None) -> str:
    return reason if reason and reason.startswith("pdf.") else f"pdf.{reason}"


def checks_of(f: PdfFindings) -> list[Check]:
    """One check per finding: integrity, trust, coverage (``pdf.trailing_bytes`` for bytes after the
    last revision), modification (``pdf.modified`` for anything after the seal but DSS updates and
    document timestamps; the detail names an edit of the document information, the XMP metadata or
    the trailer), timestamp, signer status and, for a long-term form, its document timestamps and
    validation data."""
    if f.malformed:
        return [Check("pdf_integrity", False, "pdf.malformed", f.malformed)]
    return [
        Check("pdf_integrity", f.intact and f.valid, "pdf.intact" if f.intact and f.valid else "pdf.not_intact"),
        Check("trust_chain", f.trusted, "pdf.trusted" if f.trusted else "pdf.untrusted",
              "" if f.trusted else "the signer does not chain to our published root"),
        _coverage(f),
        _modification(f),
        Check("timestamp", bool(f.timestamp_trusted),
              "pdf.timestamp_ok" if f.timestamp_trusted else "pdf.timestamp_missing_or_untrusted"),
        Check("signer_status", f.signer_revoked_at is None,
              "pdf.signer_not_revoked" if f.signer_revoked_at is None else "pdf.signer_compromised",
              "" if f.signer_revoked_at is None else
              f"sealed after its key was revoked for compromise ({f.signer_revoked_at.isoformat()})"),
        *([] if f.long_term is None else [Check(
            "long_term", f.long_term, "pdf.long_term_ok" if f.long_term else _long_term_reason(f.long_term_reason),
            "" if f.long_term else "the long-term form's document timestamp or validation data does "
                                   "not prove the signature")]),
    ]


class PdfChecker:
    def __init__(self, keys: PublicKeys) -> None:
        self._keys = keys
        self._crl_cache: tuple[float, tuple[bytes, ...]] = (float("-inf"), ())

    @cached_property
    def _roots(self) -> list[Any]:
        return load_roots(self._keys.roots_pem())

    def _crls(self) -> tuple[bytes, ...]:
        fetched, crls = self._crl_cache
        if time.monotonic() - fetched > _CRL_TTL:
            crls = tuple(c for c in (self._keys.crl("issuing-ca"), self._keys.crl("root-ca")) if c)
            self._crl_cache = (time.monotonic(), crls)
        return crls

    def validate(self, data: bytes, *, at: datetime) -> PdfFindings:
        """pyHanko's validation of a license PDF at time ``at``."""
        return validate_license_pdf(data, self._roots, at=at, crls=self._crls())
