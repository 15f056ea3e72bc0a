"""Who is calling: API access tokens checked with the public access key alone, and the client each
names checked against the registry's list of clients (both services). Minting them is the issuing
side's job (``oauth.py``).

Access tokens are ours alone, so nothing in one is taken on its word (DESIGN.md, trust model): its
key must be in use (never one held compromised; a retired one only until every token it signed has
expired), its lifetime at most the configured TTL and not begun in the future, and its client must
exist and not be disabled. All of it is checked on every request; what is read of a client is
believed for ``Settings.client_status_max_age_seconds`` (seconds), no longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from signing.tokens import CachingVerifier, InvalidToken

from .db.models import ApiClient
from .errors import AuthError, Forbidden, Unavailable

__all__ = ["ACCESS_TOKEN_TYP", "AUDIENCE", "SCOPES", "ClientStatus", "Principal", "verify_access_token"]

SCOPES = frozenset({"registrations:write", "licenses:read", "verify", "audit", "holders:invite"})
AUDIENCE = "elicense-api"
#: the JWS ``typ`` of an access token (RFC 9068 s.2.1): no other kind of our tokens passes for one
ACCESS_TOKEN_TYP = "at+jwt"


@dataclass(frozen=True)
class Principal:
    client_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this token lacks the scope {scope!r}", code="auth.scope")


class ClientStatus:
    """Whether an API client exists and is enabled, as the registry says, remembered per client for
    ``max_age`` seconds (0: read on every call).

    Reads only ``api_clients.client_id`` and ``api_clients.disabled`` (never the secret's hash), so the
    verification service's database role needs no more than those two columns. Only clients named by
    a token that verified are ever looked up, so what is remembered is bounded by the real clients.
    """

    def __init__(self, sessions: sessionmaker[Session], *, max_age: float) -> None:
        self._sessions = sessions
        self._max_age = max_age
        self._known: dict[str, tuple[bool, float]] = {}  # client id -> (enabled, read at: POSIX seconds)

    def is_enabled(self, client_id: str, *, at: datetime) -> bool:
        """True if client ``client_id`` exists and is not disabled, as read at most ``max_age``
        seconds before ``at`` (a clock that went back reads again). Raises :class:`Unavailable` if
        the registry cannot be read."""
        now = at.timestamp()
        known = self._known.get(client_id)
        if known is not None and 0 <= now - known[1] < self._max_age:
            return known[0]
        try:
            with self._sessions() as s:
                disabled = s.execute(select(ApiClient.disabled).where(ApiClient.client_id == client_id)).scalar()
        except SQLAlchemyError:
            raise Unavailable("the registry's list of API clients cannot be read", code="auth.clients_unavailable") \
                from None
        enabled = disabled is not None and not disabled
        self._known[client_id] = (enabled, now)
        return enabled


def verify_access_token(token: str, verifier: CachingVerifier, clients: ClientStatus, *, at: datetime) -> Principal:
    """The client a bearer access token names, as of ``at``: the signature with a key in use, the
    lifetime (``verifier`` is built with ``max_lifetime``), audience and expiry, and the client's
    existence and status (:class:`ClientStatus`). Raises :class:`AuthError` (``auth.invalid_token``,
    the same whatever failed: no oracle for whoever holds a leaked key) or :class:`Unavailable`."""
    try:
        claims = verifier.verify(token, at=at)
    except InvalidToken:
        raise AuthError("the access token is invalid or expired", code="auth.invalid_token") from None
    sub, scope = claims.get("sub"), claims.get("scope", "")
    if claims.get("aud") != AUDIENCE or not isinstance(sub, str) or not isinstance(scope, str):
        raise AuthError("the access token is invalid or expired", code="auth.invalid_token")
    if not clients.is_enabled(sub, at=at):
        raise AuthError("the access token is invalid or expired", code="auth.invalid_token")
    return Principal(sub, frozenset(scope.split()))
