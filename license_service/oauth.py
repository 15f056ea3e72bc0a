"""API clients and minting OAuth 2.0 client-credentials access tokens (RFC 6749 s.4.4): the issuing
side only (it holds the access key). Checking them is ``access.py``'s, with the public key alone.

Client secrets are 256-bit random strings stored only as scrypt hashes. Access tokens are short-lived
ES256 JWTs signed with the ``access`` key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from signing.tokens import TokenSigner, sign_claims

from .access import AUDIENCE, SCOPES
from .db.models import ApiClient
from .errors import AuthError, GrantRefused

__all__ = ["create_client", "hash_secret", "issue_access_token", "verify_secret"]

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_CLIENT_ID = re.compile(r"cli_[0-9a-f]{20}")  # what create_client makes; anything else is no client


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt_b64), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def create_client(sessions: sessionmaker[Session], name: str, scopes: list[str], *, at: datetime) -> tuple[str, str]:
    """Register a client; returns (client_id, client_secret). The secret is shown once, never stored."""
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise ValueError(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: {' '.join(sorted(SCOPES))}")
    client_id = "cli_" + secrets.token_hex(10)
    secret = secrets.token_urlsafe(32)
    with sessions.begin() as s:
        s.add(ApiClient(client_id=client_id, name=name, secret_hash=hash_secret(secret),
                        scopes=" ".join(sorted(set(scopes))), created_at=at))
    return client_id, secret


def issue_access_token(sessions: sessionmaker[Session], key: TokenSigner, client_id: str, secret: str,
                       requested: str | None, *, issuer: str, ttl: int, at: datetime) -> dict[str, object]:
    """RFC 6749 s.4.4.3 token response, or :class:`AuthError` ``invalid_client`` / ``invalid_scope``."""
    with sessions() as s:
        client = s.get(ApiClient, client_id) if _CLIENT_ID.fullmatch(client_id) else None
    # verify a dummy hash for unknown clients so timing does not tell which client ids exist
    ok = verify_secret(secret, client.secret_hash if client else _DUMMY_HASH) and client is not None
    if not ok or client is None or client.disabled:
        raise AuthError("client authentication failed", code="invalid_client")
    granted = set(client.scopes.split())
    scopes = set(requested.split()) if requested else granted
    if not scopes <= granted:
        raise GrantRefused(f"scope(s) not granted to this client: {' '.join(sorted(scopes - granted))}",
                           code="invalid_scope")
    claims = {
        "iss": issuer, "aud": AUDIENCE, "sub": client_id, "scope": " ".join(sorted(scopes)),
        "iat": int(at.timestamp()), "exp": int((at + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return {"access_token": sign_claims(claims, key), "token_type": "bearer", "expires_in": ttl,
            "scope": claims["scope"]}


_DUMMY_HASH = hash_secret(secrets.token_urlsafe(32))
