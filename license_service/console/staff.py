"""Staff accounts, their enrolment, sessions and the record of what they do.

An account is created by ``elicense staff invite`` with a single-use enrolment link (its secret kept
as SHA-256, valid :data:`ENROL_TTL`); opening it enrols a passkey (``holders/passkeys.py``'s
machinery, ceremonies of their own purpose). A session lives :data:`SESSION_TTL` at most and ends
after :data:`IDLE_TIMEOUT` without a request; a supervisor who disables an account ends its
sessions at once (and a session of an account no longer active is refused on its next request).
Every action is a :class:`~license_service.db.models.StaffAction` row (:func:`record`).
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db.models import StaffAction, StaffMember, StaffSession
from ..domain.staff import Division, StaffRefused, StaffRole
from ..errors import AuthError
from ..holders.standing import secret_digest

__all__ = ["ENROL_TTL", "IDLE_TIMEOUT", "SESSION_TTL", "Invited", "SignedInStaff", "StaffLedger", "record"]

ENROL_TTL = timedelta(hours=24)
SESSION_TTL = timedelta(hours=2)
IDLE_TIMEOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class Invited:
    staff_id: str
    secret: str  # shown once, in the enrolment link
    expires_at: datetime


@dataclass(frozen=True)
class SignedInStaff:
    session: StaffSession
    staff: StaffMember

    @property
    def role(self) -> StaffRole:
        return StaffRole(self.staff.role)

    @property
    def division(self) -> Division:
        return Division(self.staff.division_code)

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.session.csrf.encode())

    def require(self, *roles: StaffRole) -> None:
        """Raise StaffRefused (``staff.role``) unless this member has one of ``roles``."""
        if self.role not in roles:
            raise StaffRefused(f"this needs the role {' or '.join(roles)}", code="staff.role")

    def require_entity(self, uscc: str) -> None:
        """Raise StaffRefused (``staff.other_division``) for an entity outside this member's division."""
        if not self.division.covers(uscc):
            raise StaffRefused("this entity is registered in another division", code="staff.other_division")


def record(s: Session, who: StaffMember, action: str, target: str | None, at: datetime,
           **detail: Any) -> None:
    """Keep one staff action: who, when, what it was about (``target``) and its details (JSON)."""
    s.add(StaffAction(staff_id=who.staff_id, division_code=who.division_code, at=at, action=action,
                      target=None if target is None else target[:200],
                      detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None))


class StaffLedger:
    """Accounts and sessions (all methods take the caller's transaction and the time ``at``)."""

    @staticmethod
    def invite(s: Session, *, name: str, role: StaffRole, division: Division, created_by: str,
               at: datetime) -> Invited:
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise StaffRefused("give the person's name (100 characters at most)", code="staff.name")
        staff_id, secret = "st_" + secrets.token_hex(8), secrets.token_urlsafe(24)
        s.add(StaffMember(staff_id=staff_id, name=name, role=role.value, division_code=division.code,
                          status="invited", created_at=at, created_by=created_by[:64],
                          enrol_secret_sha256=secret_digest(secret), enrol_expires_at=at + ENROL_TTL,
                          enrolled_at=None, user_handle=None, status_changed_at=at, status_changed_by=None))
        return Invited(staff_id, secret, at + ENROL_TTL)

    @staticmethod
    def open_enrolment(s: Session, secret: str, at: datetime, *, lock: bool = False) -> StaffMember:
        """The account an enrolment link names, not yet enrolled. Raises AuthError:
        ``staff.enrolment_unknown``, ``staff.enrolment_used`` (a link works once),
        ``staff.enrolment_expired``, ``staff.disabled``."""
        query = select(StaffMember).where(StaffMember.enrol_secret_sha256 == secret_digest(secret or ""))
        member = s.execute(query.with_for_update() if lock else query).scalar_one_or_none() \
            if secret and len(secret) <= 64 else None
        if member is None:
            raise AuthError("no such enrolment link", code="staff.enrolment_unknown")
        if member.enrolled_at is not None:
            raise AuthError("this enrolment link has been used", code="staff.enrolment_used")
        if member.status == "disabled":
            raise AuthError("this account is disabled", code="staff.disabled")
        if at >= member.enrol_expires_at:
            raise AuthError("this enrolment link has expired", code="staff.enrolment_expired")
        return member

    @staticmethod
    def start_session(s: Session, member: StaffMember, at: datetime) -> str:
        """A new session; returns the cookie value (shown once, stored hashed)."""
        s.execute(delete(StaffSession).where(StaffSession.expires_at < at))
        cookie = secrets.token_urlsafe(32)
        s.add(StaffSession(id_sha256=secret_digest(cookie), staff_id=member.staff_id, csrf=secrets.token_urlsafe(24),
                           started_at=at, last_seen_at=at, expires_at=at + SESSION_TTL))
        return cookie

    @staticmethod
    def find(s: Session, cookie: str | None, at: datetime, *, touch: bool = False) -> SignedInStaff | None:
        """The live session ``cookie`` names, of an active account (None: sign in again): within its
        absolute end and its idle timeout. ``touch``: this request counts as use (write sessions)."""
        if not cookie or len(cookie) > 100:
            return None
        row = s.get(StaffSession, secret_digest(cookie))
        if row is None or at >= row.expires_at or at - row.last_seen_at >= IDLE_TIMEOUT:
            return None
        member = s.get(StaffMember, row.staff_id)
        if member is None or member.status != "active":
            return None
        if touch:
            row.last_seen_at = at
        return SignedInStaff(row, member)

    @staticmethod
    def end(s: Session, cookie: str | None) -> None:
        if cookie:
            s.execute(delete(StaffSession).where(StaffSession.id_sha256 == secret_digest(cookie)))

    @staticmethod
    def disable(s: Session, by: SignedInStaff, staff_id: str, at: datetime) -> StaffMember:
        """A supervisor disables an account of their division: its sessions end now. Raises
        StaffRefused (``staff.role``, ``staff.other_division``, ``staff.self``) or AuthError
        (``staff.unknown``)."""
        by.require(StaffRole.SUPERVISOR)
        member = s.get(StaffMember, staff_id) if len(staff_id) <= 32 else None
        if member is None:
            raise AuthError("no such staff member", code="staff.unknown")
        if not by.division.covers_division(member.division_code):
            raise StaffRefused("this account belongs to another division", code="staff.other_division")
        if member.staff_id == by.staff.staff_id:
            raise StaffRefused("ask another supervisor to disable your own account", code="staff.self")
        member.status = "disabled"
        member.status_changed_at = at
        member.status_changed_by = by.staff.staff_id
        s.execute(delete(StaffSession).where(StaffSession.staff_id == member.staff_id))
        record(s, by.staff, "staff.disable", member.staff_id, at)
        return member
