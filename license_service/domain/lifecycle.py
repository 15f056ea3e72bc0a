"""Registration kinds and the state machine of entities and license versions.

设立 establishment creates an entity and version 1; 变更 change issues version N+1 and supersedes N;
吊销 revocation (enforcement) ends the license's force while the entity still exists (吊销，未注销);
注销 cancellation deregisters the entity. Both end the current license at once; history stays.
换发 re-issuance (the registrar's own act, e.g. after a key or template change, never sent by the
registration system) issues version N+1 with the same registered items and supersedes N.
补发 replacement (on the holder's report of loss or damage, sent by the registration system with the
USCC and the reason) does the same as its own, logged action.
"""

from __future__ import annotations

import enum

from .errors import DomainError

__all__ = ["EntityStatus", "LicenseStatus", "RegistrationKind", "TransitionRefused", "check_transition"]


class RegistrationKind(enum.StrEnum):
    ESTABLISHMENT = "establishment"  # 设立
    CHANGE = "change"  # 变更
    CANCELLATION = "cancellation"  # 注销
    REVOCATION = "revocation"  # 吊销
    REISSUE = "reissue"  # 换发: same registered items, current keys and template
    REPLACEMENT = "replacement"  # 补发: on loss or damage, same registered items


class EntityStatus(enum.StrEnum):
    ACTIVE = "active"  # 存续
    REVOKED = "revoked"  # 吊销，未注销
    CANCELLED = "cancelled"  # 注销


class LicenseStatus(enum.StrEnum):
    CURRENT = "current"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


class TransitionRefused(DomainError):
    """The registry's state does not allow this registration (answered 409)."""

    code = "transition_refused"


def check_transition(kind: RegistrationKind, status: EntityStatus | None) -> EntityStatus:
    """The entity's status after ``kind`` is applied to an entity in ``status`` (None: unknown USCC).

    Raises :class:`TransitionRefused` with a stable code when the transition is not allowed.
    """
    if kind is RegistrationKind.ESTABLISHMENT:
        if status is not None:
            raise TransitionRefused("an entity with this USCC is already registered", code="entity.exists")
        return EntityStatus.ACTIVE
    if status is None:
        raise TransitionRefused("no entity is registered with this USCC", code="entity.unknown")
    if status is EntityStatus.CANCELLED:
        raise TransitionRefused("the entity is cancelled (注销); nothing more can be registered",
                                code="entity.cancelled")
    if kind in (RegistrationKind.CHANGE, RegistrationKind.REISSUE, RegistrationKind.REPLACEMENT):
        if status is EntityStatus.REVOKED:
            raise TransitionRefused(f"a revoked entity (吊销) cannot have a {kind.value}", code="entity.revoked")
        return EntityStatus.ACTIVE
    if kind is RegistrationKind.REVOCATION:
        if status is EntityStatus.REVOKED:
            raise TransitionRefused("the entity is already revoked (吊销)", code="entity.revoked")
        return EntityStatus.REVOKED
    return EntityStatus.CANCELLED
