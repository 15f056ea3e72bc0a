"""Verification: tokens, PDFs and entities against the registry, with public keys only.

Every function takes ``at`` (the time of the check). Crypto code raises narrow exceptions or returns
findings; this module is the one place that turns them into report checks.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from license_service.db.models import LicenseVersion, MarketEntity, VerificationRecord
from license_service.domain.numerals import capital_in_words, format_date, format_term
from license_service.domain.uscc import Uscc
from signing.keys import KeyProvider
from signing.pdf_validation import PdfFindings, load_roots, validate_license_pdf
from signing.tokens import InvalidToken, verify_claims

from .report import Check, Verdict, VerificationReport

__all__ = ["VerificationService", "public_license"]

_CLAIM_TYPES = {"uscc": str, "sn": str, "ver": int, "iat": int, "dig": str, "rep": str}


def _version_ref(v: LicenseVersion, base_url: str) -> dict[str, Any]:
    return {"license_id": v.license_id, "version": v.version, "status": v.status,
            "issued_at": v.issued_at.isoformat(), "verify_url": f"{base_url}/v/{v.token}"}


def public_license(lic: LicenseVersion, entity: MarketEntity, base_url: str) -> dict[str, Any]:
    """What anyone may see of a license version: the registered items the public credit system
    shows (DOMAIN.md "Privacy on public pages"), its version and status history. No ID numbers.

    ``superseded_by`` names the version that replaced this one and when; ``current`` is the entity's
    current version when it is not this one.
    """
    record = json.loads(lic.record)
    e = record["entity"]
    cap = e.get("registered_capital")
    term = e.get("term")
    by_id = {v.license_id: v for v in entity.licenses}
    current = next(v for v in entity.licenses if v.version == entity.current_version)
    successor = by_id.get(lic.superseded_by) if lic.superseded_by else None
    return {
        "license_id": lic.license_id, "uscc": lic.uscc, "serial": lic.serial, "version": lic.version,
        "status": lic.status, "issued_at": lic.issued_at.isoformat(), "registered_on": lic.registered_on.isoformat(),
        "name": e["name"], "entity_kind": e["entity_kind"], "entity_type": e["entity_type"],
        "representative": e["representative"],
        "registered_capital": capital_in_words(Decimal(cap["amount"]), cap["currency"]) if cap else None,
        "established_on": format_date(date.fromisoformat(e["established_on"])),
        "term": (format_term(date.fromisoformat(term["from"]), date.fromisoformat(term["to"]) if term["to"] else None)
                 if term else None),
        "composition": e.get("composition"),
        "business_scope": e["business_scope"], "address": e["address"],
        "authority": record["authority"]["name"],
        "status_changed_at": lic.status_changed_at.isoformat() if lic.status_changed_at else None,
        "status_reason": lic.status_reason,
        "entity_status": entity.status,
        "superseded_by": ({**_version_ref(successor, base_url), "on": lic.status_changed_at.isoformat()
                           if lic.status_changed_at else None} if successor else None),
        "current": _version_ref(current, base_url) if current.license_id != lic.license_id else None,
    }


class VerificationService:
    def __init__(self, sessions: sessionmaker[Session], keys: KeyProvider, base_url: str) -> None:
        self._sessions = sessions
        self._keys = keys
        self._base_url = base_url

    @cached_property
    def _roots(self) -> list[Any]:
        return load_roots(self._keys.roots_pem())

    # -- tokens ---------------------------------------------------------------------------------
    def _token_checks(self, token: str, at: datetime) -> tuple[list[Check], dict[str, Any] | None]:
        try:
            claims = verify_claims(token, self._keys.token_keyring(), at=at)
        except InvalidToken as e:
            if e.reason == "token.unknown_kid":
                return [Check("key_known", False, e.reason, "the token names a key we never published")], None
            return [Check("token_signature", False, e.reason, "the token is not intact or not ours")], None
        checks = [Check("key_known", True, "key.known"), Check("token_signature", True, "token.signature_ok")]
        bad = [k for k, t in _CLAIM_TYPES.items() if not isinstance(claims.get(k), t)]
        if bad:
            checks.append(Check("claims", False, "claims.malformed", f"missing or mistyped: {', '.join(bad)}"))
            return checks, None
        return checks, claims

    def _registry_checks(self, s: Session, claims: dict[str, Any]) -> tuple[list[Check], LicenseVersion | None]:
        lic = s.execute(select(LicenseVersion).where(LicenseVersion.serial == claims["sn"])).scalar_one_or_none()
        if lic is None:
            return [Check("registry_status", False, "registry.unknown_license",
                          "signed with our key but not in the registry", indeterminate=True)], None
        digest = base64.urlsafe_b64encode(bytes.fromhex(lic.record_digest)).rstrip(b"=").decode()
        record = json.loads(lic.record)
        mismatched = [name for name, ok in (
            ("uscc", claims["uscc"] == lic.uscc), ("ver", claims["ver"] == lic.version),
            ("dig", claims["dig"] == digest), ("iat", claims["iat"] == int(lic.issued_at.timestamp())),
            ("name", claims.get("name") == record["entity"]["name"]),
            ("rep", claims["rep"] == record["entity"]["representative"]),
        ) if not ok]
        if mismatched:
            return [Check("claims", False, "claims.registry_mismatch",
                          f"claims disagree with the registry: {', '.join(mismatched)}")], None
        return [Check("claims", True, "claims.match_registry"),
                Check("registry_status", True, f"registry.{lic.status}")], lic

    def _report(self, s: Session, checks: list[Check], lic: LicenseVersion | None, at: datetime) -> VerificationReport:
        if lic is None or not all(c.ok for c in checks):
            return VerificationReport(checks, None, at, subject_uscc=lic.uscc if lic else None)
        entity = s.get(MarketEntity, lic.uscc)
        assert entity is not None
        return VerificationReport(checks, lic.status, at, public_license(lic, entity, self._base_url),
                                  subject_uscc=lic.uscc)

    def verify_token(self, token: str, *, at: datetime) -> VerificationReport:
        """A QR token: signature and key, claims, registry agreement and status."""
        checks, claims = self._token_checks(token, at)
        if claims is None:
            return VerificationReport(checks, None, at)
        with self._sessions() as s:
            more, lic = self._registry_checks(s, claims)
            return self._report(s, checks + more, lic, at)

    # -- PDFs -----------------------------------------------------------------------------------
    @staticmethod
    def _pdf_checks(f: PdfFindings) -> list[Check]:
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
        ]

    def verify_pdf(self, data: bytes, *, at: datetime) -> VerificationReport:
        """A license PDF: pyHanko's checks, then its embedded token, then token-PDF-registry agreement."""
        findings = validate_license_pdf(data, self._roots, at=at)
        checks = self._pdf_checks(findings)
        if findings.token is None:
            checks.append(Check("agreement", False, "pdf.token_missing", "the PDF carries no license token"))
            return VerificationReport(checks, None, at)
        token_checks, claims = self._token_checks(findings.token, at)
        checks += token_checks
        if claims is None:
            return VerificationReport(checks, None, at)
        with self._sessions() as s:
            more, lic = self._registry_checks(s, claims)
            checks += more
            if lic is not None:
                same = hashlib.sha256(data).hexdigest() == lic.pdf_sha256
                checks.append(Check("agreement", same, "pdf.matches_registry" if same else "pdf.registry_mismatch",
                                    "" if same else "this file is not the document issued for this license"))
            return self._report(s, checks, lic, at)

    # -- entities -------------------------------------------------------------------------------
    def verify_entity(self, uscc: Uscc, name: str | None, *, at: datetime) -> VerificationReport:
        """Is this USCC a registered entity in good standing, does the name match, which license is current."""
        with self._sessions() as s:
            entity = s.get(MarketEntity, uscc.value)
            if entity is None:
                return VerificationReport([Check("registry_status", False, "entity.unknown",
                                                 "no entity is registered with this USCC")], None, at)
            current = next(v for v in entity.licenses if v.version == entity.current_version)
            checks = [Check("registry_status", True, f"entity.{entity.status}")]
            if name is not None:
                same = name.strip() == (entity.name or "")
                checks.append(Check("name", same, "entity.name_matches" if same else "entity.name_mismatch"))
            report = self._report(s, checks, current, at)
            if report.verdict is Verdict.INVALID:
                report.subject_uscc = entity.uscc
            return report

    # -- records --------------------------------------------------------------------------------
    def record(self, client_id: str, channel: str, report: VerificationReport) -> None:
        """Record a platform verification (client, time, subject, verdict)."""
        with self._sessions.begin() as s:
            s.add(VerificationRecord(
                client_id=client_id, checked_at=report.checked_at, channel=channel,
                subject_uscc=report.subject_uscc,
                license_id=report.license["license_id"] if report.license else None,
                verdict=report.verdict.value))
