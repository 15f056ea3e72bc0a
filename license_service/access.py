"""Who is calling: API access tokens checked with the public access key alone (both services).
Minting them is the issuing side's job (``oauth.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signing.tokens import CachingVerifier, InvalidToken

from .errors import AuthError, Forbidden

__all__ = ["AUDIENCE", "SCOPES", "Principal", "verify_access_token"]

SCOPES = frozenset({"registrations:write", "licenses:read", "verify", "audit"})
AUDIENCE = "elicense-api"


@dataclass(frozen=True)
class Principal:
    client_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this token lacks the scope {scope!r}", code="auth.scope")


def verify_access_token(token: str, verifier: CachingVerifier, *, at: datetime) -> Principal:
    """Check an access token (signature, audience, expiry at ``at``); raises :class:`AuthError`."""
    try:
        claims = verifier.verify(token, at=at)
    except InvalidToken:
        raise AuthError("the access token is invalid or expired", code="auth.invalid_token") from None
    well_formed = isinstance(claims.get("exp"), int) and isinstance(claims.get("sub"), str)
    if claims.get("aud") != AUDIENCE or not well_formed:
        raise AuthError("the access token is invalid or expired", code="auth.invalid_token")
    return Principal(claims["sub"], frozenset(str(claims.get("scope", "")).split()))
