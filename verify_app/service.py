"""Verification: tokens, PDFs and entities against the registry, with public keys only.

Every function takes ``at`` (the time of the check). Crypto code raises narrow exceptions or returns
findings; this module is the one place that turns them into report checks.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from license_service.db.models import LicenseVersion, MarketEntity
from license_service.domain.numerals import capital_in_words, format_date, format_term
from license_service.domain.uscc import Uscc
from license_service.translog import IssuanceLog, SignedCheckpoint
from signing.keys import KeyProvider
from signing.pdf_validation import PdfFindings, load_roots, validate_license_pdf
from signing.status_list import LIST_BITS
from signing.tokens import CachingVerifier, InvalidToken

from .freshness import Generation, RegistryCache, usccs_of_leaves
from .recorder import VerificationRecorder
from .report import Check, VerificationReport

__all__ = ["VerificationService", "public_license"]

_CHECKPOINT_TTL = 1.0  # seconds
_CRL_TTL = 60.0  # seconds
_PROOF_CACHE = 50_000
_CHANGES_READ = 1_000  # leaves read to learn which entities changed; past that, forget everything
_CLAIM_TYPES = {"uscc": str, "sn": str, "ver": int, "iat": int, "dig": str, "rep": str}


def _same_status_index(claim: Any, index: int | None) -> bool:
    return isinstance(claim, dict) and index is not None and claim.get("idx") == index % LIST_BITS


def _version_ref(v: Any, base_url: str) -> dict[str, Any]:
    return {"license_id": v.license_id, "version": v.version, "status": v.status,
            "issued_at": v.issued_at.isoformat(), "verify_url": f"{base_url}/v/{v.token}"}


@dataclass(frozen=True)
class _Found:
    """A license version as the registry has it, with its entity's status and, when it is not the
    current version, its sibling versions (to name the successor and the current one). What is
    derived from it is computed once: it is cached (``RegistryCache``) across verifications."""

    lic: Any  # a row of license_versions
    entity_status: str
    current_version: int
    siblings: tuple[Any, ...]
    base_url: str
    #: token -> (the checkpoint its log evidence used, its complete report). The same token asks the
    #: same questions of the same registry state: until this entry is invalidated (a log leaf names
    #: the entity) or a newer checkpoint is read, a new report differs only in its time
    answers: dict[str, tuple[SignedCheckpoint | None, VerificationReport]] = field(
        default_factory=dict, compare=False, repr=False)

    @cached_property
    def record(self) -> dict[str, Any]:
        return dict(json.loads(self.lic.record))

    @cached_property
    def token_digest(self) -> str:
        """The record digest as the token's ``dig`` claim has it (base64url, unpadded)."""
        return base64.urlsafe_b64encode(bytes.fromhex(self.lic.record_digest)).rstrip(b"=").decode()

    @cached_property
    def public(self) -> dict[str, Any]:
        """The public view (shared by every report that uses this entry: never mutate it)."""
        return public_license(self, self.base_url)


def public_license(found: _Found, base_url: str) -> dict[str, Any]:
    """What anyone may see of a license version: the registered items the public credit system
    shows (DOMAIN.md "Privacy on public pages"), its version and status history. No ID numbers.

    ``superseded_by`` names the version that replaced this one and when; ``current`` is the entity's
    current version when it is not this one.
    """
    lic = found.lic
    record = found.record
    e = record["entity"]
    cap = e.get("registered_capital")
    term = e.get("term")
    successor = next((v for v in found.siblings if v.license_id == lic.superseded_by), None)
    current = next((v for v in found.siblings if v.version == found.current_version), None)
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
        "entity_status": found.entity_status,
        "superseded_by": ({**_version_ref(successor, base_url), "on": lic.status_changed_at.isoformat()
                           if lic.status_changed_at else None} if successor else None),
        "current": _version_ref(current, base_url) if current and current.license_id != lic.license_id else None,
    }


_LV = LicenseVersion.__table__
_ME = MarketEntity.__table__


# built once: building a statement costs more than SQLite takes to run it
_WITH_ENTITY = select(_LV, _ME.c.status.label("entity_status"), _ME.c.current_version).join(
    _ME, _ME.c.uscc == _LV.c.uscc)
_BY_SERIAL = _WITH_ENTITY.where(_LV.c.serial == bindparam("key"))
_CURRENT_OF = _WITH_ENTITY.where((_LV.c.uscc == bindparam("key")) & (_LV.c.version == _ME.c.current_version))
_SIBLINGS = select(_LV.c.license_id, _LV.c.version, _LV.c.status, _LV.c.issued_at, _LV.c.token
                   ).where(_LV.c.uscc == bindparam("key"))


def _lookup(c: Connection, query: Any, key: str, base_url: str) -> _Found | None:
    """One query for the license and its entity (plain rows on a Core connection: the hot path of
    every verification); a second, for the sibling versions, only when it is not the current version."""
    row = c.execute(query, {"key": key}).one_or_none()
    if row is None:
        return None
    siblings: tuple[Any, ...] = ()
    if row.version != row.current_version:
        siblings = tuple(c.execute(_SIBLINGS, {"key": row.uscc}).all())
    return _Found(row, row.entity_status, row.current_version, siblings, base_url)


class VerificationService:
    def __init__(self, engine: Engine, sessions: sessionmaker[Session], keys: KeyProvider, base_url: str,
                 recorder: VerificationRecorder, log: IssuanceLog) -> None:
        self._engine = engine
        self._sessions = sessions
        self._log = log
        self.recorder = recorder
        self._keys = keys
        self._base_url = base_url
        self._tokens = CachingVerifier(keys.token_keyring())
        self._checkpoint: tuple[float, SignedCheckpoint | None] = (float("-inf"), None)
        self._crl_cache: tuple[float, tuple[bytes, ...]] = (float("-inf"), ())
        self._proofs: OrderedDict[tuple[int, int], list[bytes]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.registry = RegistryCache(Generation(self._engine), self._changed)

    @cached_property
    def _roots(self) -> list[Any]:
        return load_roots(self._keys.roots_pem())

    def _crls(self) -> tuple[bytes, ...]:
        """The CAs' CRLs from the keys folder, re-read at most once a minute."""
        fetched, crls = self._crl_cache
        if time.monotonic() - fetched > _CRL_TTL:
            crls = tuple(c for c in (self._keys.crl("issuing-ca"), self._keys.crl("root-ca")) if c)
            self._crl_cache = (time.monotonic(), crls)
        return crls

    # -- registry reads -------------------------------------------------------------------------
    def _find(self, uscc: str, serial: str | None) -> _Found | None:
        """License ``serial`` (None: the current one) of entity ``uscc``, through the registry
        cache. Nothing is filed under a USCC the row does not have."""
        def load() -> _Found | None:
            with self._engine.connect() as c:
                return _lookup(c, _BY_SERIAL, serial, self._base_url) if serial else _lookup(
                    c, _CURRENT_OF, uscc, self._base_url)

        found = self.registry.get(uscc, serial or "", load)
        return found if found is None or found.lic.uscc == uscc else load()

    def _changed(self, start: int, end: int) -> set[str] | None:
        """The USCCs that log leaves ``start..end-1`` name (None: too many to read; forget all)."""
        if not 0 <= start < end or end - start > _CHANGES_READ:
            return None
        with self._sessions() as s:
            return usccs_of_leaves(self._log.entries(s, start, end))

    # -- tokens ---------------------------------------------------------------------------------
    def _token_checks(self, token: str, at: datetime) -> tuple[list[Check], dict[str, Any] | None]:
        try:
            claims = self._tokens.verify(token, at=at)
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

    def _registry_checks(self, claims: dict[str, Any], found: _Found | None) -> tuple[list[Check], _Found | None]:
        if found is None:
            return [Check("registry_status", False, "registry.unknown_license",
                          "signed with our key but not in the registry", indeterminate=True)], None
        lic = found.lic
        record = found.record
        mismatched = [name for name, ok in (
            ("uscc", claims["uscc"] == lic.uscc), ("ver", claims["ver"] == lic.version),
            ("dig", claims["dig"] == found.token_digest), ("iat", claims["iat"] == int(lic.issued_at.timestamp())),
            ("name", claims.get("name") == record["entity"]["name"]),
            ("rep", claims["rep"] == record["entity"]["representative"]),
            ("status", "status" not in claims or _same_status_index(claims["status"], lic.status_index)),
        ) if not ok]
        if mismatched:
            return [Check("claims", False, "claims.registry_mismatch",
                          f"claims disagree with the registry: {', '.join(mismatched)}")], None
        return [Check("claims", True, "claims.match_registry"),
                Check("registry_status", True, f"registry.{lic.status}")], found

    def _report(self, checks: list[Check], found: _Found | None, at: datetime,
                checkpoint: SignedCheckpoint | None = None) -> VerificationReport:
        if found is None or not all(c.ok for c in checks):
            return VerificationReport(checks, None, at, subject_uscc=found.lic.uscc if found else None)
        latest = checkpoint or self._latest_checkpoint()
        return VerificationReport(checks, found.lic.status, at, found.public,
                                  subject_uscc=found.lic.uscc, extra={"log": self._log_evidence(found, latest)})

    def _log_evidence(self, found: _Found, latest: SignedCheckpoint | None) -> dict[str, Any] | None:
        """The license's issuance leaf, its inclusion proof and the checkpoint it is proven against,
        so a client can check for itself that the license is on the public record."""
        index = found.lic.leaf_index
        if index is None or latest is None or index >= latest.size:
            return None
        proof = self._inclusion(index, latest.size)
        return {"leaf_index": index, "tree_size": latest.size,
                "inclusion_proof": [base64.b64encode(h).decode() for h in proof], "checkpoint": latest.note}

    def verify_token(self, token: str, *, at: datetime) -> VerificationReport:
        """A QR token: signature and key, claims (their times checked on every call), registry
        agreement and status. A report complete with log evidence is remembered on the registry
        entry it was built from (see ``_Found.answers``)."""
        checks, claims = self._token_checks(token, at)
        if claims is None:
            return VerificationReport(checks, None, at)
        found = self._find(claims["uscc"], claims["sn"])
        latest = self._latest_checkpoint()
        if found is not None:
            known = found.answers.get(token)
            if known is not None and known[0] is latest:
                again = copy.copy(known[1])  # shallow: the checks and views are shared, never mutated
                again.checked_at = at
                return again
        more, found = self._registry_checks(claims, found)
        report = self._report(checks + more, found, at, latest)
        if found is not None and report.status is not None and len(found.answers) < 4:
            found.answers[token] = (latest, report)
        return report

    def _latest_checkpoint(self) -> SignedCheckpoint | None:
        """The latest checkpoint, re-read at most once a second: any checkpoint at least as large as
        the leaf proves its inclusion, so a second-old one is as good as the newest."""
        with self._cache_lock:
            fetched, cp = self._checkpoint
        if time.monotonic() - fetched > _CHECKPOINT_TTL or cp is None:
            with self._sessions() as s:
                cp = self._log.latest(s)
            with self._cache_lock:
                self._checkpoint = (time.monotonic(), cp)
        return cp

    def _inclusion(self, index: int, size: int) -> list[bytes]:
        """Inclusion proofs never change for a given (leaf, tree size): keep the recent ones."""
        key = (index, size)
        with self._cache_lock:
            proof = self._proofs.get(key)
            if proof is not None:
                self._proofs.move_to_end(key)
                return proof
        with self._sessions() as s:
            proof = self._log.inclusion(s, index, size)
        with self._cache_lock:
            self._proofs[key] = proof
            while len(self._proofs) > _PROOF_CACHE:
                self._proofs.popitem(last=False)
        return proof

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
            Check("signer_status", f.signer_revoked_at is None,
                  "pdf.signer_not_revoked" if f.signer_revoked_at is None else "pdf.signer_compromised",
                  "" if f.signer_revoked_at is None else
                  f"sealed after its key was revoked for compromise ({f.signer_revoked_at.isoformat()})"),
            *([] if f.long_term is None else [Check(
                "long_term", f.long_term, "pdf.long_term_ok" if f.long_term else f"pdf.{f.long_term_reason}",
                "" if f.long_term else "the long-term form's document timestamp or validation data does "
                                       "not prove the signature")]),
        ]

    def verify_pdf(self, data: bytes, *, at: datetime) -> VerificationReport:
        """A license PDF: pyHanko's checks, then its embedded token, then token-PDF-registry agreement."""
        findings = validate_license_pdf(data, self._roots, at=at, crls=self._crls())
        checks = self._pdf_checks(findings)
        if findings.token is None:
            checks.append(Check("agreement", False, "pdf.token_missing", "the PDF carries no license token"))
            return VerificationReport(checks, None, at)
        token_checks, claims = self._token_checks(findings.token, at)
        checks += token_checks
        if claims is None:
            return VerificationReport(checks, None, at)
        more, found = self._registry_checks(claims, self._find(claims["uscc"], claims["sn"]))
        checks += more
        if found is not None:
            # the long-term form is the document as issued plus updates after the seal: compare that
            issued = data[:findings.sealed_length] if findings.long_term else data
            same = hashlib.sha256(issued).hexdigest() == found.lic.pdf_sha256
            checks.append(Check("agreement", same, "pdf.matches_registry" if same else "pdf.registry_mismatch",
                                "" if same else "this file is not the document issued for this license"))
        return self._report(checks, found, at)

    # -- entities -------------------------------------------------------------------------------
    def verify_entity(self, uscc: Uscc, name: str | None, *, at: datetime) -> VerificationReport:
        """Is this USCC a registered entity in good standing, does the name match, which license is current."""
        found = self._find(uscc.value, None)
        if found is None:
            return VerificationReport([Check("registry_status", False, "entity.unknown",
                                             "no entity is registered with this USCC")], None, at)
        checks = [Check("registry_status", True, f"entity.{found.entity_status}")]
        if name is not None:
            registered = found.record["entity"]["name"] or ""
            same = name.strip() == registered
            checks.append(Check("name", same, "entity.name_matches" if same else "entity.name_mismatch"))
        report = self._report(checks, found, at)
        report.subject_uscc = uscc.value
        return report

    # -- records --------------------------------------------------------------------------------
    def record(self, client_id: str, channel: str, report: VerificationReport) -> None:
        """Record a platform verification (client, time, subject, verdict)."""
        self.recorder.add({
            "client_id": client_id, "checked_at": report.checked_at, "channel": channel,
            "subject_uscc": report.subject_uscc,
            "license_id": report.license["license_id"] if report.license else None, "verdict": report.verdict.value})
