"""Verification: tokens, PDFs and entities against the registry, with public keys only.

Every function takes ``at`` (the time of the check). Crypto code raises narrow exceptions or returns
findings; this module is the one place that turns them into report checks. What it stands on, each in
a module of its own: registry reads (``license_service.registry``), the token's claims
(``license_service.claims``), the public view (``public_view``), the registry cache (``freshness``),
log evidence (``evidence``) and PDF findings (``pdf_checks``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from license_service.claims import compact_mismatches, malformed_claims, registry_mismatches
from license_service.domain.uscc import Uscc
from license_service.log.reader import LogReader
from license_service.log.witnessed import WitnessPolicy
from license_service.reasons import ENTITY_STATUS, LICENSE_STATUS, Reason
from license_service.registry import (
    current_license,
    former_names,
    issued_pdf,
    license_by_serial,
    license_by_version,
)
from license_service.urls import token_of
from signing.compact_tokens import CompactClaims, CompactVerifier, is_compact
from signing.keys.api import PublicKeys
from signing.pdf_validation import PdfFindings
from signing.tokens import CachingVerifier, InvalidToken

from . import details
from .evidence import LogEvidence, LogView
from .freshness import Generation, RegistryCache, usccs_of_leaves
from .pdf_checks import PdfChecker, checks_of
from .public_view import Found
from .recorder import VerificationRecorder
from .report import Check, VerificationReport, genuine

__all__ = ["VerificationService"]

_CHANGES_READ = 1_000  # leaves read to learn which entities changed; past that, forget everything
#: a verified token's first two checks (checks are immutable: built once, not per verification)
_SIGNED = (Check(Reason.KEY_KNOWN), Check(Reason.TOKEN_SIGNATURE_OK))


class VerificationService:
    def __init__(self, engine: Engine, sessions: sessionmaker[Session], keys: PublicKeys, base_url: str,
                 recorder: VerificationRecorder, log: LogReader, policy: WitnessPolicy | None = None,
                 grace_seconds: float = 0.0, *, pdf_digest_lookup: bool = True) -> None:
        """``pdf_digest_lookup`` False sends every PDF through the full validation (benchmarks and
        tests compare the two paths with it)."""
        self._engine = engine
        self._sessions = sessions
        self._log = log
        self.recorder = recorder
        self._base_url = base_url
        # license tokens issued before signatures were normalised to low S may carry a high S: they
        # keep verifying, and the registry check below (the exact string as issued) leaves no room
        # for a second spelling of any license's token
        self._tokens = CachingVerifier(keys.token_keyring(), low_s=False)
        self._compact = CompactVerifier(keys.token_keyring())  # the QR code's form (issue 13): low S only
        self._pdfs = PdfChecker(keys)
        self._pdf_digest_lookup = pdf_digest_lookup
        self.evidence = LogEvidence(sessions, log, keys, policy, grace_seconds)
        self.registry = RegistryCache(Generation(engine), self._changed)

    # -- registry reads -------------------------------------------------------------------------
    def _find(self, uscc: str, serial: str | None, version: int | None = None) -> Found | None:
        """License ``serial``, else version ``version`` (both None: the current one) of entity
        ``uscc``, through the registry cache. Nothing is filed under a USCC the row does not have."""
        def load() -> Found | None:
            with self._engine.connect() as c:
                row = (license_by_serial(c, serial) if serial else license_by_version(c, uscc, version)
                       if version is not None else current_license(c, uscc))
            return Found(row, self._base_url) if row else None

        found: Found | None = self.registry.get(uscc, serial or (f"v{version}" if version is not None else ""), load)
        return found if found is None or found.lic.uscc == uscc else load()

    def current_token(self, uscc: str) -> str | None:
        """The token of the entity's current license, through the registry cache (None: no such entity)."""
        found = self._find(uscc, None)
        return str(found.lic.token) if found is not None else None

    def _find_named(self, claims: dict[str, Any] | CompactClaims) -> Found | None:
        """The license version a verified token names: by serial (form 1), by USCC and version (form 2)."""
        if isinstance(claims, CompactClaims):
            return self._find(claims.uscc, None, claims.ver)
        return self._find(claims["uscc"], claims["sn"])

    def _changed(self, start: int, end: int) -> set[str] | None:
        """The USCCs that log leaves ``start..end-1`` name (None: too many to read; forget all)."""
        if not 0 <= start < end or end - start > _CHANGES_READ:
            return None
        with self._sessions() as s:
            return usccs_of_leaves(self._log.entries(s, start, end))

    # -- tokens ---------------------------------------------------------------------------------
    def _token_checks(self, token: str, at: datetime) -> tuple[list[Check], dict[str, Any] | CompactClaims | None]:
        """Signature and key of ``token`` in either form (``signing.tokens``, ``signing.compact_tokens``:
        the same reason codes), and the shape of its claims."""
        try:
            if is_compact(token):
                return [*_SIGNED], self._compact.verify(token)  # its claims are well formed once it verifies
            claims = self._tokens.verify(token, at=at)
        except InvalidToken as e:
            reason = Reason.of(e.reason)
            return [Check(reason, details.token_refused(reason, token, self._tokens.keyring))], None
        checks = [*_SIGNED]
        bad = malformed_claims(claims)
        if bad:
            checks.append(Check(Reason.CLAIMS_MALFORMED, f"missing or mistyped: {', '.join(bad)}"))
            return checks, None
        return checks, claims

    @staticmethod
    def _registry_checks(claims: dict[str, Any] | CompactClaims, found: Found | None,
                         token: str) -> tuple[list[Check], Found | None]:
        said = _claims_of(claims)
        if found is None:
            named = f"{said['uscc']} version {said['ver']}" if isinstance(claims, CompactClaims) else \
                f"{said['sn']} version {said['ver']}"
            return [Check(Reason.REGISTRY_UNKNOWN_LICENSE, f"signed with our key, but the registry holds no license "
                                                           f"{named}")], None
        lic, entity = found.lic, found.record["entity"]
        if isinstance(claims, CompactClaims):
            mismatched = compact_mismatches(claims, uscc=lic.uscc, version=lic.version, issued_at=lic.issued_at,
                                            status_index=lic.status_index)
        else:
            mismatched = registry_mismatches(
                claims, uscc=lic.uscc, version=lic.version, issued_at=lic.issued_at, record_digest=lic.record_digest,
                name=entity["name"], representative=entity["representative"], status_index=lic.status_index)
        if token != (lic.qr_token if isinstance(claims, CompactClaims) else lic.token):  # spelled otherwise
            mismatched.append("token")
        if mismatched:
            return [Check(Reason.CLAIMS_REGISTRY_MISMATCH, details.claim_mismatches(said, found, mismatched))], None
        return [Check(Reason.CLAIMS_MATCH_REGISTRY),
                Check(LICENSE_STATUS[lic.status], details.license_status(found))], found

    def _report(self, checks: list[Check], found: Found | None, at: datetime,
                view: LogView | None = None) -> VerificationReport:
        """The report; a genuine license's verdict rests on the log (``evidence.LogEvidence.check``)."""
        if found is None or not genuine(checks):
            return VerificationReport(checks, None, at, subject_uscc=found.lic.uscc if found else None)
        log_check, evidence = self.evidence.check(found.lic, view or self.evidence.view(), at)
        checks = [*checks, log_check]
        if not log_check.ok:
            return VerificationReport(checks, None, at, subject_uscc=found.lic.uscc,
                                      extra={"log": evidence} if evidence else {})
        return VerificationReport(checks, found.lic.status, at, found.public,
                                  subject_uscc=found.lic.uscc, extra={"log": evidence})

    def verify_token(self, token: str, *, at: datetime) -> VerificationReport:
        """A QR token, or the whole verify URL a scanner reads from the QR code: signature and key,
        claims (their times checked on every call), registry agreement and status. A report complete
        with log evidence is remembered on the registry entry it was built from (see ``Found.answers``)."""
        token = token_of(token)
        checks, claims = self._token_checks(token, at)
        if claims is None:
            return VerificationReport(checks, None, at)
        found = self._find_named(claims)
        view = self.evidence.view()
        if found is not None:
            known = found.answers.get(token)
            if known is not None and known[0] is view:
                return known[1].again(at)
        more, found = self._registry_checks(claims, found, token)
        report = self._report(checks + more, found, at, view)
        if (found is not None and report.status is not None and len(found.answers) < 4
                and report.checks[-1].reason is Reason.LOG_INCLUDED):  # a pending verdict depends on the time
            found.answers[token] = (view, report)
        return report

    # -- PDFs -----------------------------------------------------------------------------------
    def verify_pdf(self, data: bytes, *, at: datetime) -> VerificationReport:
        """A license PDF: its seal, then its embedded token, then token-PDF-registry agreement, the
        verdict resting on the registry's status and the log as for a token.

        Two paths to the seal's checks; the report's ``pdf_validation`` names the one taken. A file
        whose SHA-256 is the one the registry recorded for a license version when it issued it is that
        document byte for byte: ``issued_copy`` re-checks only what can have changed since issuance
        (the signer's and the timestamp authority's chains at ``at``, the signer's revocation:
        ``signing.issued_seal``, whose docstring gives the argument) and takes the token from that
        registry row, the one the document carries. Every other file - an altered or re-saved copy,
        a long-term form (its document timestamps and validation data are what prove it), a version
        issued by a pipeline that recorded no digest - and any issued copy that path does not accept
        (an expired or untrusted chain, a signer revoked for compromise) gets pyHanko's ``full``
        validation. Token, registry, status and log checks are the same on both paths."""
        digest = hashlib.sha256(data).hexdigest()
        if self._pdf_digest_lookup:
            report = self._verify_issued_copy(data, digest, at)
            if report is not None:
                return report
        findings = self._pdfs.validate(data, at=at)
        return self._pdf_report(findings, findings.token, data, digest, at)

    def _verify_issued_copy(self, data: bytes, digest: str, at: datetime) -> VerificationReport | None:
        """The report on a file byte for byte a license version's PDF as issued; None when it is not
        one, or its seal is not accepted as of ``at`` without the full validation."""
        with self._engine.connect() as c:
            named = issued_pdf(c, digest)
        if named is None:
            return None
        found = self._find(*named)
        if found is None or found.lic.pdf_sha256 != digest:  # the registry changed since the lookup
            return None
        findings = self._pdfs.issued(data, at=at)
        if findings is None:
            return None
        return self._pdf_report(findings, str(found.lic.token), data, digest, at)

    def _pdf_report(self, findings: PdfFindings, token: str | None, data: bytes, digest: str,
                    at: datetime) -> VerificationReport:
        """The report on ``data`` (SHA-256 ``digest``) from its seal's ``findings`` and the ``token``
        its seal's revision carries."""
        path = "issued_copy" if findings.issued_copy else "full"
        checks = checks_of(findings, len(data))
        if token is None:
            checks.append(Check(Reason.PDF_TOKEN_MISSING, "no token can be read from a file that is not a readable "
                                                           "signed PDF" if findings.malformed else
                                                           "the signed revision's document information has no "
                                                           "elicense-token keyword"))
            return VerificationReport(checks, None, at, pdf_validation=path)
        token_checks, claims = self._token_checks(token, at)
        checks += token_checks
        if claims is None:
            return VerificationReport(checks, None, at, pdf_validation=path)
        more, found = self._registry_checks(claims, self._find_named(claims), token)
        checks += more
        if found is not None:
            # A long-term form (proven, and after the seal nothing but DSS updates and document
            # timestamps) is the document as issued, its whole revision byte for byte, then those
            # updates: that revision is what the registry holds. Anything else is compared whole.
            what = "the file"
            if findings.long_term and findings.unmodified and findings.issued_length is not None:
                digest = hashlib.sha256(data[:findings.issued_length]).hexdigest()
                what = "its issued revision"
            checks.append(Check(Reason.PDF_MATCHES_REGISTRY, f"{what} is the document issued (SHA-256 {digest[:16]}…)")
                          if digest == found.lic.pdf_sha256 else
                          Check(Reason.PDF_REGISTRY_MISMATCH, f"{what} has SHA-256 {digest[:16]}…; the document issued "
                                f"as version {found.lic.version} of license {found.lic.serial} has "
                                f"{found.lic.pdf_sha256[:16]}…"))
        report = self._report(checks, found, at)
        report.pdf_validation = path
        return report

    # -- entities -------------------------------------------------------------------------------
    def verify_entity(self, uscc: Uscc, name: str | None, *, at: datetime) -> VerificationReport:
        """Is this USCC a registered entity in good standing, does the name match, which license is current."""
        found = self._find(uscc.value, None)
        if found is None:
            return VerificationReport([Check(Reason.ENTITY_UNKNOWN, f"no entity is registered with {uscc.value}")],
                                      None, at)
        checks = [Check(ENTITY_STATUS[found.row.entity_status], details.entity_status(found))]
        if name is not None:
            checks.append(self._name_check(uscc.value, name.strip(), found.record["entity"]["name"] or ""))
        report = self._report(checks, found, at)
        report.subject_uscc = uscc.value
        return report

    def _name_check(self, uscc: str, name: str, registered: str) -> Check:
        """Does ``name`` match; if not, was it the entity's name once (曾用名: say until when, and the
        name now), which is not a forgery but no longer names it."""
        if name == registered:
            return Check(Reason.ENTITY_NAME_MATCHES)
        with self._engine.connect() as c:
            until = former_names(c, uscc).get(name)
        if until is not None:
            return Check(Reason.ENTITY_FORMER_NAME,
                         f"a former name of this entity, until {until.isoformat()}; its name now is {registered}")
        return Check(Reason.ENTITY_NAME_MISMATCH, "not the entity's name, now or before")

    # -- records --------------------------------------------------------------------------------
    def record(self, client_id: str, channel: str, report: VerificationReport) -> None:
        """Record a platform verification (client, time, subject, verdict)."""
        self.recorder.add({
            "client_id": client_id, "checked_at": report.checked_at, "channel": channel,
            "subject_uscc": report.subject_uscc,
            "license_id": report.license["license_id"] if report.license else None, "verdict": report.verdict.value})


def _claims_of(claims: dict[str, Any] | CompactClaims) -> dict[str, Any]:
    """A token's claims as a mapping, named as form 1 names them (a compact token's ``sidx`` kept)."""
    if isinstance(claims, CompactClaims):
        return {"uscc": claims.uscc, "ver": claims.ver, "iat": claims.iat, "dig": "", "sidx": claims.sidx}
    return claims
