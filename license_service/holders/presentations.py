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

from sqlalchemy.orm import Session

from ..db.models import Holder, Presentation
from ..db.raw import RawSql
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


# the verifier's hot write, as plain SQL (``RawSql``): through SQLAlchemy's Core, its begin, statements
# and commit cost three times what SQLite takes to run them
_CLAIM = ("UPDATE presentations SET redeemed_at = ?, redeemed_by = ? "
          "WHERE handle_sha256 = ? AND redeemed_at IS NULL AND expires_at > ? "
          "RETURNING holder_id, created_at, expires_at")
_SEEN = "SELECT redeemed_at, expires_at FROM presentations WHERE handle_sha256 = ?"
_PRESENTER = ("SELECT h.uscc, h.role, h.name, h.scope, h.status, h.not_before, h.expires_at, e.entity_kind "
              "FROM holders h JOIN market_entities e ON e.uscc = h.uscc WHERE h.holder_id = ?")


@dataclass
class _Grant:
    """The presenter's holding as ``effective_status`` reads it."""

    status: str
    not_before: datetime
    expires_at: datetime | None


def redeem(sql: RawSql, handle: str, *, by: str, at: datetime) -> Redemption:
    """Redeem ``handle`` once, by ``by`` (``public`` or ``client:<id>``) at ``at``, in ``sql``'s
    transaction: one conditional update, so of two scans racing one wins; then who presented it."""
    if not 16 <= len(handle) <= 64 or not set(handle) <= _HANDLE_CHARS:
        return Redemption("presentation.unknown")
    digest = secret_digest(handle)
    when = sql.timestamp(at)
    won = sql.one(_CLAIM, (when, by, digest, when))
    if won is None:
        seen = sql.one(_SEEN, (digest,))
        if seen is None:
            return Redemption("presentation.unknown")
        if seen[0] is not None:
            return Redemption("presentation.redeemed", when=sql.read_timestamp(seen[0]))
        return Redemption("presentation.expired", when=sql.read_timestamp(seen[1]))
    holder_id, created_at, expires_at = won
    uscc, role_value, name, scope, status, not_before, holder_expires, entity_kind = sql.one(_PRESENTER, (holder_id,))
    grant = _Grant(status, sql.read_timestamp(not_before), sql.read_timestamp(holder_expires))  # type: ignore[arg-type]
    standing = effective_status(grant, at)
    role = HolderRole(role_value)
    presenter = {"uscc": uscc, "role": role_value, "role_label": {"zh": role_label(role, entity_kind),
                                                                   "en": role_label(role, entity_kind, "en")},
                 "name": name, "scope": scope, "presented_at": _iso(sql.read_timestamp(created_at)),
                 "expires_at": _iso(sql.read_timestamp(expires_at)), "redeemed_at": at.astimezone(UTC).isoformat()}
    return Redemption("presentation.ok" if standing == "active" else f"presentation.holder_{standing}", presenter)


def _iso(v: datetime | None) -> str:
    """A stored time (aware, UTC) in ISO 8601."""
    assert v is not None
    return v.astimezone(UTC).isoformat()
