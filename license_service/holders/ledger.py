"""Every change to holder rows, each committed with its log leaf (``leaves.py``) in the caller's
transaction: invitations and enrolment (binding), revocation with its cascade, the suspension a
change of legal representative causes and the new one's decision, the end of every binding when
the entity is cancelled or revoked.

Rules are ``domain/holding.py``'s; each refusal is a :class:`HolderRefused` with its own code.
Every function takes ``at``.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db.models import Holder, HolderInvitation, HolderPasskey, HolderSession, LicenseVersion, MarketEntity
from ..domain.holding import (
    HolderRefused,
    HolderRole,
    HolderStatus,
    Scope,
    check_grant,
    parse_scope,
)
from ..errors import NotFound
from ..log.writer import IssuanceLog
from .leaves import holder_leaf
from .standing import effective_status, secret_digest, standing_of

__all__ = ["HolderLedger", "IssuedInvitation", "normalize_code"]

#: Crockford's base32 (no I, L, O, U): what a person reads off a slip and types
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 10  # 50 bits; typed codes are rate-limited and expire in hours


def normalize_code(code: str) -> str:
    """A typed code as stored: upper case, separators dropped, O->0 and I/L->1 (Crockford)."""
    text = re.sub(r"[\s\-]", "", code.upper()).replace("O", "0").replace("I", "1").replace("L", "1")
    return text


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))


def _same_name(a: str, b: str) -> bool:
    def norm(x: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", x))
    return norm(a) == norm(b)


def _within(inner: Scope, outer: Scope) -> Scope | None:
    """``inner`` cut down to ``outer`` (None: nothing left)."""
    if outer.covers(inner):
        return inner
    if inner.matters is None:
        return outer
    common = inner.matters & (outer.matters or frozenset())
    return Scope(common) if common else None


def _usable(inv: HolderInvitation, at: datetime) -> HolderInvitation:
    if inv.used_at is not None:
        raise HolderRefused("this invitation was already used: ask for a new one", code="holders.invitation_used")
    if at >= inv.expires_at:
        raise HolderRefused("this invitation has expired: ask for a new one", code="holders.invitation_expired")
    return inv


@dataclass(frozen=True)
class IssuedInvitation:
    invitation_id: str
    secret: str  # in the invitation URL; shown once, stored hashed
    code: str  # typed at /holder/enrol; shown once, stored hashed
    expires_at: datetime

    @property
    def display_code(self) -> str:
        return f"{self.code[:5]}-{self.code[5:]}"


class HolderLedger:
    def __init__(self, log: IssuanceLog, *, invitation_ttl: timedelta) -> None:
        self._log = log
        self._ttl = invitation_ttl

    # -- reads --------------------------------------------------------------------------------
    @staticmethod
    def registered_representative(s: Session, uscc: str) -> tuple[MarketEntity, str]:
        """The entity and the person its current license names (法定代表人 / 负责人 ...).
        Raises NotFound for an unknown USCC, HolderRefused for an entity that is not active."""
        entity = s.get(MarketEntity, uscc)
        if entity is None:
            raise NotFound(f"no market entity has USCC {uscc}", code="entity.unknown")
        if entity.status != "active":
            raise HolderRefused(f"the entity is {entity.status}: its license has no holders now",
                                code="holders.entity_not_active")
        lic = s.execute(select(LicenseVersion.record).where(
            LicenseVersion.uscc == uscc, LicenseVersion.version == entity.current_version)).scalar_one()
        return entity, str(json.loads(lic)["entity"]["representative"])

    # -- invitations ----------------------------------------------------------------------------
    def invite(self, s: Session, *, uscc: str, role: HolderRole, name: str, created_by: str,
               grantor: Holder | None = None, scope: Scope | None = None, not_before: datetime | None = None,
               expires_at: datetime | None = None, at: datetime) -> IssuedInvitation:
        """A single-use invitation valid for the ledger's TTL. From the window (``grantor`` None) only
        for the legal representative, whose ``name`` must be the one the registry holds; from a holder,
        for an administrator or handler within the grant rules (checked again when it is used)."""
        entity, registered = self.registered_representative(s, uscc)
        scope = scope or Scope(None)
        not_before = not_before or at
        if grantor is None:
            if role is not HolderRole.LEGAL_REPRESENTATIVE:
                raise HolderRefused("the window invites the legal representative; administrators and handlers are "
                                    "invited by their grantor from the holder's pages", code="holders.role_by_grantor")
            if not _same_name(name, registered):
                raise HolderRefused("the name is not the one the registry holds for this role",
                                    code="holders.name_not_registered")
        else:
            if grantor.uscc != uscc:
                raise HolderRefused("a holder grants only for their own entity", code="holders.other_entity")
            if expires_at is None:
                raise HolderRefused("a grant needs expires_at", code="holders.expiry_missing")
            check_grant(standing_of(grantor, at), role, scope, not_before, expires_at,
                        administrators=self._administrators(s, uscc, at, pending=True), at=at)
        secret, code = secrets.token_urlsafe(24), _new_code()
        inv = HolderInvitation(
            invitation_id=secrets.token_hex(16), secret_sha256=secret_digest(secret),
            code_sha256=secret_digest(code), uscc=entity.uscc, role=role.value, name=name,
            granted_by=grantor.holder_id if grantor else None, created_by=created_by, scope=scope.as_text(),
            grant_not_before=not_before, grant_expires_at=expires_at if grantor else None, created_at=at,
            expires_at=at + self._ttl, used_at=None, holder_id=None)
        s.add(inv)
        s.flush()
        return IssuedInvitation(inv.invitation_id, secret, code, inv.expires_at)

    @staticmethod
    def _administrators(s: Session, uscc: str, at: datetime, *, pending: bool) -> int:
        """Administrators bound (active or suspended, not expired), and with ``pending`` the unused,
        unexpired invitations to be one: five places, whoever takes them first."""
        bound = int(s.execute(select(func.count()).select_from(Holder).where(
            Holder.uscc == uscc, Holder.role == HolderRole.ADMINISTRATOR.value,
            Holder.status.in_([HolderStatus.ACTIVE.value, HolderStatus.SUSPENDED.value]),
            (Holder.expires_at.is_(None)) | (Holder.expires_at > at))).scalar_one())
        if not pending:
            return bound
        return bound + int(s.execute(select(func.count()).select_from(HolderInvitation).where(
            HolderInvitation.uscc == uscc, HolderInvitation.role == HolderRole.ADMINISTRATOR.value,
            HolderInvitation.used_at.is_(None), HolderInvitation.expires_at > at)).scalar_one())

    @staticmethod
    def open_invitation(s: Session, *, secret: str | None = None, code: str | None = None, uscc: str | None = None,
                        at: datetime) -> HolderInvitation:
        """The usable invitation a secret (from its URL) or a typed code (with the entity's USCC)
        names. Refuses: unknown (``holders.invitation_unknown``), for another entity
        (``holders.invitation_other_entity``), used (``holders.invitation_used``), expired
        (``holders.invitation_expired``)."""
        digest = secret_digest(secret) if secret else secret_digest(normalize_code(code or ""))
        column = HolderInvitation.secret_sha256 if secret else HolderInvitation.code_sha256
        inv = s.execute(select(HolderInvitation).where(column == digest)).scalar_one_or_none()
        if inv is None:
            raise HolderRefused("no such invitation: check the code, or ask for a new one",
                                code="holders.invitation_unknown")
        if uscc is not None and inv.uscc != uscc:
            raise HolderRefused("this invitation is for another entity", code="holders.invitation_other_entity")
        return _usable(inv, at)

    @staticmethod
    def open_invitation_by_id(s: Session, invitation_id: str, *, at: datetime) -> HolderInvitation:
        """The invitation a registration ceremony was begun for, if it is still usable."""
        inv = s.get(HolderInvitation, invitation_id)
        if inv is None:
            raise HolderRefused("no such invitation", code="holders.invitation_unknown")
        return _usable(inv, at)

    # -- binding --------------------------------------------------------------------------------
    def bind(self, s: Session, inv: HolderInvitation, *, credential_id: str, public_key: bytes, sign_count: int,
             user_handle: str, at: datetime) -> Holder:
        """Enrol the invited person with their first passkey; the invitation is used up. A new legal
        representative replaces (ends) a former one's binding; the former's grants stay suspended
        for the new one to confirm or revoke. The grant rules are checked again against the grantor
        as it stands now."""
        locked = s.execute(select(HolderInvitation).where(HolderInvitation.invitation_id == inv.invitation_id,
                                                          HolderInvitation.used_at.is_(None))
                           .with_for_update()).scalar_one_or_none()
        if locked is None:
            raise HolderRefused("this invitation was already used: ask for a new one", code="holders.invitation_used")
        role = HolderRole(inv.role)
        _, registered = self.registered_representative(s, inv.uscc)
        if inv.granted_by is None:
            if not _same_name(inv.name, registered):
                raise HolderRefused("the registry now names another person for this role",
                                    code="holders.name_not_registered")
        else:
            grantor = s.get(Holder, inv.granted_by)
            assert grantor is not None and inv.grant_expires_at is not None
            check_grant(standing_of(grantor, at), role, parse_scope(inv.scope), inv.grant_not_before,
                        inv.grant_expires_at, at=at,
                        administrators=self._administrators(s, inv.uscc, at, pending=False))
        holder = Holder(
            holder_id=secrets.token_hex(16), uscc=inv.uscc, role=role.value, name=inv.name,
            name_salt=secrets.token_hex(16), granted_by=inv.granted_by, scope=inv.scope,
            not_before=inv.grant_not_before, expires_at=inv.grant_expires_at, status=HolderStatus.ACTIVE.value,
            status_reason=None, status_changed_at=at, created_at=at, user_handle=user_handle, leaf_index=None)
        if role is HolderRole.LEGAL_REPRESENTATIVE:
            for former in s.execute(select(Holder).where(
                    Holder.uscc == inv.uscc, Holder.role == HolderRole.LEGAL_REPRESENTATIVE.value,
                    Holder.status.in_([HolderStatus.ACTIVE.value, HolderStatus.SUSPENDED.value]))).scalars():
                self._set(s, former, HolderStatus.ENDED, "holder.ended", "replaced", at)
        s.add(holder)
        s.add(HolderPasskey(credential_id=credential_id, holder_id=holder.holder_id, public_key=public_key,
                            sign_count=sign_count, label="1", created_at=at, last_used_at=at))
        locked.used_at = at
        locked.holder_id = holder.holder_id
        s.flush()
        holder.leaf_index = self._log.append(s, holder_leaf(holder, "holder.bound", at=at), at=at)
        return holder

    # -- revocation, suspension, restoration ------------------------------------------------------
    def _set(self, s: Session, h: Holder, status: HolderStatus, action: str, reason: str | None,
             at: datetime) -> None:
        h.status = status.value
        h.status_reason = reason
        h.status_changed_at = at
        if status is not HolderStatus.ACTIVE:  # what they hold is void at once: their sessions end
            s.execute(delete(HolderSession).where(HolderSession.holder_id == h.holder_id))
        s.flush()
        h.leaf_index = self._log.append(s, holder_leaf(h, action, at=at, reason=reason), at=at)

    @staticmethod
    def _granted_by(s: Session, holder_ids: list[str]) -> list[Holder]:
        return list(s.execute(select(Holder).where(Holder.granted_by.in_(holder_ids))).scalars())

    def descendants(self, s: Session, h: Holder) -> list[Holder]:
        """Everyone ``h`` granted, and everyone they granted, breadth first."""
        out: list[Holder] = []
        frontier = [h.holder_id]
        while frontier:
            found = self._granted_by(s, frontier)
            out += found
            frontier = [x.holder_id for x in found]
        return out

    def may_manage(self, s: Session, actor: Holder, target: Holder, at: datetime) -> bool:
        """The legal representative manages every grant of the entity; an administrator, those it granted."""
        if target.uscc != actor.uscc or effective_status(actor, at) != HolderStatus.ACTIVE.value:
            return False
        if actor.role == HolderRole.LEGAL_REPRESENTATIVE.value:
            return target.role != HolderRole.LEGAL_REPRESENTATIVE.value
        return any(d.holder_id == target.holder_id for d in self.descendants(s, actor))

    def revoke(self, s: Session, target: Holder, *, by: Holder | None, reason: str, at: datetime) -> list[Holder]:
        """Revoke ``target`` and, at once, everything it granted (``by`` None: the window). Returns
        the holders revoked."""
        if by is not None and not self.may_manage(s, by, target, at):
            raise HolderRefused("you may revoke only grants you manage", code="holders.not_yours")
        done = []
        for h in [target, *self.descendants(s, target)]:
            if h.status in (HolderStatus.ACTIVE.value, HolderStatus.SUSPENDED.value):
                self._set(s, h, HolderStatus.REVOKED, "holder.revoked",
                          reason if h is target else "grantor_revoked", at)
                done.append(h)
        return done

    def narrow(self, s: Session, target: Holder, *, by: Holder, scope: Scope, expires_at: datetime,
               at: datetime) -> None:
        """Reduce ``target``'s scope and/or expiry (never widen); its own grants are narrowed to fit."""
        if not self.may_manage(s, by, target, at):
            raise HolderRefused("you may narrow only grants you manage", code="holders.not_yours")
        current = parse_scope(target.scope)
        if not current.covers(scope) or (target.expires_at is not None and expires_at > target.expires_at):
            raise HolderRefused("narrowing cannot widen a grant: issue a new one", code="holders.widening")
        if expires_at <= at:
            raise HolderRefused("expires_at is already past: revoke instead", code="holders.expiry_past")
        for h in [target, *self.descendants(s, target)]:
            within = scope if h is target else _within(parse_scope(h.scope), scope)
            if within is None:  # nothing of its scope is left
                self._set(s, h, HolderStatus.REVOKED, "holder.revoked", "grantor_narrowed", at)
                continue
            h.scope = within.as_text()
            if h.expires_at is None or h.expires_at > expires_at:
                h.expires_at = expires_at
            self._set(s, h, HolderStatus(h.status), "holder.narrowed", None, at)

    def suspend_for_new_representative(self, s: Session, uscc: str, at: datetime) -> None:
        """A change event named another legal representative: the former's binding and every grant
        under it are suspended until the new one, once enrolled, confirms or revokes them."""
        for lr in s.execute(select(Holder).where(
                Holder.uscc == uscc, Holder.role == HolderRole.LEGAL_REPRESENTATIVE.value,
                Holder.status == HolderStatus.ACTIVE.value)).scalars().all():
            for h in [lr, *self.descendants(s, lr)]:
                if h.status == HolderStatus.ACTIVE.value:
                    self._set(s, h, HolderStatus.SUSPENDED, "holder.suspended", "representative_changed", at)

    def end_all(self, s: Session, uscc: str, reason: str, at: datetime) -> None:
        """The entity was cancelled or revoked: every binding ends."""
        for h in s.execute(select(Holder).where(Holder.uscc == uscc, Holder.status.in_(
                [HolderStatus.ACTIVE.value, HolderStatus.SUSPENDED.value]))).scalars().all():
            self._set(s, h, HolderStatus.ENDED, "holder.ended", reason, at)

    def confirm(self, s: Session, target: Holder, *, by: Holder, at: datetime) -> None:
        """The new legal representative keeps a grant suspended by the change: it is theirs now."""
        if by.role != HolderRole.LEGAL_REPRESENTATIVE.value or effective_status(by, at) != HolderStatus.ACTIVE.value \
                or by.uscc != target.uscc:
            raise HolderRefused("only the entity's legal representative confirms suspended grants",
                                code="holders.confirm_by_representative")
        if target.status != HolderStatus.SUSPENDED.value:
            raise HolderRefused("only a suspended grant can be confirmed", code="holders.not_suspended")
        grantor = s.get(Holder, target.granted_by) if target.granted_by else None
        if grantor is not None and grantor.role == HolderRole.LEGAL_REPRESENTATIVE.value:
            target.granted_by = by.holder_id
        elif grantor is not None and grantor.status != HolderStatus.ACTIVE.value:
            raise HolderRefused("confirm its grantor first", code="holders.grantor_suspended")
        self._set(s, target, HolderStatus.ACTIVE, "holder.restored", "confirmed", at)

    def on_registration(self, s: Session, uscc: str, *, kind: str, representative_changed: bool,
                        at: datetime) -> None:
        """What a registration result does to the entity's holders (called in its transaction)."""
        if kind in ("cancellation", "revocation"):
            self.end_all(s, uscc, f"entity_{kind}", at)
        elif representative_changed:
            self.suspend_for_new_representative(s, uscc, at)
