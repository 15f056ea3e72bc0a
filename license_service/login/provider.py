"""The OpenID Provider's protocol core, on authlib's server components (``authlib.oauth2`` and
``authlib.oidc.core``): the authorization code grant (RFC 6749 s.4.1) with PKCE S256 required of every
client (RFC 7636; ``plain`` refused), the ``openid`` extension (OpenID Connect Core 1.0 s.3.1) with a
nonce required and replays refused, client authentication by ``client_secret_basic`` (RFC 6749
s.2.3.1) or ``private_key_jwt`` (RFC 7523 s.2.2, OIDC Core s.9), exact redirect URI matching, and
single-use codes valid :data:`CODE_TTL`.

Our parts: where codes, tokens and used assertions are kept (the registry's tables, each request in
one transaction), the claims (:func:`claims_for`), and the ID token's signature, made with the
``idtoken`` key through ``signing.tokens`` (never the QR-token key). authlib's errors are turned into
``TokenRequestRefused`` so the one error map answers them (RFC 6749 s.5.2).
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import secrets
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
    InvalidClientError,
    InvalidRequestError,
    JsonRequest,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from signing.tokens import TokenSigner, sign_claims

from ..db.models import AuthorizationCode, ClientAssertion, Holder, LoginToken, MarketEntity, Platform
from ..domain.holding import HolderRefused, HolderRole, check_login, parse_scope
from ..errors import TokenRequestRefused
from ..holders.standing import effective_status, secret_digest
from ..oauth import verify_secret

__all__ = ["ACR", "AMR", "ASSERTION_ALGORITHMS", "CODE_TTL", "ID_TOKEN_TTL", "SCOPES", "TOKEN_TTL", "Approval",
           "HolderFacts", "JwksFetcher", "PlatformFacts", "Provider", "claims_for", "pairwise_subject"]

CODE_TTL = timedelta(seconds=60)
TOKEN_TTL = timedelta(minutes=5)
ID_TOKEN_TTL = timedelta(minutes=10)
#: ``openid``: the entity, the role and the grant; ``profile``: the holder's name, if they consent
SCOPES = ("openid", "profile")
#: the OpenID EAP ACR value for phishing-resistant authentication: a passkey is bound to our origin
ACR = "phr"
#: RFC 8176: a hardware-bound key (``hwk``) unlocked by user verification, PIN or biometric (``mfa``)
AMR = ("hwk", "mfa")
_AUTH_METHODS = ("client_secret_basic", "private_key_jwt")
#: what a platform may sign its ``private_key_jwt`` assertions with (discovery says the same)
ASSERTION_ALGORITHMS = ("ES256", "RS256")
#: the request being answered (authlib asks for clients by id alone; requests run on many threads)
_CURRENT: contextvars.ContextVar[_Request] = contextvars.ContextVar("oidc_request")


class PlatformFacts(Protocol):
    """What the provider reads of a platform (an ORM row, or a row of ``_PLATFORM``)."""

    client_id: str
    name: str
    secret_hash: str
    redirect_uris: str
    jwks_uri: str | None
    subject_salt: str


class HolderFacts(Protocol):
    """What the claims say of a holder (an ORM row, or a row of ``_HOLDER``)."""

    holder_id: str
    uscc: str
    role: str
    name: str
    scope: str
    expires_at: datetime | None


# the token endpoint's statements, built once and run on the session's connection with bound values:
# ORM identity maps, relationship loading and per-request statement building were most of an exchange's
# cost (bench/login.py)
_PLATFORM = select(Platform.client_id, Platform.name, Platform.secret_hash, Platform.redirect_uris, Platform.jwks_uri,
                   Platform.subject_salt).where(Platform.client_id == bindparam("client_id"))
_HOLDER = select(Holder.holder_id, Holder.uscc, Holder.role, Holder.name, Holder.scope, Holder.expires_at,
                 Holder.not_before, Holder.status, MarketEntity.status.label("entity_status"),
                 MarketEntity.name.label("entity_name"), MarketEntity.entity_kind).join(
    MarketEntity, MarketEntity.uscc == Holder.uscc).where(Holder.holder_id == bindparam("holder_id"))
_ENTITY = select(MarketEntity.name, MarketEntity.entity_kind).where(MarketEntity.uscc == bindparam("uscc"))
_TAKE_CODE = update(AuthorizationCode).where(
    AuthorizationCode.code_sha256 == bindparam("digest"), AuthorizationCode.client_id == bindparam("platform"),
    AuthorizationCode.used_at.is_(None), AuthorizationCode.expires_at > bindparam("now")).values(
    used_at=bindparam("now")).returning(
    AuthorizationCode.code_sha256, AuthorizationCode.client_id, AuthorizationCode.redirect_uri,
    AuthorizationCode.scope, AuthorizationCode.nonce, AuthorizationCode.code_challenge,
    AuthorizationCode.code_challenge_method, AuthorizationCode.holder_id, AuthorizationCode.share_name,
    AuthorizationCode.auth_time)
_REVOKE = delete(LoginToken).where(LoginToken.code_sha256 == bindparam("digest"))
_SAVE_TOKEN = insert(LoginToken)


def pairwise_subject(platform: PlatformFacts, holder_id: str) -> str:
    """OIDC Core s.8.1: the holder's ``sub`` at ``platform``, SHA-256 over the platform's own random
    salt and the holder id. Two platforms get unlinkable subjects for one holder; one platform always
    gets the same one."""
    digest = hashlib.sha256(bytes.fromhex(platform.subject_salt) + holder_id.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def claims_for(s: Session, platform: PlatformFacts, holder: HolderFacts, scope: str, *, share_name: bool,
               entity: tuple[str, str] | None = None) -> dict[str, Any]:
    """The claims about ``holder`` that ``platform`` gets for ``scope``: ``sub`` (pairwise), ``uscc``,
    ``entity_name``, ``entity_kind``, ``role``, ``grant`` (id, scope, expires_at) for a delegated
    holder, and ``name`` only under ``profile`` with the holder's consent (``share_name``)."""
    name, kind = entity or tuple(s.connection().execute(_ENTITY, {"uscc": holder.uscc}).one())
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
    """authlib's view of a :class:`Platform`: exact redirect URIs, ``code`` only, one auth method
    (``private_key_jwt`` when it registered a JWKS URI, else ``client_secret_basic``)."""

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

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(client_secret, self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == ("private_key_jwt" if self.row.jwks_uri else "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


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


@dataclass(frozen=True)
class _StoredCode:
    """An authorization code as the token endpoint took it (the columns ``_TAKE_CODE`` returns)."""

    code_sha256: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    holder_id: str
    share_name: int
    auth_time: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str:
        return ACR

    def get_amr(self) -> list[str]:
        return list(AMR)


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(_AUTH_METHODS)  # noqa: RUF012  (authlib's class attribute)

    def save_authorization_code(self, code: str, request: _Request) -> None:
        approval: Approval = request.user
        data = request.payload.data
        request.db.add(AuthorizationCode(
            code_sha256=secret_digest(code), client_id=request.client.get_client_id(),
            redirect_uri=data["redirect_uri"], scope=request.scope or "", nonce=data.get("nonce"),
            code_challenge=data["code_challenge"], code_challenge_method=data.get("code_challenge_method", "S256"),
            holder_id=approval.holder_id, share_name=int(approval.share_name), auth_time=approval.auth_time,
            login_id=approval.login_id, created_at=request.at, expires_at=request.at + CODE_TTL, used_at=None))

    def query_authorization_code(self, code: str, client: PlatformClient) -> _StoredCode | None:
        """The code, used up here (an atomic update: of two concurrent exchanges one wins). A code
        presented again revokes the tokens it gave (RFC 6749 s.4.1.2)."""
        request: _Request = self.request
        s, at, digest = request.db, request.at, secret_digest(code)
        conn = s.connection()
        row = conn.execute(_TAKE_CODE, {"digest": digest, "platform": client.get_client_id(), "now": at}).first()
        if row is None:
            conn.execute(_REVOKE, {"digest": digest})
            return None
        return _StoredCode(**row._asdict())

    def delete_authorization_code(self, authorization_code: _StoredCode) -> None:
        pass  # used up when queried

    def authenticate_user(self, authorization_code: _StoredCode) -> HolderFacts | None:
        """The holder the code was issued for, if the log-in rules still hold now (a grant revoked in
        the seconds between approval and exchange gives no token: ``invalid_grant``)."""
        request: _Request = self.request
        row = request.db.connection().execute(_HOLDER, {"holder_id": authorization_code.holder_id}).first()
        request.code_row = authorization_code
        if row is None:
            return None
        try:
            check_login(effective_status(row, request.at), HolderRole(row.role), parse_scope(row.scope),
                        authorization_code.client_id, entity_status=row.entity_status)
        except HolderRefused:
            return None
        holder: HolderFacts = row
        return holder


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

    def get_authorization_code_challenge(self, authorization_code: _StoredCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: _StoredCode) -> str:
        return authorization_code.code_challenge_method


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

    def encode_id_token(self, token: dict[str, Any], request: _Request) -> str:
        """OIDC Core s.2 and s.3.1.3.6: signed with the ``idtoken`` key (ES256, its own ``kid``)."""
        code: _StoredCode = request.code_row
        platform: PlatformFacts = request.client.row
        at = int(request.at.timestamp())
        half = hashlib.sha256(token["access_token"].encode("ascii")).digest()[:16]
        claims = {"iss": self.provider.issuer, "aud": platform.client_id, "azp": platform.client_id, "iat": at,
                  "exp": at + int(ID_TOKEN_TTL.total_seconds()), "auth_time": int(code.auth_time.timestamp()),
                  "acr": ACR, "amr": list(AMR),
                  "at_hash": base64.urlsafe_b64encode(half).rstrip(b"=").decode(),
                  **claims_for(request.db, platform, request.user, code.scope, share_name=bool(code.share_name),
                             entity=(request.user.entity_name, request.user.entity_kind))}
        if code.nonce:
            claims["nonce"] = code.nonce
        return sign_claims(claims, self.provider.id_token_signer(), typ="JWT")


class _PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: Provider) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.provider = provider
        self._request: _Request | None = None

    def __call__(self, query_client: Any, request: _Request) -> Any:
        self._request = request
        return super().__call__(query_client, request)

    def get_audiences(self) -> list[str]:
        return [self.provider.token_endpoint, self.provider.issuer]

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        """RFC 7523 s.3 with an ``alg`` allow-list (what discovery says): asymmetric keys only."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ASSERTION_ALGORITHMS))
        except JoseError as e:
            raise InvalidClientError(description=e.description) from e
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """RFC 7523 s.3 item 7: each assertion once (kept until it expires)."""
        request = self._request
        assert request is not None
        s = request.db
        s.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < request.at))
        digest = secret_digest(f"{claims['sub']}\n{jti}")
        if s.get(ClientAssertion, digest) is not None:
            return False
        exp = claims.get("exp")
        until = datetime.fromtimestamp(exp, request.at.tzinfo) if isinstance(exp, int) else request.at
        s.add(ClientAssertion(jti_sha256=digest, expires_at=max(until, request.at) + timedelta(minutes=1)))
        s.flush()
        return True

    def resolve_client_public_key(self, client: PlatformClient) -> KeySet:
        uri = client.row.jwks_uri
        if not uri:
            return KeySet([])
        try:
            return KeySet.import_key_set(self.provider.jwks_fetcher.jwks(uri))  # type: ignore[arg-type]
        except Exception:  # an unreachable or malformed JWKS: the assertion cannot be checked
            return KeySet([])


class Provider(AuthorizationServer):  # type: ignore[misc]
    """authlib's authorization server over the registry. ``issuer`` is the public base URL;
    ``id_token_signer`` hands out the ``idtoken`` key's signer."""

    def __init__(self, *, issuer: str, id_token_signer: Callable[[], TokenSigner],
                 jwks_fetcher: JwksFetcher | None = None) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.issuer = issuer
        self.token_endpoint = f"{issuer}/oidc/token"
        self.id_token_signer = id_token_signer
        self.jwks_fetcher = jwks_fetcher or JwksFetcher()
        self.register_grant(_CodeGrant, [_RequiredS256(required=True), _OpenID(self)])
        self.register_client_auth_method("private_key_jwt", _PrivateKeyJwt(self))
        self.register_token_generator("default", self._bearer)

    # -- authlib's hooks ----------------------------------------------------------------------------
    def query_client(self, client_id: str) -> PlatformClient | None:
        request = _CURRENT.get()
        if not isinstance(client_id, str) or len(client_id) > 40:
            return None
        row = request.db.connection().execute(_PLATFORM, {"client_id": client_id}).first()
        return PlatformClient(row) if row is not None else None

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        code: _StoredCode = request.code_row
        request.db.connection().execute(_SAVE_TOKEN, {
            "token_sha256": secret_digest(token["access_token"]), "client_id": code.client_id,
            "holder_id": code.holder_id, "scope": code.scope, "share_name": code.share_name,
            "code_sha256": code.code_sha256, "auth_time": code.auth_time, "expires_at": request.at + TOKEN_TTL})

    @staticmethod
    def _bearer(grant_type: str, client: Any, user: Any = None, scope: str | None = None,
                expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        return {"token_type": "Bearer", "access_token": secrets.token_urlsafe(32),
                "expires_in": int(TOKEN_TTL.total_seconds()), "scope": scope or ""}

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
        """Token endpoint refusals go to the one error map (RFC 6749 s.5.2's form); the authorization
        endpoint's are raised to its caller, which knows whether it may redirect."""
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

    def token(self, form: dict[str, str], headers: dict[str, str], s: Session, at: datetime) -> dict[str, Any]:
        """The token endpoint (RFC 6749 s.4.1.3, OIDC Core s.3.1.3). Raises ``TokenRequestRefused``
        with RFC 6749 s.5.2's error code."""
        request = _Request("POST", self.token_endpoint, form, headers, s, at)
        _CURRENT.set(request)
        try:
            grant = self.get_token_grant(request)
            grant.validate_token_request()
            status, body, _ = grant.create_token_response()
        except OAuth2Error as e:
            raise TokenRequestRefused(e.description or e.error, code=e.error) from None
        assert status == 200
        result: dict[str, Any] = body
        return result
