"""API clients and the OAuth 2.0 client-credentials grant (RFC 6749 s.4.4): the issuing side only (it
holds the access key). Checking the tokens is ``access.py``'s, with the public key alone.

Client secrets are 256 random bits (``secrets.token_urlsafe(32)``), shown once and stored as
``sha256$`` + SHA-256 of the secret, compared in constant time. Why not a slow password hash: it
protects guessable secrets, and nobody can guess 256 random bits, so scrypt only made every call
to ``/oauth/token`` (the dummy one for unknown clients too) cost the server tens of milliseconds of
CPU: a denial of service for whoever sends garbage. Why not a keyed hash (HMAC with a server key): its
extra property, that someone who can write the database cannot plant a secret of their own, does not
hold here, since such a writer can as well grant their own client more scopes (that column is just
as writable); and the key would be one more secret to provision, back up and rotate. Secrets stored
by earlier versions as scrypt hashes keep working: verified as scrypt, and re-hashed on their next
successful use.

The token endpoint is rate-limited (token buckets, per process): every request per source address,
before it is read, and failed authentications per client id; a request within the limits costs a
lookup, a hash and a signature. Access tokens are short-lived ES256 JWTs signed with the ``access`` key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from signing.tokens import TokenSigner, sign_claims

from .access import ACCESS_TOKEN_TYP, AUDIENCE, SCOPES
from .db.models import ApiClient
from .errors import AuthError, GrantRefused, NotFound, RateLimited
from .web.ratelimit import TokenBucket

__all__ = [
    "ClientInfo",
    "TokenEndpoint",
    "TokenRequest",
    "basic_credentials",
    "create_client",
    "delete_client",
    "form_parameters",
    "hash_secret",
    "list_clients",
    "parse_token_request",
    "rotate_secret",
    "set_disabled",
    "verify_secret",
]

_CLIENT_ID = re.compile(r"cli_[0-9a-f]{20}")  # what create_client makes; anything else is no client
#: RFC 6749 s.3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
_FORM = "application/x-www-form-urlencoded"
_PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")
_MAX_CLIENT_ID, _MAX_SECRET, _MAX_SCOPE = 64, 256, 400
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # earlier versions' hashes, verified until re-hashed


# -- secrets ------------------------------------------------------------------------------------------
def _sha256(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def hash_secret(secret: str) -> str:
    """What is stored of a client secret: ``sha256$`` and the base64 of its SHA-256."""
    return "sha256$" + base64.b64encode(_sha256(secret)).decode()


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` was made from (constant time in the secret). Knows
    ``sha256$`` hashes and the scrypt hashes of earlier versions (``scrypt$salt$digest``: tens of
    milliseconds of CPU each, so only ever reached within the per-client rate limit)."""
    scheme, _, rest = stored.partition("$")
    try:
        if scheme == "sha256":
            return hmac.compare_digest(_sha256(secret), base64.b64decode(rest, validate=True))
        if scheme == "scrypt":
            salt, digest = rest.split("$")
            computed = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), dklen=32, **_SCRYPT)
            return hmac.compare_digest(computed, base64.b64decode(digest))
    except (ValueError, binascii.Error):
        return False
    return False


def _new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)  # 256 bits
    return secret, hash_secret(secret)


# -- managing clients ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientInfo:
    """An API client as ``elicense clients list`` shows it (never its secret or hash)."""

    client_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    disabled: bool

    def as_dict(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "name": self.name, "scopes": list(self.scopes),
                "created_at": self.created_at.isoformat(), "disabled": self.disabled}


def create_client(sessions: sessionmaker[Session], name: str, scopes: list[str], *, at: datetime) -> tuple[str, str]:
    """Register a client created at ``at``; returns (client_id, client_secret). The secret is shown
    once, never stored. Raises ``ValueError`` for an unknown or missing scope."""
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise ValueError(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: {' '.join(sorted(SCOPES))}")
    client_id = "cli_" + secrets.token_hex(10)
    secret, stored = _new_secret()
    with sessions.begin() as s:
        s.add(ApiClient(client_id=client_id, name=name, secret_hash=stored, scopes=" ".join(sorted(set(scopes))),
                        created_at=at))
    return client_id, secret


def list_clients(sessions: sessionmaker[Session]) -> list[ClientInfo]:
    """Every client, oldest first."""
    with sessions() as s:
        rows = s.execute(select(ApiClient.client_id, ApiClient.name, ApiClient.scopes, ApiClient.created_at,
                                ApiClient.disabled).order_by(ApiClient.created_at, ApiClient.client_id)).all()
    return [ClientInfo(r.client_id, r.name, tuple(r.scopes.split()), r.created_at, r.disabled) for r in rows]


def _unknown(client_id: str) -> NotFound:
    return NotFound(f"no API client {client_id!r} (elicense clients list)", code="client.unknown")


def set_disabled(sessions: sessionmaker[Session], client_id: str, disabled: bool) -> None:
    """Disable or enable a client. Disabled, it gets no token, and the tokens it holds stop working
    within ``Settings.client_status_max_age_seconds`` in every service (``access.ClientStatus``).
    Raises :class:`NotFound` (``client.unknown``)."""
    with sessions.begin() as s:
        if s.execute(update(ApiClient).where(ApiClient.client_id == client_id)
                     .values(disabled=disabled)).rowcount != 1:  # type: ignore[attr-defined]
            raise _unknown(client_id)


def rotate_secret(sessions: sessionmaker[Session], client_id: str) -> str:
    """A new secret for the client (returned, shown once); the old one is refused from now on. Access
    tokens already issued keep working until they expire (at most the access-token TTL): to cut
    them off too, disable the client until they have. Raises :class:`NotFound` (``client.unknown``)."""
    secret, stored = _new_secret()
    with sessions.begin() as s:
        if s.execute(update(ApiClient).where(ApiClient.client_id == client_id)
                     .values(secret_hash=stored)).rowcount != 1:  # type: ignore[attr-defined]
            raise _unknown(client_id)
    return secret


def delete_client(sessions: sessionmaker[Session], client_id: str) -> None:
    """Remove a client: it gets no token, and the tokens it holds stop working as a disabled
    client's do. Records of its verifications keep its id (no longer its name). Raises
    :class:`NotFound` (``client.unknown``)."""
    with sessions.begin() as s:
        if s.execute(delete(ApiClient).where(ApiClient.client_id == client_id)).rowcount != 1:  # type: ignore[attr-defined]
            raise _unknown(client_id)


# -- the token request ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenRequest:
    """A client-credentials token request (RFC 6749 s.4.4.2) with the client's credentials, however
    they were sent (s.2.3.1: HTTP Basic, or the request body)."""

    client_id: str
    client_secret: str
    scope: str | None


def _invalid_request(detail: str) -> GrantRefused:
    return GrantRefused(detail, code="invalid_request")


def _invalid_client(detail: str = "client authentication failed") -> AuthError:
    return AuthError(detail, code="invalid_client")


def form_parameters(body: bytes, content_type: str | None, *, max_fields: int) -> dict[str, str]:
    """The parameters of a token request's ``application/x-www-form-urlencoded`` body (RFC 6749 s.3.2,
    Appendix B): none repeated (s.3.2), and one sent without a value is as if omitted (s.3.1). Raises
    ``ValueError`` saying what is wrong: another media type, a malformed body (not ASCII, a
    percent-escape that is not UTF-8), more than ``max_fields`` fields, a repeated parameter (this
    token endpoint's and the OpenID Provider's)."""
    if content_type is None or content_type.split(";")[0].strip().lower() != _FORM:
        raise ValueError(f"send the parameters as {_FORM}")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True, errors="strict",
                          max_num_fields=max_fields)
    except ValueError:
        raise ValueError(f"the body is not a well-formed {_FORM} form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise ValueError(f"the parameter {name!r} is given more than once (RFC 6749 s.3.2)")
        form[name] = value
    return {k: v for k, v in form.items() if v}


def _form(body: bytes, content_type: str | None) -> dict[str, str]:
    try:
        return form_parameters(body, content_type, max_fields=2 * len(_PARAMETERS))
    except ValueError as e:
        raise _invalid_request(f"{e} (RFC 6749 s.4.4.2)") from None


def basic_credentials(authorization: str) -> tuple[str, str]:
    """The client id and secret of an ``Authorization: Basic`` header: RFC 6749 s.2.3.1 over RFC 7617,
    ``Basic base64(urlencode(id) ":" urlencode(secret))``, each part form-urlencoded (Appendix B) before
    the pair is encoded. Raises ``ValueError`` if it is not that (this token endpoint's and the OpenID
    Provider's)."""
    try:
        decoded = base64.b64decode(authorization.partition(" ")[2].strip(), validate=True).decode()
    except binascii.Error:
        raise ValueError("not base64") from None  # UnicodeDecodeError is a ValueError already
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        raise ValueError("no colon")
    return unquote_plus(raw_id, errors="strict"), unquote_plus(raw_secret, errors="strict")


def _basic(authorization: str) -> tuple[str, str]:
    try:
        return basic_credentials(authorization)
    except ValueError:
        raise _invalid_client("the Basic credentials are malformed (RFC 6749 s.2.3.1)") from None


def parse_token_request(body: bytes, content_type: str | None, authorization: str | None) -> TokenRequest:
    """Read a token request: the form body (``grant_type=client_credentials``, optional ``scope``) and
    the client's credentials, from an ``Authorization: Basic`` header or the ``client_id`` and
    ``client_secret`` parameters, not both (RFC 6749 s.2.3.1, s.2.3: one method per request). Other
    authorization schemes are not client authentication and are ignored.

    Raises :class:`GrantRefused` (``invalid_request``, ``unsupported_grant_type``, ``invalid_scope``)
    or :class:`AuthError` (``invalid_client``: no credentials, or malformed ones)."""
    form = _form(body, content_type)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise _invalid_request("the parameter grant_type is missing")
    if grant_type != "client_credentials":
        raise GrantRefused("only grant_type=client_credentials is supported", code="unsupported_grant_type")
    scope = form.get("scope")
    if scope is not None and (len(scope) > _MAX_SCOPE or not _SCOPE.fullmatch(scope)):
        raise GrantRefused("scope: space-separated scope tokens (RFC 6749 s.3.3)", code="invalid_scope")
    if authorization is not None and authorization[:6].lower() == "basic ":
        if "client_secret" in form:
            raise _invalid_request("authenticate the client one way, HTTP Basic or the body, not both")
        client_id, secret = _basic(authorization)
        if form.get("client_id", client_id) != client_id:
            raise _invalid_request("client_id in the body is not the one authenticated with HTTP Basic")
    elif "client_id" in form and "client_secret" in form:
        client_id, secret = form["client_id"], form["client_secret"]
    else:
        raise _invalid_client("no client authentication: HTTP Basic, or client_id and client_secret")
    if len(client_id) > _MAX_CLIENT_ID or len(secret) > _MAX_SECRET:
        raise _invalid_client()
    return TokenRequest(client_id, secret, scope)


# -- the token endpoint ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Client:
    secret_hash: str
    scopes: frozenset[str]
    disabled: bool


class TokenEndpoint:
    """``POST /oauth/token``: its rate limits, client authentication, and the access token.

    ``signer`` is called for the access key when a token is to be signed; ``sessions`` read the
    clients and ``write_sessions`` re-hash a secret stored in an earlier version's scheme."""

    def __init__(self, sessions: sessionmaker[Session], write_sessions: sessionmaker[Session],
                 signer: Callable[[], TokenSigner], *, issuer: str, ttl: int,
                 per_address: tuple[float, int], failures_per_client: tuple[float, int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions, self._write_sessions, self._signer = sessions, write_sessions, signer
        self._issuer, self._ttl = issuer, ttl
        self._addresses = TokenBucket(*per_address, clock=clock)
        self._failures = TokenBucket(*failures_per_client, clock=clock)

    def limit_address(self, address: str) -> float | None:
        """Count one request from ``address``, before anything of it is read: None if within the
        limit, else the seconds until it would be (answer 429)."""
        return self._addresses.take(address)

    def grant(self, request: TokenRequest, *, at: datetime) -> dict[str, object]:
        """The RFC 6749 s.4.4.3 (s.5.1) token response, issued at ``at``. Raises :class:`AuthError`
        (``invalid_client``: unknown, disabled, or the wrong secret: which, is not said),
        :class:`GrantRefused` (``invalid_scope``) or :class:`RateLimited`. Blocking (database,
        signature): run it off the event loop.

        Failed authentications are rate-limited per client id: past the limit a wrong secret gets
        429, not 401. The genuine secret still gets its token (checking it costs microseconds), so
        whoever knows a client's id cannot lock it out; only a secret still in an earlier version's
        scheme (scrypt, tens of milliseconds) is refused unchecked while its client's limit is spent."""
        client = self._client(request.client_id)
        # an unknown client is compared against a digest no secret has: the same work either way
        stored = client.secret_hash if client is not None else "sha256$" + base64.b64encode(bytes(32)).decode()
        legacy = not stored.startswith("sha256$")
        if legacy and (wait := self._failures.take(request.client_id, spend=False)) is not None:
            raise RateLimited(wait)
        if not verify_secret(request.client_secret, stored) or client is None or client.disabled:
            # ids no client can have are not worth a bucket
            if _CLIENT_ID.fullmatch(request.client_id) and (wait := self._failures.take(request.client_id)) is not None:
                raise RateLimited(wait)
            raise _invalid_client()
        if legacy:
            self._rehash(request.client_id, stored, request.client_secret)
        scopes = set(request.scope.split()) if request.scope else set(client.scopes)
        if not scopes <= client.scopes:
            raise GrantRefused(f"scope(s) not granted to this client: {' '.join(sorted(scopes - client.scopes))}",
                               code="invalid_scope")
        claims = {
            "iss": self._issuer, "aud": AUDIENCE, "sub": request.client_id, "scope": " ".join(sorted(scopes)),
            "iat": int(at.timestamp()), "exp": int((at + timedelta(seconds=self._ttl)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return {"access_token": sign_claims(claims, self._signer(), typ=ACCESS_TOKEN_TYP), "token_type": "bearer",
                "expires_in": self._ttl, "scope": claims["scope"]}

    def _client(self, client_id: str) -> _Client | None:
        if not _CLIENT_ID.fullmatch(client_id):
            return None
        with self._sessions() as s:
            row = s.execute(select(ApiClient.secret_hash, ApiClient.scopes, ApiClient.disabled)
                            .where(ApiClient.client_id == client_id)).one_or_none()
        return _Client(row.secret_hash, frozenset(row.scopes.split()), row.disabled) if row else None

    def _rehash(self, client_id: str, old: str, secret: str) -> None:
        """Store a secret verified against an earlier scheme's hash as ``sha256$``: only if the hash is
        still the one verified (a secret rotated meanwhile stays rotated)."""
        with self._write_sessions.begin() as s:
            s.execute(update(ApiClient).where(ApiClient.client_id == client_id, ApiClient.secret_hash == old)
                      .values(secret_hash=hash_secret(secret)))
