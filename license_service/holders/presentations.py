"""亮照: a holder shows the license with a dynamic QR. Each QR carries
``{public base URL}/p/{handle}``: a 128-bit random handle, valid :data:`HANDLE_TTL`, redeemable once,
by whoever scans it (the public page) or by a platform (``POST /api/v1/verify/presentation``). Only
the handle's SHA-256 is stored.

The verifier redeems (``redeem``); the holder's pages create (``create``). Neither needs a key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db.models import Holder, Presentation
from ..domain.holding import HolderRefused
from .standing import effective_status, secret_digest

__all__ = ["HANDLE_TTL", "PRESENTATION_PATH", "Redemption", "create", "redeem"]

HANDLE_TTL = timedelta(seconds=120)
PRESENTATION_PATH = "/p/"
_HANDLE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def create(s: Session, holder: Holder, at: datetime) -> tuple[str, datetime]:
    """A new handle for ``holder`` (active now); returns it and when it expires."""
    if effective_status(holder, at) != "active":
        raise HolderRefused(f"a {effective_status(holder, at)} holder cannot present the license",
                            code="holders.not_active")
    handle = secrets.token_urlsafe(16)  # 128 bits, 22 characters
    expires = at + HANDLE_TTL
    s.add(Presentation(handle_sha256=secret_digest(handle), holder_id=holder.holder_id, uscc=holder.uscc,
                       created_at=at, expires_at=expires, redeemed_at=None, redeemed_by=None, verdict=None))
    return handle, expires


@dataclass(frozen=True)
class Redemption:
    """What a scan of a handle found: ``reason`` is ``presentation.ok`` or why it is no good
    (``presentation.unknown``, ``.redeemed``, ``.expired``, ``.holder_revoked``, ``.holder_suspended``,
    ``.holder_expired``, ``.holder_ended``); the presentation and holder when there is one."""

    reason: str
    presentation: Presentation | None = None
    holder: Holder | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "presentation.ok"


def redeem(s: Session, handle: str, *, by: str, at: datetime) -> Redemption:
    """Redeem ``handle`` once, by ``by`` (``public`` or ``client:<id>``) at ``at``, in ``s``'s
    transaction: a single conditional update, so of two scans racing one wins."""
    if not 16 <= len(handle) <= 64 or not set(handle) <= _HANDLE_CHARS:
        return Redemption("presentation.unknown")
    digest = secret_digest(handle)
    result = s.execute(update(Presentation).where(
        Presentation.handle_sha256 == digest, Presentation.redeemed_at.is_(None), Presentation.expires_at > at)
        .values(redeemed_at=at, redeemed_by=by))
    won = getattr(result, "rowcount", 0) == 1
    p = s.execute(select(Presentation).where(Presentation.handle_sha256 == digest)).scalar_one_or_none()
    if p is None:
        return Redemption("presentation.unknown")
    if not won:
        return Redemption("presentation.redeemed" if p.redeemed_at is not None else "presentation.expired", p)
    holder = s.get(Holder, p.holder_id)
    assert holder is not None
    status = effective_status(holder, at)
    if status != "active":
        return Redemption(f"presentation.holder_{status}", p, holder)
    return Redemption("presentation.ok", p, holder)
