"""Issuance: registration result -> registry update -> canonical record + digest -> QR token ->
PDF -> PAdES seal -> store, all in one database transaction (DESIGN.md, "Issuance, as data flows").

Either all of it is committed or none; a retry with the same ``event_id`` and body gets the stored
answer, with a different body a 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload, sessionmaker

from signing.canonical import canonical_json
from signing.compact_tokens import CompactClaims, sign_compact
from signing.pdf import PdfSealer
from signing.tokens import TokenSigner, sign_claims

from .claims import compact_claims, token_claims
from .db.models import LicenseDocument, LicenseVersion, LongTermForm, MarketEntity, RegistrationEvent
from .db.name_index import index_name
from .db.serials import SerialCounters
from .domain.china_time import china_date
from .domain.entity import Capital, EntityDetails, EntityKind, Term
from .domain.identifiers import LicenseId, LicenseSerial
from .domain.lifecycle import EntityStatus, LicenseStatus, RegistrationKind, TransitionRefused, check_transition
from .domain.uscc import Uscc
from .errors import Conflict
from .events import RegistrationEventIn
from .holders.ledger import HolderLedger
from .log.writer import IssuanceLog
from .registry import license_view
from .rendering.license_pdf import LicensePage, LicenseRenderer
from .status_lists import StatusLists
from .urls import verify_url

__all__ = ["IssuanceService", "Outcome"]

_ATTEMPTS = 3  # a transaction that lost a race on a unique key is applied again, at most this often


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]


#: the shape of the leaves written now (their ``v`` member); leaves without ``v`` are shape 1
_LEAF_SHAPE = 2


def _utc(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def _leaf(ev: RegistrationEventIn, lic: LicenseVersion, entity: MarketEntity, at: datetime, *,
          supersedes: str | None = None, lifecycle: bool = False) -> bytes:
    """The log leaf for one registration result: canonical JSON (DESIGN.md), shape 2 (``"v": 2``).

    It names the action; the license version issued or affected, with the digests of all that is
    shown of it (``record_digest``, ``pdf_sha256``, ``token_sha256``: SHA-256 of the token's ASCII);
    the source event and the SHA-256 of its body as received (``event_body_sha256``, the
    ``registration_events`` row's ``body_sha256``); the authority, the ``reason`` and the times; and
    the facts the registry holds after the event: ``entity`` (the market entity's row: name, kind,
    establishment date, status, since when, why, current version), and for a lifecycle event
    (``lifecycle``: revocation, cancellation) ``license`` (the affected version's status, since when
    and why; unchanged when it was already out of force). An issuance that ``supersedes`` a version
    makes that one superseded as of ``decided_at`` for ``reason``. Times of those facts are UTC.

    Shape 1 (no ``v``) lacks ``token_sha256``, ``event_body_sha256``, ``reason``, ``entity`` and
    ``license``; its lifecycle leaves carry ``entity_status`` and ``license_status`` instead.
    ``elicense audit`` reads both."""
    leaf: dict[str, Any] = {
        "v": _LEAF_SHAPE,
        "action": ev.kind.value, "license_id": lic.license_id, "uscc": lic.uscc, "version": lic.version,
        "record_digest": lic.record_digest, "pdf_sha256": lic.pdf_sha256,
        "token_sha256": hashlib.sha256(lic.token.encode()).hexdigest(),
        "event_id": ev.event_id, "event_body_sha256": ev.body_sha256,
        "authority": {"name": ev.authority.name, "division_code": ev.authority.division_code},
        "decided_at": ev.decided_at.isoformat(), "logged_at": at.astimezone(UTC).isoformat(), "reason": ev.reason,
        "entity": {"name": entity.name, "entity_kind": entity.entity_kind,
                   "established_on": entity.established_on.isoformat(), "status": entity.status,
                   "status_changed_at": _utc(entity.status_changed_at), "status_reason": entity.status_reason,
                   "current_version": entity.current_version},
    }
    if supersedes is not None:
        leaf["supersedes"] = supersedes
    if ev.staff is not None:  # a staff action at the window: who asked and who approved (ids, no names)
        leaf["staff"] = dict(ev.staff)
    if lifecycle:
        leaf["license"] = {"status": lic.status, "status_changed_at": _utc(lic.status_changed_at),
                           "status_reason": lic.status_reason}
    return canonical_json(leaf)


class IssuanceService:
    """Applies registration results to the registry and issues license versions."""

    def __init__(self, sessions: sessionmaker[Session], write_sessions: sessionmaker[Session],
                 serials: SerialCounters, renderer: LicenseRenderer, sealer: PdfSealer,
                 token_key: Callable[[], TokenSigner], *, log: IssuanceLog, base_url: str, type_code: str,
                 issuer_code: str, revocation_data: Callable[[datetime], tuple[bytes, ...]],
                 status: StatusLists, holders: HolderLedger | None = None) -> None:
        self._sessions = sessions
        self._write_sessions = write_sessions
        self._serials = serials
        self._renderer = renderer
        self._sealer = sealer
        self._token_key = token_key
        self._log = log
        self._base_url = base_url
        self._type_code = type_code
        self._issuer_code = issuer_code
        self._revocation_data = revocation_data
        self._status = status
        self._holders = holders

    # -- public -------------------------------------------------------------------------------
    def apply(self, ev: RegistrationEventIn, *, at: datetime, fresh: bool = False) -> Outcome:
        """Apply one registration result at time ``at``; returns the HTTP status and body.

        Raises :class:`Conflict` (``event.conflict``) for an ``event_id`` replayed with another body,
        :class:`TransitionRefused` when the registry's state forbids the change, and
        :class:`~license_service.domain.errors.InvalidInput` for text no font can draw. Nothing is
        written in any of those cases.

        ``fresh``: the caller has just seen no outcome for this event (a re-issuance job), so the
        first attempt skips the read for a stored answer; were it applied after all, its unique
        ``event_id`` rolls the attempt back and the next one returns the stored answer.
        """
        for attempt in range(_ATTEMPTS):
            replay = None if fresh and attempt == 0 else self._replayed(ev)
            if replay is not None:
                return replay
            try:
                with self._write_sessions.begin() as s:
                    outcome = self._apply(s, ev, at)
                    s.add(RegistrationEvent(
                        event_id=ev.event_id, kind=ev.kind.value, uscc=ev.uscc.value, body_sha256=ev.body_sha256,
                        response_status=outcome.status,
                        response_body=json.dumps(outcome.body, ensure_ascii=False), received_at=at,
                    ))
                return outcome
            except IntegrityError:
                # A concurrent transaction won a race on a unique key (the same event_id, the same new
                # USCC, the first serial of a day): nothing of ours was written. Apply again against
                # what it wrote: a replay converges on its answer, a rival gets its 409.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # -- internals ----------------------------------------------------------------------------
    def _replayed(self, ev: RegistrationEventIn) -> Outcome | None:
        with self._sessions() as s:
            stored = s.get(RegistrationEvent, ev.event_id)
            if stored is None:
                return None
            if stored.body_sha256 != ev.body_sha256:
                raise Conflict("this event_id was already used with a different body", code="event.conflict")
            return Outcome(200, json.loads(stored.response_body))

    def _apply(self, s: Session, ev: RegistrationEventIn, at: datetime) -> Outcome:
        entity = s.execute(
            select(MarketEntity).where(MarketEntity.uscc == ev.uscc.value).with_for_update()
            .options(lazyload(MarketEntity.licenses))  # only the current version is needed
        ).scalar_one_or_none()
        new_status = check_transition(ev.kind, EntityStatus(entity.status) if entity else None)
        if ev.kind is RegistrationKind.REPLACEMENT:  # 补发: the registered items as they stand
            assert entity is not None
            record = json.loads(self._current(s, entity).record)
            return self._issue(s, ev, entity, at, EntityDetails.from_record(record["entity"]))
        if ev.kind in (RegistrationKind.ESTABLISHMENT, RegistrationKind.CHANGE, RegistrationKind.REISSUE):
            assert ev.details is not None
            return self._issue(s, ev, entity, at, ev.details)
        assert entity is not None
        current = self._current(s, entity)
        reason = ev.reason
        entity.status = new_status.value
        entity.status_changed_at = ev.decided_at
        entity.status_reason = reason
        if current.status == LicenseStatus.CURRENT.value:
            current.status = (LicenseStatus.REVOKED if ev.kind is RegistrationKind.REVOCATION
                              else LicenseStatus.CANCELLED).value
            current.status_changed_at = ev.decided_at
            current.status_reason = reason
            self._status.leave_force(s, current.status_index, at)
        self._log.append(s, _leaf(ev, current, entity, at, lifecycle=True), at=at)
        if self._holders is not None:  # every binding ends with the entity
            self._holders.on_registration(s, entity.uscc, kind=ev.kind.value, representative_changed=False, at=at)
        s.flush()
        return Outcome(200, {
            "event_id": ev.event_id,
            "entity": {"uscc": entity.uscc, "status": entity.status,
                       "status_changed_at": entity.status_changed_at.isoformat(), "reason": reason},
            "license": license_view(current, self._base_url),
        })

    @staticmethod
    def _current(s: Session, entity: MarketEntity) -> LicenseVersion:
        return s.execute(select(LicenseVersion).where(
            LicenseVersion.uscc == entity.uscc, LicenseVersion.version == entity.current_version)).scalar_one()

    def _issue(self, s: Session, ev: RegistrationEventIn, entity: MarketEntity | None, at: datetime,
               details: EntityDetails) -> Outcome:
        if ev.kind in (RegistrationKind.CHANGE, RegistrationKind.REISSUE):
            assert entity is not None
            if details.kind.value != entity.entity_kind:
                raise TransitionRefused(
                    f"a change keeps the entity kind ({entity.entity_kind}); a new kind is a new registration",
                    code="entity.kind_changed")
            if details.established_on != entity.established_on:
                raise TransitionRefused("a change keeps the establishment date", code="entity.established_on")
        version = 1 if entity is None else entity.current_version + 1
        registered_on = china_date(ev.decided_at)  # registration dates and serial days are Beijing dates
        day = china_date(at)
        serial = LicenseSerial.compose(ev.authority.division_code, day,
                                       self._serials.next(s, ev.authority.division_code, day))
        license_id = str(LicenseId(self._type_code, self._issuer_code, serial.value, version))
        issued_at = at.astimezone(UTC).replace(microsecond=0)
        record = {
            "license_id": license_id, "serial": serial.value, "version": version,
            "entity": details.as_record(),
            "authority": {"name": ev.authority.name, "division_code": ev.authority.division_code},
            "registered_on": registered_on.isoformat(), "issued_at": issued_at.isoformat(),
            "event_id": ev.event_id,
        }
        record_bytes = canonical_json(record)
        lic = LicenseVersion(
            license_id=license_id, uscc=details.uscc.value, version=version, serial=serial.value,
            status=LicenseStatus.CURRENT.value, issued_at=issued_at, registered_on=registered_on,
            record=record_bytes.decode(), record_digest=hashlib.sha256(record_bytes).hexdigest(),
            token="", pdf_sha256="", event_id=ev.event_id, status_index=self._status.allocate(s, at),
        )
        assert lic.status_index is not None
        lic.token = sign_claims(token_claims(
            uscc=lic.uscc, serial=lic.serial, version=version, issued_at=issued_at, record_digest=lic.record_digest,
            name=details.name, representative=details.representative, status=self._status.claim(lic.status_index)),
            self._token_key())
        # the QR code carries the compact form (issue 13: a QR code of version 12 at most, whatever the
        # names); the API and the PDF's metadata keep the full one, which names them
        lic.qr_token = sign_compact(compact_claims(uscc=lic.uscc, version=version, issued_at=issued_at,
                                                  status_index=lic.status_index), self._token_key())
        page = LicensePage(details=details, serial=serial.value, version=version, authority=ev.authority.name,
                           registered_on=registered_on, verify_url=verify_url(self._base_url, lic.qr_token),
                           token=lic.token)
        rendered = self._renderer.render(page)
        pdf = self._sealer.seal(rendered.pdf, box=rendered.seal_box, authority=ev.authority.name,
                                reason=f"{ev.authority.name} 登记 ({ev.kind.value})",
                                location=ev.authority.division_code, at=issued_at)
        lic.pdf_sha256 = hashlib.sha256(pdf).hexdigest()

        lic.document = LicenseDocument(license_id=license_id, pdf=pdf)
        previous_id = previous_representative = None
        if entity is None or entity.name != details.name:
            index_name(s, details.uscc.value, details.name, new=entity is None)
        if entity is None:
            entity = MarketEntity(
                uscc=details.uscc.value, entity_kind=details.kind.value, name=details.name,
                status=EntityStatus.ACTIVE.value, status_changed_at=ev.decided_at, status_reason=None,
                current_version=version, established_on=details.established_on, created_at=at,
            )
            s.add(entity)
        else:
            previous = self._current(s, entity)
            previous_id = previous.license_id
            previous_representative = json.loads(previous.record)["entity"]["representative"]
            previous.status = LicenseStatus.SUPERSEDED.value
            previous.superseded_by = license_id
            previous.status_changed_at = ev.decided_at
            previous.status_reason = ev.reason
            self._status.leave_force(s, previous.status_index, at)
            entity.current_version = version
            entity.name = details.name
        s.add(lic)
        s.flush()  # the rows before the log's lock: it is held from the append to the commit
        lic.leaf_index = self._log.append(s, _leaf(ev, lic, entity, at, supersedes=previous_id), at=at)
        if self._holders is not None and previous_representative not in (None, details.representative):
            # another legal representative: the former's binding and grants wait for the new one
            self._holders.on_registration(s, entity.uscc, kind=ev.kind.value, representative_changed=True, at=at)
        return Outcome(201, {"event_id": ev.event_id, "license": license_view(lic, self._base_url)})

    def long_term(self, pdf: bytes, *, at: datetime) -> bytes:
        """A sealed license in its long-term form (PAdES B-LTA) as of ``at``.

        Given the form as issued: its archived long-term form if ``archive.py`` stored one by ``at``
        (the one kept: its revocation data was gathered once the grace period after the signing time
        had passed, and it is renewed before its timestamp's TSA certificate expires); else one made
        at ``at`` with the revocation data issued then, after the signing time (not stored: made
        within the grace period, it cannot show a compromise reported later). Given a long-term
        form: the same with a new document timestamp (an archive renewal, ``signing.ltv.renew_lta``).
        Raises ``SigningError`` (``ltv.too_early`` for an ``at`` not after the signing time)."""
        with self._sessions() as s:
            archived = s.execute(select(LongTermForm.pdf).where(
                LongTermForm.issued_sha256 == hashlib.sha256(pdf).hexdigest(), LongTermForm.made_at <= at)
            ).scalar_one_or_none()
        if archived is not None:
            return archived
        return self._sealer.long_term(pdf, self._revocation_data(at), at=at)

    def warm_up(self, *, at: datetime) -> None:
        """Sign, render and seal one throwaway license (never stored), so that a new process is ready
        when it says so: its first license would otherwise also pay for loading fonts, the template,
        the QR encoder and the keys (~0.4 s against ~40 ms)."""
        details = EntityDetails(
            uscc=Uscc.parse("91433101MA4L1A2B9M"), kind=EntityKind.COMPANY, name="预热示例有限公司",
            entity_type="有限责任公司", representative="预热", established_on=date(2018, 5, 31),
            business_scope="预热", address="预热", capital=Capital(Decimal(1)), term=Term(date(2018, 5, 31)))
        token = sign_claims({"warm_up": True}, self._token_key())
        qr_token = sign_compact(CompactClaims(details.uscc.value, 1, 0, 0), self._token_key())
        rendered = self._renderer.render(LicensePage(
            details=details, serial="0" * 20, version=1, authority="预热", registered_on=date(2018, 5, 31),
            verify_url=verify_url(self._base_url, qr_token), token=token))
        self._sealer.seal(rendered.pdf, box=rendered.seal_box, authority="预热", reason="预热", location="000000",
                          at=at)

    def check_renderable(self, ev: RegistrationEventIn) -> None:
        """Refuse (422) text no embedded font can draw, before anything is written."""
        if ev.details is not None:
            self._renderer.check(LicensePage(
                details=ev.details, serial="0" * 20, version=1, authority=ev.authority.name,
                registered_on=ev.decided_at.date(), verify_url="", token=""))
