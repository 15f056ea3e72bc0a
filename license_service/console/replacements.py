"""补发 (replacement after loss or damage) at the window: a clerk files the request with the reason;
a supervisor of the entity's division — not the one who asked — approves or rejects it. On approval
the replacement issuance runs (``IssuanceService.apply``, ``RegistrationKind.REPLACEMENT``) as a
registration result decided at the window: its log leaf names both staff ids (``staff``). The event
id is the request's, so an approval retried after a failure converges on the one issuance."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signing.canonical import canonical_json

from ..db.models import LicenseVersion, MarketEntity, ReplacementRequest
from ..domain.errors import FieldError
from ..domain.lifecycle import RegistrationKind
from ..domain.staff import StaffRefused, StaffRole
from ..domain.uscc import Uscc
from ..errors import NotFound
from ..events import Authority, RegistrationEventIn
from ..issuance import IssuanceService
from .staff import SignedInStaff, record

__all__ = ["decide", "request_replacement"]


def request_replacement(s: Session, who: SignedInStaff, uscc: str, reason: str, at: datetime) -> ReplacementRequest:
    """File a request for ``uscc``'s current license. Raises FieldError (``reason``), NotFound,
    StaffRefused (``staff.role``, ``staff.other_division``, ``replacement.pending``,
    ``replacement.not_active``)."""
    who.require(StaffRole.CLERK, StaffRole.SUPERVISOR)
    who.require_entity(uscc)
    reason = reason.strip()
    if not 2 <= len(reason) <= 200:
        raise FieldError("reason", "length", "say why (遗失, 损坏...), 200 characters at most")
    entity = s.get(MarketEntity, uscc)
    if entity is None:
        raise NotFound("no such entity", code="entity.unknown")
    if entity.status != "active":
        raise StaffRefused("only an entity in good standing gets a replacement", code="replacement.not_active")
    if s.execute(select(ReplacementRequest.request_id).where(
            ReplacementRequest.uscc == uscc, ReplacementRequest.status == "pending")).first() is not None:
        raise StaffRefused("a request for this entity is already waiting for a decision", code="replacement.pending")
    current = s.execute(select(LicenseVersion.license_id).where(
        LicenseVersion.uscc == uscc, LicenseVersion.version == entity.current_version)).scalar_one()
    req = ReplacementRequest(request_id="rr_" + secrets.token_hex(8), uscc=uscc, license_id=current, reason=reason,
                             requested_by=who.staff.staff_id, requested_at=at, status="pending", decided_by=None,
                             decided_at=None, new_license_id=None)
    s.add(req)
    record(s, who.staff, "replacement.request", uscc, at, request_id=req.request_id, reason=reason)
    return req


def _check_decider(s: Session, who: SignedInStaff, request_id: str) -> ReplacementRequest:
    who.require(StaffRole.SUPERVISOR)
    req = s.get(ReplacementRequest, request_id) if len(request_id) <= 32 else None
    if req is None:
        raise NotFound("no such request", code="replacement.unknown")
    who.require_entity(req.uscc)
    if req.requested_by == who.staff.staff_id:
        raise StaffRefused("a request is decided by someone other than who filed it", code="replacement.own_request")
    if req.status != "pending":
        raise StaffRefused(f"this request is already {req.status}", code="replacement.decided")
    return req


def decide(write_sessions: sessionmaker[Session], issuance: IssuanceService, who: SignedInStaff, request_id: str,
           *, approve: bool, at: datetime) -> ReplacementRequest:
    """Approve (issue the replacement) or reject a pending request. Raises StaffRefused
    (``staff.role``, ``staff.other_division``, ``replacement.own_request``, ``replacement.decided``),
    NotFound, and what ``IssuanceService.apply`` raises (the registry refusing the transition)."""
    with write_sessions.begin() as s:
        req = _check_decider(s, who, request_id)
        if not approve:
            req.status, req.decided_by, req.decided_at = "rejected", who.staff.staff_id, at
            record(s, who.staff, "replacement.reject", req.uscc, at, request_id=req.request_id)
            s.flush()
            s.expunge(req)
            return req
        current = s.get(LicenseVersion, req.license_id)
        assert current is not None
        authority = json.loads(current.record)["authority"]
        requested_by = req.requested_by
        uscc, reason = req.uscc, req.reason
    body = {"event_id": f"window-replacement-{request_id}", "kind": "replacement", "uscc": uscc,
            "decided_at": at.isoformat(), "authority": authority, "reason": reason,
            "staff": {"requested_by": requested_by, "approved_by": who.staff.staff_id}}
    ev = RegistrationEventIn(
        event_id=body["event_id"], kind=RegistrationKind.REPLACEMENT, decided_at=at,
        authority=Authority(authority["name"], authority["division_code"]), uscc=Uscc.parse(uscc), details=None,
        reason=reason, body_sha256=hashlib.sha256(canonical_json(body)).hexdigest(), staff=body["staff"])
    outcome = issuance.apply(ev, at=at)
    with write_sessions.begin() as s:
        req2 = s.get(ReplacementRequest, request_id)
        assert req2 is not None
        if req2.status == "pending":
            req2.status, req2.decided_by, req2.decided_at = "approved", who.staff.staff_id, at
            req2.new_license_id = outcome.body["license"]["license_id"]
            record(s, who.staff, "replacement.approve", uscc, at, request_id=request_id,
                   license_id=req2.new_license_id)
        s.flush()
        s.expunge(req2)
        return req2
