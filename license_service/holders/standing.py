"""Where a holder stands at a time, and how secrets are kept: shared by the holder's pages (issuing
side) and the verifier's redemption of presented codes, with nothing that writes the log."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol

from ..db.models import Holder
from ..domain.holding import HolderRole, HolderStatus, Standing, parse_scope

__all__ = ["effective_status", "secret_digest", "standing_of"]


def secret_digest(secret: str) -> str:
    """Invitation secrets, codes, session ids and presentation handles are stored as this."""
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


class _Dated(Protocol):  # read-only: an ORM row, or a plain statement's row (login.exchange)
    @property
    def status(self) -> str: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...


def effective_status(h: _Dated, at: datetime) -> str:
    """The holder's status at ``at``: its stored status, or ``expired`` / ``not_yet`` for an active
    grant outside its window."""
    if h.status != HolderStatus.ACTIVE.value:
        return h.status
    if h.expires_at is not None and at >= h.expires_at:
        return "expired"
    if at < h.not_before:
        return "not_yet"
    return h.status


def standing_of(h: Holder, at: datetime) -> Standing:
    status = effective_status(h, at)
    return Standing(HolderRole(h.role), HolderStatus(status) if status in HolderStatus.__members__.values()
                    else HolderStatus.REVOKED, parse_scope(h.scope), h.expires_at)
