"""The OpenID Provider's authorization side, on authlib's server components (``authlib.oauth2`` and
``authlib.oidc.core``): the authorization request of the code grant (RFC 6749 s.4.1.1) with PKCE S256
required of every client (RFC 7636; ``plain`` refused), the ``openid`` extension (OpenID Connect Core
1.0 s.3.1.2) with a nonce required and replays refused, exact redirect URI matching, and single-use
codes valid :data:`CODE_TTL` stored for the token endpoint.

The token endpoint's side of the grant (client authentication by ``client_secret_basic`` or
``private_key_jwt``, the code used up, PKCE verified, the ID token signed) is ``login.exchange``,
written out by hand for speed; the claims both it and userinfo give are :func:`claims_for` here.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    JsonRequest,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..db.models import AuthorizationCode, MarketEntity, Platform
from ..domain.holding import HolderRole
from ..holders.standing import secret_digest

__all__ = ["ACR", "AMR", "ASSERTION_ALGORITHMS", "CODE_TTL", "ID_TOKEN_TTL", "SCOPES", "TOKEN_TTL", "Approval",
           "HolderFacts", "JwksFetcher", "PlatformFacts", "Provider", "claims_for", "pairwise_subject",
           "subject_claims"]

CODE_TTL = timedelta(seconds=60)
TOKEN_TTL = timedelta(minutes=5)
ID_TOKEN_TTL = timedelta(minutes=10)
#: ``openid``: the entity, the role and the grant; ``profile``: the holder's name, if they consent
SCOPES = ("openid", "profile")
#: the OpenID EAP ACR value for phishing-resistant authentication: a passkey is bound to our origin
ACR = "phr"
#: RFC 8176: a hardware-bound key (``hwk``) unlocked by user verification, PIN or biometric (``mfa``)
AMR = ("hwk", "mfa")
#: what a platform may sign its ``private_key_jwt`` assertions with (discovery says the same)
ASSERTION_ALGORITHMS = ("ES256", "RS256")
#: the request being answered (authlib asks for clients by id alone; requests run on many threads)
_CURRENT: contextvars.ContextVar[_Request] = contextvars.ContextVar("oidc_request")


class PlatformFacts(Protocol):
    """What the provider reads of a platform (an ORM row, or a row of a plain statement)."""

    @property
    def client_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def secret_hash(self) -> str: ...
    @property
    def redirect_uris(self) -> str: ...
    @property
    def jwks_uri(self) -> str | None: ...
    @property
    def subject_salt(self) -> str: ...


class HolderFacts(Protocol):
    """What the claims say of a holder (an ORM row, or a row of a plain statement)."""

    @property
    def holder_id(self) -> str: ...
    @property
    def uscc(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def expires_at(self) -> datetime | None: ...


# built once, run on the session's connection with bound values
_PLATFORM = select(Platform.client_id, Platform.name, Platform.secret_hash, Platform.redirect_uris, Platform.jwks_uri,
                   Platform.subject_salt).where(Platform.client_id == bindparam("client_id"))
_ENTITY = select(MarketEntity.name, MarketEntity.entity_kind).where(MarketEntity.uscc == bindparam("uscc"))


def pairwise_subject(platform: PlatformFacts, holder_id: str) -> str:
    """OIDC Core s.8.1: the holder's ``sub`` at ``platform``, SHA-256 over the platform's own random
    salt and the holder id. Two platforms get unlinkable subjects for one holder; one platform always
    gets the same one."""
    digest = hashlib.sha256(bytes.fromhex(platform.subject_salt) + holder_id.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def claims_for(s: Session, platform: PlatformFacts, holder: HolderFacts, scope: str, *,
               share_name: bool) -> dict[str, Any]:
    """:func:`subject_claims` with the entity's name and kind read in ``s`` (userinfo)."""
    name, kind = s.connection().execute(_ENTITY, {"uscc": holder.uscc}).one()
    return subject_claims(platform, holder, scope, share_name=share_name, entity=(name, kind))


def subject_claims(platform: PlatformFacts, holder: HolderFacts, scope: str, *, share_name: bool,
                   entity: tuple[str | None, str]) -> dict[str, Any]:
    """The claims about ``holder`` (of the entity whose name and kind are ``entity``) that ``platform``
    gets for ``scope``: ``sub`` (pairwise), ``uscc``, ``entity_name``, ``entity_kind``, ``role``,
    ``grant`` (id, scope, expires_at) for a delegated holder, and ``name`` only under ``profile`` with
    the holder's consent (``share_name``)."""
    name, kind = entity
    claims: dict[str, Any] = {"sub": pairwise_subject(platform, holder.holder_id), "uscc": holder.uscc,
                              "entity_name": name, "entity_kind": kind, "role": holder.role}
    if holder.role != HolderRole.LEGAL_REPRESENTATIVE.value:
        claims["grant"] = {"id": holder.holder_id, "scope": holder.scope,
                           "expires_at": holder.expires_at.isoformat() if holder.expires_at else None}
    if share_name and "profile" in scope.split():
        claims["name"] = holder.name
    return claims


@dataclass(frozen=True)
class Approval:
    """What the holder approved (the grant's ``user``): who, when proven, whether the name is shared."""

    holder_id: str
    auth_time: datetime
    share_name: bool
    login_id: str


class JwksFetcher:
    """Reads a platform's JWKS from its ``jwks_uri`` (for ``private_key_jwt``), kept a few minutes."""

    def __init__(self, get: Callable[[str], dict[str, Any]] | None = None, ttl: float = 300.0) -> None:
        self._get = get or _http_get_json
        self._ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def jwks(self, uri: str) -> dict[str, Any]:
        hit = self._cache.get(uri)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        value = self._get(uri)
        self._cache[uri] = (time.monotonic(), value)
        return value


def _http_get_json(uri: str) -> dict[str, Any]:
    import httpx  # only platforms with private_key_jwt need it

    r = httpx.get(uri, timeout=5.0, follow_redirects=False)
    r.raise_for_status()
    value = r.json()
    if not isinstance(value, dict):
        raise ValueError("a JWKS is a JSON object")
    return value


class PlatformClient(ClientMixin):  # type: ignore[misc]  # authlib is untyped
    """authlib's view of a :class:`Platform` at the authorization endpoint: exact redirect URIs,
    ``code`` only."""

    def __init__(self, row: PlatformFacts) -> None:
        self.row = row
        self.redirect_uris: list[str] = json.loads(row.redirect_uris)

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # OIDC Core s.3.1.2.1: redirect_uri is required, and matched exactly

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(x for x in scope.split() if x in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"


class _Request(OAuth2Request):  # type: ignore[misc]
    """An authlib request over a parsed query or form, with the transaction it runs in."""

    def __init__(self, method: str, uri: str, data: dict[str, str], headers: dict[str, str], s: Session,
                 at: datetime, *, exclude_request: str | None = None) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data
        self.db = s
        self.at = at
        self.exclude_request = exclude_request

    @property
    def args(self) -> dict[str, str]:
        return self._data

    @property
    def form(self) -> dict[str, str]:
        return self._data


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """The grant's authorization side only: the token side is ``login.exchange``."""

    def save_authorization_code(self, code: str, request: _Request) -> None:
        approval: Approval = request.user
        data = request.payload.data
        request.db.add(AuthorizationCode(
            code_sha256=secret_digest(code), client_id=request.client.get_client_id(),
            redirect_uri=data["redirect_uri"], scope=request.scope or "", nonce=data.get("nonce"),
            code_challenge=data["code_challenge"], code_challenge_method=data.get("code_challenge_method", "S256"),
            holder_id=approval.holder_id, share_name=int(approval.share_name), auth_time=approval.auth_time,
            login_id=approval.login_id, created_at=request.at, expires_at=request.at + CODE_TTL, used_at=None))


class _RequiredS256(CodeChallenge):  # type: ignore[misc]
    """PKCE required of every client, confidential ones too (RFC 9700 s.2.1.1), and only S256."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012  (authlib's class attribute)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE (S256) is required", redirect_uri=redirect_uri,
                                      state=data.get("state"))
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256", redirect_uri=redirect_uri,
                                      state=data.get("state"))
        super().validate_code_challenge(grant, redirect_uri)


class _OpenID(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: _Request) -> bool:
        """A nonce this platform sent before (in a login request still kept) is a replay."""
        from ..db.models import LoginRequest

        q = select(LoginRequest.request_id).where(LoginRequest.client_id == request.payload.client_id,
                                                  LoginRequest.nonce_sha256 == secret_digest(nonce))
        if request.exclude_request:
            q = q.where(LoginRequest.request_id != request.exclude_request)
        return request.db.execute(q.limit(1)).first() is not None


class Provider(AuthorizationServer):  # type: ignore[misc]
    """authlib's authorization server over the registry, for the authorization endpoint (the token
    endpoint is ``login.exchange``). ``issuer`` is the public base URL."""

    def __init__(self, *, issuer: str) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.issuer = issuer
        self.register_grant(_CodeGrant, [_RequiredS256(required=True), _OpenID(self)])

    # -- authlib's hooks ----------------------------------------------------------------------------
    def query_client(self, client_id: str) -> PlatformClient | None:
        request = _CURRENT.get()
        if not isinstance(client_id, str) or len(client_id) > 40:
            return None
        row = request.db.connection().execute(_PLATFORM, {"client_id": client_id}).first()
        return PlatformClient(row) if row is not None else None

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: _Request) -> _Request:
        _CURRENT.set(request)
        return request

    def create_json_request(self, request: Any) -> JsonRequest:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]
                        ) -> tuple[int, Any, dict[str, str]]:
        return status, body, dict(headers)

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Any:
        """Refusals are raised to the authorization endpoint, which knows whether it may redirect."""
        raise error

    # -- what the routes call -------------------------------------------------------------------------
    def validate_authorization(self, query: str, uri: str, s: Session, at: datetime, *,
                               exclude_request: str | None = None) -> tuple[PlatformClient, dict[str, str]]:
        """Check an authorization request (client, exact redirect URI, ``response_type=code``, scope,
        PKCE S256, nonce, no replayed nonce). Raises authlib's ``OAuth2Error``: with ``redirect_uri``
        set once the redirect URI is known good (answer by redirecting), without it before."""
        data = dict(parse_qsl(query, keep_blank_values=True))
        if len(parse_qsl(query)) != len(data):
            raise InvalidRequestError("a parameter is repeated")
        request = _Request("GET", uri, data, {}, s, at, exclude_request=exclude_request)
        _CURRENT.set(request)
        if not data.get("redirect_uri"):
            raise InvalidRequestError("Missing 'redirect_uri'")
        grant = self.get_consent_grant(request=request)
        return grant.client, data

    def authorize(self, query: str, uri: str, s: Session, at: datetime, approval: Approval, *,
                  request_id: str) -> str:
        """The redirect (``Location``) that hands the platform a new code for ``approval``."""
        data = dict(parse_qsl(query, keep_blank_values=True))
        request = _Request("GET", uri, data, {}, s, at, exclude_request=request_id)
        _CURRENT.set(request)
        grant = self.get_consent_grant(request=request)
        status, _, headers = grant.create_authorization_response(grant.redirect_uri, approval)
        assert status == 302
        location: str = dict(headers)["Location"]
        return location
