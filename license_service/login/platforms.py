"""Platforms: the OpenID Connect clients that log holders in (``elicense platforms create``). A
platform has a display name (what the holder sees on the consent screen), exact redirect URIs, a
secret (``client_secret_basic``; stored as ``oauth.hash_secret``) or a JWKS URI (``private_key_jwt``),
and a random salt for its pairwise subjects."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from ..db.models import Platform
from ..domain.errors import FieldError
from ..domain.text import person_text
from ..oauth import hash_secret

__all__ = ["create_platform"]


def _redirect_uri(uri: str, *, development: bool) -> str:
    """RFC 6749 s.3.1.2: absolute, no fragment; https, or http on a loopback host in development."""
    parts = urlsplit(uri)
    if parts.fragment or not parts.netloc or parts.scheme not in ("https", "http") or len(uri) > 500:
        raise FieldError("redirect_uri", "platforms.redirect_uri", "an absolute https URL without a fragment")
    if parts.scheme == "http" and not (development and parts.hostname in ("localhost", "127.0.0.1", "::1")):
        raise FieldError("redirect_uri", "platforms.redirect_uri", "https is required (http only for localhost "
                         "in development)")
    return uri


def create_platform(sessions: sessionmaker[Session], *, name: str, redirect_uris: list[str],
                    jwks_uri: str | None = None, development: bool, at: datetime) -> tuple[str, str]:
    """Register a platform; returns (client_id, client_secret). The secret is shown once (a platform
    with a ``jwks_uri`` authenticates with ``private_key_jwt`` and never uses it). Raises
    ``FieldError`` for an empty or unsafe name, or a redirect URI that is not absolute https."""
    shown = person_text(name, field="name").strip()
    if not shown or len(shown) > 200:
        raise FieldError("name", "platforms.name", "name the platform (at most 200 characters)")
    uris = [_redirect_uri(u, development=development) for u in redirect_uris]
    if not uris:
        raise FieldError("redirect_uri", "platforms.redirect_uri", "give at least one redirect URI")
    if jwks_uri is not None:
        _redirect_uri(jwks_uri, development=development)
    client_id = "plt_" + secrets.token_hex(10)
    secret = secrets.token_urlsafe(32)
    with sessions.begin() as s:
        s.add(Platform(client_id=client_id, name=shown, secret_hash=hash_secret(secret),
                       redirect_uris=json.dumps(uris), jwks_uri=jwks_uri, subject_salt=secrets.token_hex(32),
                       created_at=at))
    return client_id, secret
