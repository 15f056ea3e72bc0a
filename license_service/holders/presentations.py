"""亮照: a holder shows the license with a dynamic QR. Each QR carries
``{public base URL}/p/{handle}``: a 128-bit random handle, valid :data:`HANDLE_TTL`, redeemable once,
by whoever scans it (the public page) or by a platform (``POST /api/v1/verify/presentation``). Only
the handle's SHA-256 is stored.

The verifier redeems (``redeem``); the holder's pages create (``create``). Neither needs a key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from ..db.models import Holder, MarketEntity, Presentation
from ..domain.holding import HolderRefused, HolderRole, role_label
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
    ``.holder_expired``, ``.holder_not_yet``, ``.holder_ended``); ``presenter`` who showed it (and
    the presentation's times) when there is one."""

    reason: str
    presenter: dict[str, Any] | None = None
    #: when a used code was scanned, or when an unused one expired
    when: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "presentation.ok"


_P = Presentation.__table__
_H = Holder.__table__
_E = MarketEntity.__table__
# built once (building a statement costs more than SQLite takes to run it); the verifier's hot write
_CLAIM = (update(Presentation).where((_P.c.handle_sha256 == bindparam("digest")) & _P.c.redeemed_at.is_(None)
                           & (_P.c.expires_at > bindparam("at")))
          .values(redeemed_at=bindparam("at"), redeemed_by=bindparam("by"))
          .returning(_P.c.holder_id, _P.c.created_at, _P.c.expires_at))
_SEEN = select(_P.c.redeemed_at, _P.c.expires_at).where(_P.c.handle_sha256 == bindparam("digest"))
_PRESENTER = select(_H.c.uscc, _H.c.role, _H.c.name, _H.c.scope, _H.c.status, _H.c.not_before, _H.c.expires_at,
                    _E.c.entity_kind).join(_E, _E.c.uscc == _H.c.uscc).where(_H.c.holder_id == bindparam("holder"))


def redeem(c: Connection, handle: str, *, by: str, at: datetime) -> Redemption:
    """Redeem ``handle`` once, by ``by`` (``public`` or ``client:<id>``) at ``at``, in ``c``'s
    transaction: one conditional update, so of two scans racing one wins; then who presented it."""
    if not 16 <= len(handle) <= 64 or not set(handle) <= _HANDLE_CHARS:
        return Redemption("presentation.unknown")
    digest = secret_digest(handle)
    won = c.execute(_CLAIM, {"digest": digest, "at": at, "by": by}).one_or_none()
    if won is None:
        seen = c.execute(_SEEN, {"digest": digest}).one_or_none()
        if seen is None:
            return Redemption("presentation.unknown")
        if seen.redeemed_at is not None:
            return Redemption("presentation.redeemed", when=seen.redeemed_at)
        return Redemption("presentation.expired", when=seen.expires_at)
    h = c.execute(_PRESENTER, {"holder": won.holder_id}).one()
    status = effective_status(h, at)
    role = HolderRole(h.role)
    presenter = {"uscc": h.uscc, "role": h.role, "role_label": {"zh": role_label(role, h.entity_kind),
                                                                 "en": role_label(role, h.entity_kind, "en")},
                 "name": h.name, "scope": h.scope, "presented_at": _iso(won.created_at),
                 "expires_at": _iso(won.expires_at), "redeemed_at": at.astimezone(UTC).isoformat()}
    return Redemption("presentation.ok" if status == "active" else f"presentation.holder_{status}", presenter)


def _iso(v: datetime) -> str:
    """A stored time (UTC; SQLite returns it naive through Core) in ISO 8601."""
    return (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
