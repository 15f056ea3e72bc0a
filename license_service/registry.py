"""Registry reads: every query a route or the verifier makes of the registry lives here, so no
route touches the database itself. Read-only; both services use it (the verifier on a read-only
role). Writes belong to the issuance service (``issuance.py``) and the verification recorder.

Views are the v1 contract's JSON objects (DESIGN.md LICENSE and the entity), built here from rows.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session, lazyload, sessionmaker

from .db.models import (
    ApiClient,
    LicenseDocument,
    LicenseVersion,
    MarketEntity,
    RegistrationEvent,
    StatusListRow,
    VerificationRecord,
)
from .urls import pdf_url, verify_url

__all__ = ["LicenseRow", "Registry", "StoredPdf", "current_license", "entity_view", "former_names", "issued_pdf",
           "license_by_serial", "license_by_version", "license_view"]


def _iso(v: date | datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def license_view(lic: LicenseVersion, base_url: str) -> dict[str, Any]:
    """LICENSE (DESIGN.md), plus the record digest, the registration date and the status change."""
    return {
        "license_id": lic.license_id,
        "serial": lic.serial,
        "uscc": lic.uscc,
        "version": lic.version,
        "status": lic.status,
        "issued_at": _iso(lic.issued_at),
        "superseded_by": lic.superseded_by,
        "pdf_url": pdf_url(base_url, lic.license_id),
        "verify_url": verify_url(base_url, lic.qr_token or lic.token),
        "token": lic.token,
        "registered_on": _iso(lic.registered_on),
        "record_digest": lic.record_digest,
        "pdf_sha256": lic.pdf_sha256,
        "status_changed_at": _iso(lic.status_changed_at),
        "status_reason": lic.status_reason,
        "leaf_index": lic.leaf_index,
    }


def entity_view(entity: MarketEntity, base_url: str) -> dict[str, Any]:
    return {
        "uscc": entity.uscc,
        "entity_kind": entity.entity_kind,
        "name": entity.name,
        "status": entity.status,
        "status_changed_at": _iso(entity.status_changed_at),
        "status_reason": entity.status_reason,
        "established_on": _iso(entity.established_on),
        "current_version": entity.current_version,
        "licenses": [license_view(lic, base_url) for lic in entity.licenses],
    }


@dataclass(frozen=True)
class StoredPdf:
    """A license's PDF as issued, with what names it."""

    uscc: str
    version: int
    sha256: str
    pdf: bytes


class Registry:
    """The reads the API routes make, each in a short session of its own."""

    def __init__(self, sessions: sessionmaker[Session], base_url: str) -> None:
        self._sessions = sessions
        self._base_url = base_url

    def license(self, license_id: str) -> dict[str, Any] | None:
        with self._sessions() as s:
            lic = s.get(LicenseVersion, license_id)
            return license_view(lic, self._base_url) if lic else None

    def pdf(self, license_id: str) -> StoredPdf | None:
        with self._sessions() as s:
            row = s.execute(select(LicenseVersion.uscc, LicenseVersion.version, LicenseVersion.pdf_sha256,
                                   LicenseDocument.pdf).join(LicenseDocument, LicenseDocument.license_id
                                                             == LicenseVersion.license_id)
                            .where(LicenseVersion.license_id == license_id)).one_or_none()
        return StoredPdf(row.uscc, row.version, row.pdf_sha256, row.pdf) if row else None

    def entity(self, uscc: str) -> dict[str, Any] | None:
        with self._sessions() as s:
            entity = s.get(MarketEntity, uscc)
            return entity_view(entity, self._base_url) if entity else None

    def verifications(self, uscc: str, limit: int, *, by: str | None = None) -> list[dict[str, Any]]:
        """Who checked this entity's license, and when (newest first); ``by``: only that client's checks."""
        q = select(VerificationRecord).where(VerificationRecord.subject_uscc == uscc)
        if by is not None:
            q = q.where(VerificationRecord.client_id == by)
        with self._sessions() as s:
            rows = s.execute(q.order_by(VerificationRecord.id.desc()).limit(limit)).scalars().all()
            clients = {c.client_id: c.name for c in s.execute(
                select(ApiClient).where(ApiClient.client_id.in_({r.client_id for r in rows}))).scalars()}
            return [{"client_id": r.client_id, "client_name": clients.get(r.client_id),
                     "checked_at": r.checked_at.isoformat(), "channel": r.channel, "license_id": r.license_id,
                     "verdict": r.verdict} for r in rows]

    def audit_licenses(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Every license version as stored, paged by ``license_id`` (those after ``after``): its
        canonical record and digests, the columns shown beside the record (serial, dates, status,
        since when and why, successor), its tokens (both forms) and its leaf index. The PDF's bytes are served
        apart (the auditor hashes them itself)."""
        with self._sessions() as s:
            q = select(LicenseVersion).order_by(LicenseVersion.license_id).limit(limit)
            if after is not None:
                q = q.where(LicenseVersion.license_id > after)
            return [{"license_id": r.license_id, "uscc": r.uscc, "version": r.version, "serial": r.serial,
                     "status": r.status, "issued_at": _iso(r.issued_at), "registered_on": _iso(r.registered_on),
                     "record": r.record, "record_digest": r.record_digest, "pdf_sha256": r.pdf_sha256,
                     "token": r.token, "qr_token": r.qr_token, "event_id": r.event_id, "leaf_index": r.leaf_index,
                     "superseded_by": r.superseded_by, "status_changed_at": _iso(r.status_changed_at),
                     "status_reason": r.status_reason} for r in s.scalars(q)]

    def audit_entities(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Every market entity's row as stored, paged by USCC (those after ``after``)."""
        with self._sessions() as s:
            q = (select(MarketEntity).options(lazyload(MarketEntity.licenses)).order_by(MarketEntity.uscc)
                 .limit(limit))
            if after is not None:
                q = q.where(MarketEntity.uscc > after)
            return [{"uscc": e.uscc, "entity_kind": e.entity_kind, "name": e.name, "status": e.status,
                     "status_changed_at": _iso(e.status_changed_at), "status_reason": e.status_reason,
                     "current_version": e.current_version, "established_on": _iso(e.established_on)}
                    for e in s.scalars(q)]

    def audit_events(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Every registration result accepted (the idempotency record), paged by ``event_id`` (those
        after ``after``): its kind, USCC, the SHA-256 of its body as received, when, and the answer
        stored for replays (status and body)."""
        with self._sessions() as s:
            q = select(RegistrationEvent).order_by(RegistrationEvent.event_id).limit(limit)
            if after is not None:
                q = q.where(RegistrationEvent.event_id > after)
            return [{"event_id": e.event_id, "kind": e.kind, "uscc": e.uscc, "body_sha256": e.body_sha256,
                     "received_at": _iso(e.received_at), "response_status": e.response_status,
                     "response_body": e.response_body}
                    for e in s.scalars(q)]

    def status_list(self, purpose: str, list_no: int) -> StatusListRow | None:
        """A signed status list as served (its ``token``, and when it was last signed)."""
        with self._sessions() as s:
            return s.get(StatusListRow, (purpose, list_no))


# -- the verifier's lookups ------------------------------------------------------------------------
@dataclass(frozen=True)
class LicenseRow:
    """A license version as the registry has it, with its entity's status and current version, and,
    when it is not the current version, its sibling versions (to name the successor and the current
    one). ``lic`` and the siblings are plain Core rows (attribute access by column name)."""

    lic: Any
    entity_status: str
    current_version: int
    siblings: tuple[Any, ...]


_LV = LicenseVersion.__table__
_ME = MarketEntity.__table__
# built once: building a statement costs more than SQLite takes to run it
_WITH_ENTITY = select(_LV, _ME.c.status.label("entity_status"), _ME.c.current_version).join(
    _ME, _ME.c.uscc == _LV.c.uscc)
_BY_SERIAL = _WITH_ENTITY.where(_LV.c.serial == bindparam("key"))
_BY_VERSION = _WITH_ENTITY.where((_LV.c.uscc == bindparam("key")) & (_LV.c.version == bindparam("version")))
_CURRENT_OF = _WITH_ENTITY.where((_LV.c.uscc == bindparam("key")) & (_LV.c.version == _ME.c.current_version))
_BY_PDF = select(_LV.c.uscc, _LV.c.serial).where(_LV.c.pdf_sha256 == bindparam("key"))
_SIBLINGS = select(_LV.c.license_id, _LV.c.version, _LV.c.status, _LV.c.issued_at, _LV.c.token, _LV.c.qr_token,
                   _LV.c.record
                   ).where(_LV.c.uscc == bindparam("key"))


def _lookup(c: Connection, query: Any, key: str, **more: Any) -> LicenseRow | None:
    """One query for the license and its entity (plain rows on a Core connection: the hot path of
    every verification); a second, for the sibling versions, only when it is not the current version."""
    row = c.execute(query, {"key": key, **more}).one_or_none()
    if row is None:
        return None
    siblings: tuple[Any, ...] = ()
    if row.version != row.current_version:
        siblings = tuple(c.execute(_SIBLINGS, {"key": row.uscc}).all())
    return LicenseRow(row, row.entity_status, row.current_version, siblings)


_VERSIONS = select(_LV.c.version, _LV.c.record, _LV.c.registered_on).where(_LV.c.uscc == bindparam("key")).order_by(
    _LV.c.version)


def former_names(c: Connection, uscc: str) -> dict[str, date]:
    """The entity's former names (曾用名), each with the day its successor was registered (the last day
    it was the name is the day before); its current name is not among them."""
    names = [(json.loads(r.record)["entity"]["name"], r.registered_on) for r in c.execute(_VERSIONS, {"key": uscc})]
    former: dict[str, date] = {}
    for (name, _), (later, registered_on) in itertools.pairwise(names):
        if later != name:
            former[name] = registered_on
    if names:
        former.pop(names[-1][0], None)
    return former


def license_by_serial(c: Connection, serial: str) -> LicenseRow | None:
    """The license version with this 证照编号."""
    return _lookup(c, _BY_SERIAL, serial)


def license_by_version(c: Connection, uscc: str, version: int) -> LicenseRow | None:
    """Version ``version`` of entity ``uscc``'s license (what a compact token names)."""
    return _lookup(c, _BY_VERSION, uscc, version=version)


def current_license(c: Connection, uscc: str) -> LicenseRow | None:
    """The entity's current license version."""
    return _lookup(c, _CURRENT_OF, uscc)


def issued_pdf(c: Connection, sha256: str) -> tuple[str, str] | None:
    """The USCC and serial of the license version whose PDF as issued has this SHA-256 (hex), if any
    (``license_versions.pdf_sha256``, indexed since migration 0010)."""
    row = c.execute(_BY_PDF, {"key": sha256}).first()
    return (row.uscc, row.serial) if row is not None else None
