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


def checks_of(f: PdfFindings) -> list[Check]:
    """One check per finding: integrity, trust, coverage, modification, timestamp, signer status and,
    for a long-term form, its document timestamp and validation data."""
    if f.malformed:
        return [Check("pdf_integrity", False, "pdf.malformed", f.malformed)]
    return [
        Check("pdf_integrity", f.intact and f.valid, "pdf.intact" if f.intact and f.valid else "pdf.not_intact"),
        Check("trust_chain", f.trusted, "pdf.trusted" if f.trusted else "pdf.untrusted",
              "" if f.trusted else "the signer does not chain to our published root"),
        Check("coverage", f.entire_file, "pdf.entire_file" if f.entire_file else "pdf.partial_coverage"),
        Check("modification", f.unmodified, "pdf.unmodified" if f.unmodified else "pdf.modified",
              "" if f.unmodified else f"changed after signing ({f.modification_level})"),
        Check("timestamp", bool(f.timestamp_trusted),
              "pdf.timestamp_ok" if f.timestamp_trusted else "pdf.timestamp_missing_or_untrusted"),
        Check("signer_status", f.signer_revoked_at is None,
              "pdf.signer_not_revoked" if f.signer_revoked_at is None else "pdf.signer_compromised",
              "" if f.signer_revoked_at is None else
              f"sealed after its key was revoked for compromise ({f.signer_revoked_at.isoformat()})"),
        *([] if f.long_term is None else [Check(
            "long_term", f.long_term, "pdf.long_term_ok" if f.long_term else f"pdf.{f.long_term_reason}",
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
