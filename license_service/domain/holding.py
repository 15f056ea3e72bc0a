"""Who holds a license (持照): the rules of holder bindings and grants (授权), pure.

A *holder* is a person bound to one market entity in one role:

- the legal representative (法定代表人 / 负责人 / 执行事务合伙人 / 投资人 / 经营者, as the entity kind's
  license prints it), named by the registry;
- a license administrator (执照管理员), at most :data:`MAX_ADMINISTRATORS` per entity, named by the
  legal representative, for all matters or named ones, who may name handlers within them;
- a handler (经办人), named by the legal representative or an administrator, for all matters (全业务)
  or a list of named matters (精准授权, :data:`MATTERS`).

Every grant has ``not_before`` and ``expires_at`` (at most :data:`MAX_GRANT_DAYS` days) and never
exceeds its grantor's scope or expiry (:func:`check_grant`). Revoking a person revokes what they
granted, at once; a change of legal representative suspends the former one's binding and every grant
under it until the new one confirms or revokes them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import DomainError, FieldError

__all__ = ["ALL_MATTERS", "MATTERS", "MAX_ADMINISTRATORS", "MAX_GRANT_DAYS", "HolderRefused", "HolderRole",
           "HolderStatus", "Scope", "Standing", "check_grant", "check_login", "login_matter", "parse_scope",
           "role_label"]

#: at most five license administrators per entity
MAX_ADMINISTRATORS = 5
#: a grant lasts at most a year
MAX_GRANT_DAYS = 366
#: the documented vocabulary of named matters (精准授权); ``login:<client id>`` names one platform
MATTERS: dict[str, tuple[str, str]] = {
    "tax": ("涉税事项", "Tax matters"),
    "bank": ("银行开户与变更", "Bank accounts"),
    "social_security": ("社保与公积金", "Social security and housing fund"),
    "bidding": ("招标投标", "Public bidding"),
    "customs": ("海关事项", "Customs"),
}
ALL_MATTERS = "all"
_LOGIN = re.compile(r"^login:[A-Za-z0-9._-]{1,64}$")


class HolderRole(enum.StrEnum):
    LEGAL_REPRESENTATIVE = "legal_representative"
    ADMINISTRATOR = "administrator"
    HANDLER = "handler"


class HolderStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # the legal representative changed: waits for the new one's decision
    REVOKED = "revoked"  # by a grantor, by the window, or by cascade from its grantor
    ENDED = "ended"  # the entity was cancelled or revoked, or the binding replaced


#: the printed label of the person line, per entity kind (templates/license/*.toml)
_REPRESENTATIVE_LABELS = {
    "company": ("法定代表人", "Legal representative"), "cooperative": ("法定代表人", "Legal representative"),
    "branch": ("负责人", "Person in charge"), "partnership": ("执行事务合伙人", "Managing partner"),
    "sole_proprietorship": ("投资人", "Investor"), "individual_business": ("经营者", "Operator"),
}
_ROLE_LABELS = {HolderRole.ADMINISTRATOR: ("执照管理员", "License administrator"),
                HolderRole.HANDLER: ("经办人", "Handler")}


def role_label(role: HolderRole, entity_kind: str, lang: str = "zh") -> str:
    """The role as people say it: the legal representative by the entity kind's printed label."""
    pair = _REPRESENTATIVE_LABELS.get(entity_kind, ("法定代表人", "Legal representative")) \
        if role is HolderRole.LEGAL_REPRESENTATIVE else _ROLE_LABELS[role]
    return pair[1] if lang == "en" else pair[0]


class HolderRefused(DomainError):
    """What the holder rules refuse (a grant beyond its grantor, a handler granting, a used invitation...)."""

    code = "holders.refused"


@dataclass(frozen=True)
class Scope:
    """All matters, or a set of named ones (never empty)."""

    matters: frozenset[str] | None  # None: all matters

    @property
    def is_all(self) -> bool:
        return self.matters is None

    def covers(self, other: Scope) -> bool:
        if self.matters is None:
            return True
        return other.matters is not None and other.matters <= self.matters

    def allows(self, matter: str) -> bool:
        return self.matters is None or matter in self.matters

    def as_text(self) -> str:
        """Canonical text: ``all`` or the matters sorted, space-separated (stored and logged)."""
        return ALL_MATTERS if self.matters is None else " ".join(sorted(self.matters))


def parse_scope(text: str, *, field: str = "scope") -> Scope:
    """``all`` or a space/comma-separated list of :data:`MATTERS` and ``login:<client id>``.
    Raises :class:`FieldError` naming ``field`` for an unknown matter or an empty list."""
    items = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    if items == [ALL_MATTERS]:
        return Scope(None)
    if not items:
        raise FieldError(field, "holders.scope_empty", "name at least one matter, or 'all'")
    bad = [t for t in items if t not in MATTERS and not _LOGIN.match(t)]
    if bad:
        raise FieldError(field, "holders.scope_unknown",
                         f"unknown matter(s) {', '.join(bad)}: use 'all' or {', '.join(MATTERS)}, login:<client id>")
    return Scope(frozenset(items))


@dataclass(frozen=True)
class Standing:
    """What a grantor holds: its role, scope and validity, as the grant rules need them."""

    role: HolderRole
    status: HolderStatus
    scope: Scope
    expires_at: datetime | None  # the legal representative's binding does not expire


def check_grant(grantor: Standing, role: HolderRole, scope: Scope, not_before: datetime, expires_at: datetime, *,
                administrators: int, at: datetime) -> None:
    """Refuse (:class:`HolderRefused`, each rule its own code) a grant of ``role`` with ``scope`` from
    ``grantor`` at ``at``: only an active legal representative names administrators (at most five);
    handlers are named by the legal representative or an administrator; the grant lies within a year,
    ends after it starts and no later than the grantor's own binding, and its scope is within the
    grantor's."""
    if grantor.status is not HolderStatus.ACTIVE:
        raise HolderRefused(f"a {grantor.status.value} holder grants nothing", code=f"holders.grantor_{grantor.status}")
    if grantor.role is HolderRole.HANDLER:
        raise HolderRefused("a handler cannot grant: ask the legal representative or an administrator",
                           code="holders.handler_cannot_grant")
    if role is HolderRole.LEGAL_REPRESENTATIVE:
        raise HolderRefused("the legal representative is named by the registry, not granted",
                           code="holders.role_not_grantable")
    if role is HolderRole.ADMINISTRATOR:
        if grantor.role is not HolderRole.LEGAL_REPRESENTATIVE:
            raise HolderRefused("only the legal representative names administrators",
                               code="holders.administrator_by_representative")
        if administrators >= MAX_ADMINISTRATORS:
            raise HolderRefused(f"an entity has at most {MAX_ADMINISTRATORS} administrators",
                               code="holders.too_many_administrators")
        if not scope.is_all:
            raise HolderRefused("an administrator holds all matters", code="holders.administrator_scope")
    if expires_at <= at:
        raise HolderRefused("expires_at is already past", code="holders.expiry_past")
    if expires_at <= not_before:
        raise HolderRefused("expires_at must come after not_before", code="holders.expiry_before_start")
    if expires_at - max(not_before, at) > timedelta(days=MAX_GRANT_DAYS) or not_before - at > timedelta(days=30):
        raise HolderRefused("a grant lasts at most a year and starts within 30 days", code="holders.too_long")
    if grantor.expires_at is not None and expires_at > grantor.expires_at:
        raise HolderRefused(f"a grant cannot outlast its grantor's (until {grantor.expires_at.isoformat()})",
                           code="holders.beyond_grantor_expiry")
    if not grantor.scope.covers(scope):
        raise HolderRefused(f"beyond the grantor's scope ({grantor.scope.as_text()})",
                           code="holders.beyond_grantor_scope")


def login_matter(client_id: str) -> str:
    """The named matter that lets a handler log in to platform ``client_id``: ``login:<client id>``."""
    return f"login:{client_id}"


def check_login(status: str, role: HolderRole, scope: Scope, client_id: str, *, entity_status: str) -> None:
    """Refuse (:class:`HolderRefused`) a log-in (扫码登录) to platform ``client_id`` in the entity's
    name: the entity must be in force (``holders.login_entity_<status>``), the holding active at the
    time (``status`` as ``standing.effective_status`` gives it: ``holders.login_<status>`` for
    suspended, revoked, ended, expired or not yet valid), and a delegated holder's scope must cover
    all matters or :func:`login_matter` (``holders.login_not_in_scope``). The legal representative
    may always log in while the entity is in force."""
    if entity_status != "active":
        raise HolderRefused(f"the entity is {entity_status}: nobody logs in in its name",
                           code=f"holders.login_entity_{entity_status}")
    if status != HolderStatus.ACTIVE.value:
        raise HolderRefused(f"this holding is {status}", code=f"holders.login_{status}")
    if role is not HolderRole.LEGAL_REPRESENTATIVE and not scope.allows(login_matter(client_id)):
        raise HolderRefused("your grant does not cover logging in to this platform",
                           code="holders.login_not_in_scope")
