"""Signed-in holders. A session is born of a passkey assertion and lives :data:`SESSION_TTL` at most;
the cookie carries a random id, the table its SHA-256. Each session has a CSRF token that every form
and script request echoes. Grants and revocations need a passkey assertion within
:data:`REAUTH_WINDOW` (re-authentication); a holder whose status changes loses every session
(``ledger.HolderLedger._set``)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..db.models import Holder, HolderSession
from .standing import effective_status, secret_digest

__all__ = ["REAUTH_WINDOW", "SESSION_TTL", "HolderSessions", "SignedIn"]

SESSION_TTL = timedelta(minutes=30)
REAUTH_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedIn:
    session: HolderSession
    holder: Holder

    def fresh(self, at: datetime) -> bool:
        """Proven with a passkey within the re-authentication window."""
        return at - self.session.authenticated_at <= REAUTH_WINDOW

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.session.csrf.encode())


class HolderSessions:
    @staticmethod
    def start(s: Session, holder: Holder, credential_id: str, at: datetime) -> str:
        """A new session for ``holder``; returns the cookie value (shown once, stored hashed)."""
        s.execute(delete(HolderSession).where(HolderSession.expires_at < at))
        cookie = secrets.token_urlsafe(32)
        s.add(HolderSession(id_sha256=secret_digest(cookie), holder_id=holder.holder_id, credential_id=credential_id,
                            csrf=secrets.token_urlsafe(24), authenticated_at=at, expires_at=at + SESSION_TTL))
        return cookie

    @staticmethod
    def find(s: Session, cookie: str | None, at: datetime) -> SignedIn | None:
        """The live session ``cookie`` names, of a holder active now (None: sign in again)."""
        if not cookie or len(cookie) > 100:
            return None
        row = s.get(HolderSession, secret_digest(cookie))
        if row is None or at >= row.expires_at:
            return None
        holder = s.get(Holder, row.holder_id)
        if holder is None or effective_status(holder, at) != "active":
            return None
        return SignedIn(row, holder)

    @staticmethod
    def reauthenticated(s: Session, signed_in: SignedIn, at: datetime) -> None:
        row = s.get(HolderSession, signed_in.session.id_sha256)
        if row is not None:
            row.authenticated_at = at

    @staticmethod
    def end(s: Session, cookie: str | None) -> None:
        if cookie:
            s.execute(delete(HolderSession).where(HolderSession.id_sha256 == secret_digest(cookie)))
