"""The token endpoint's one grant, by hand: the authorization code exchanged for an ID token and an
access token (RFC 6749 s.4.1.3-4.1.4, OpenID Connect Core 1.0 s.3.1.3), in one transaction of a few
fixed statements (``RawSql.transaction``).

authlib's grant machinery (request objects, hooks, its client-authentication registry, the ORM under
it) was most of an exchange's cost (bench/login.py), so the token side is written out here, step by
step in the order authlib took them, each step's refusal the RFC 6749 s.5.2 error it gave:

1. ``grant_type``: missing ``invalid_request``, anything but ``authorization_code``
   ``unsupported_grant_type``.
2. The client, by the methods discovery advertises and only one per request (RFC 6749 s.2.3):
   ``client_secret_basic`` (s.2.3.1; a platform without a JWKS URI) or ``private_key_jwt`` (RFC 7523
   s.2.2 and s.3, OIDC Core s.9; a platform with one: ``alg`` allow-listed before decoding, ``iss`` =
   ``sub`` = the client, ``aud`` the token endpoint or the issuer, ``exp`` required, each ``jti`` once).
   Any failure is ``invalid_client`` (the error map answers 401 with ``WWW-Authenticate``).
3. ``code`` missing: ``invalid_request``.
4. The code used up in ONE statement (``UPDATE ... RETURNING``: unused, unexpired, this client's), so
   of two concurrent exchanges one wins. None: ``invalid_grant``, and the tokens the code gave before
   are revoked (RFC 6749 s.4.1.2: a code used twice).
5. ``redirect_uri`` exactly the authorization request's (s.4.1.3): else ``invalid_grant``.
6. PKCE (RFC 7636 s.4.5-4.6): a missing or malformed ``code_verifier`` ``invalid_request``, one whose
   S256 is not the challenge ``invalid_grant``.
7. The log-in rules again, now (a grant revoked since approval gives no token): ``invalid_grant``.
8. The access token for userinfo (its digest stored in the same UPDATE as step 4: one row written an
   exchange), the ID token signed with the ``idtoken`` key, committed.

A code is spent by any exchange that gets to step 4 as its own client, refused later or not (the
refusal is committed too): a stolen code gets one try. Nothing else is written on a refusal.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

from signing.tokens import TokenSigner, sign_jws

from ..db.raw import RawSql
from ..domain.holding import HolderRefused, HolderRole, check_login, parse_scope
from ..errors import TokenRequestRefused
from ..holders.standing import effective_status, secret_digest
from ..oauth import basic_credentials, form_parameters, verify_secret
from .provider import ACR, AMR, ASSERTION_ALGORITHMS, ID_TOKEN_TTL, TOKEN_TTL, JwksFetcher, subject_claims

__all__ = ["ASSERTION_TYPE", "CodeExchange", "ExchangeBatches", "access_token_for", "code_of_access_token",
           "token_form"]

#: RFC 7523 s.2.2: the ``client_assertion_type`` of ``private_key_jwt``
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MAX_FIELDS = 16  # grant_type, code, redirect_uri, code_verifier, client_id, the assertion pair, and spares
_MAX_CODE, _MAX_CLIENT_ID, _MAX_SECRET, _MAX_ASSERTION = 128, 40, 256, 8192
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 s.4.1
_ACCESS_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}")  # access_token_for's form
_ASSERTION_LEEWAY = 30  # seconds of clock skew allowed a platform's assertion
#: what an unknown client's secret is compared with, so that an unknown id costs the same as a wrong secret
_NO_SECRET = "sha256$" + base64.b64encode(bytes(32)).decode()

_PLATFORM = ("SELECT client_id, name, secret_hash, redirect_uris, jwks_uri, subject_salt FROM platforms "
             "WHERE client_id = ?")
_TAKE_CODE = ("UPDATE authorization_codes SET used_at = ?, token_sha256 = ? WHERE code_sha256 = ? AND client_id = ? "
              "AND used_at IS NULL AND expires_at > ? "
              "RETURNING redirect_uri, scope, nonce, code_challenge, code_challenge_method, holder_id, share_name, "
              "auth_time")
_REVOKE = "UPDATE authorization_codes SET token_sha256 = NULL WHERE code_sha256 = ? AND token_sha256 IS NOT NULL"
_HOLDER = ("SELECT h.holder_id, h.uscc, h.role, h.name, h.scope, h.expires_at, h.not_before, h.status, e.status, "
           "e.name, e.entity_kind FROM holders h JOIN market_entities e ON e.uscc = h.uscc WHERE h.holder_id = ?")
_FORGET_ASSERTIONS = "DELETE FROM client_assertions WHERE expires_at < ?"
_USE_ASSERTION = ("INSERT INTO client_assertions (jti_sha256, expires_at) VALUES (?, ?) "
                  "ON CONFLICT (jti_sha256) DO NOTHING RETURNING jti_sha256")


class _Platform(NamedTuple):
    client_id: str
    name: str
    secret_hash: str
    redirect_uris: str
    jwks_uri: str | None
    subject_salt: str


class _Code(NamedTuple):
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    holder_id: str
    share_name: int
    auth_time: datetime


class _Holder(NamedTuple):
    holder_id: str
    uscc: str
    role: str
    name: str
    scope: str
    expires_at: datetime | None
    not_before: datetime
    status: str
    entity_status: str
    entity_name: str | None
    entity_kind: str


def _invalid_request(detail: str) -> TokenRequestRefused:
    return TokenRequestRefused(detail, code="invalid_request")


def _invalid_client(detail: str = "client authentication failed") -> TokenRequestRefused:
    return TokenRequestRefused(detail, code="invalid_client")


def _invalid_grant(detail: str) -> TokenRequestRefused:
    return TokenRequestRefused(detail, code="invalid_grant")


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token_for(code_sha256: str) -> str:
    """A new access token for the code whose digest is ``code_sha256``: that digest (base64url: the row
    userinfo reads, by its primary key) and 256 random bits. Its SHA-256 is kept in the row."""
    return f"{_b64u(bytes.fromhex(code_sha256))}.{secrets.token_urlsafe(32)}"


def code_of_access_token(token: str) -> str | None:
    """The code digest an access token of :func:`access_token_for` names (hex), or None if it is not one."""
    if not _ACCESS_TOKEN.fullmatch(token):
        return None
    return base64.urlsafe_b64decode(token[:43] + "=").hex()


def token_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """The parameters of a token request (RFC 6749 s.4.1.3) as ``oauth.form_parameters`` reads them.
    Raises :class:`TokenRequestRefused` (``invalid_request``) for another media type or a malformed body."""
    try:
        return form_parameters(body, content_type, max_fields=_MAX_FIELDS)
    except ValueError as e:
        raise _invalid_request(f"{e} (RFC 6749 s.4.1.3)") from None


class CodeExchange:
    """``POST /oidc/token`` for the provider ``issuer``: :meth:`exchange`. ``engine`` holds the registry;
    ``id_token_signer`` hands out the ``idtoken`` key's signer; ``jwks_fetcher`` reads the JWKS of a
    platform that authenticates with ``private_key_jwt``. ``one_thread``: every exchange runs on the
    same thread, one after another (the event loop, on SQLite), so one connection is kept checked out
    for them rather than taken from the pool and given back each time (a lock keeps it to one
    thread at a time should another thread's loop call too, as test clients do)."""

    def __init__(self, engine: Engine, *, issuer: str, id_token_signer: Callable[[], TokenSigner],
                 jwks_fetcher: JwksFetcher, one_thread: bool = False) -> None:
        self._engine = engine
        self._one_thread = one_thread
        self._connection: PoolProxiedConnection | None = None
        self._connection_lock = threading.Lock()
        self.issuer = issuer
        self.token_endpoint = f"{issuer}/oidc/token"
        self._signer = id_token_signer
        self._jwks = jwks_fetcher

    def exchange(self, form: Mapping[str, str], authorization: str | None, *, at: datetime) -> dict[str, Any]:
        """The token response (RFC 6749 s.5.1, OIDC Core s.3.1.3.3) for ``form`` (as :func:`token_form`
        reads it) and the request's ``Authorization`` header, at ``at``: ``access_token``,
        ``token_type``, ``expires_in``, ``scope``, and ``id_token`` when the scope holds ``openid``.
        Raises :class:`TokenRequestRefused` with RFC 6749 s.5.2's error (the steps in the module's
        docstring). Blocking (database, signature)."""
        (result,) = self.exchange_many([(form, authorization)], at=at)
        if isinstance(result, Exception):
            raise result
        return result

    def exchange_many(self, requests: Sequence[tuple[Mapping[str, str], str | None]], *,
                      at: datetime) -> list[dict[str, Any] | Exception]:
        """:meth:`exchange` for each of ``requests`` (its form and ``Authorization`` header), in ONE
        transaction: one commit for all of them (a group commit: ``ExchangeBatches`` gathers the
        exchanges that arrive together). Each one of several runs in a savepoint of its own: one that
        fails for our fault (a signer that refuses) leaves nothing behind and the others stand, while a
        refusal keeps what it wrote (a spent code, a replay's revocation), as a lone exchange does.
        Returns each one's response or exception, in order; raises only if the transaction itself
        fails (then none of them took effect)."""
        if not self._one_thread:
            return self._exchange_all(requests, at, None)
        with self._connection_lock:
            if self._connection is None:
                self._connection = self._engine.raw_connection()
            return self._exchange_all(requests, at, self._connection)

    def _exchange_all(self, requests: Sequence[tuple[Mapping[str, str], str | None]], at: datetime,
                      connection: PoolProxiedConnection | None) -> list[dict[str, Any] | Exception]:
        results: list[dict[str, Any] | Exception] = []
        alone = len(requests) == 1
        with RawSql.transaction(self._engine, connection=connection) as sql:
            for form, authorization in requests:
                if not alone:
                    sql.run("SAVEPOINT exchange", ())
                try:
                    results.append(self._exchange(sql, form, authorization, at))
                except TokenRequestRefused as e:  # committed all the same: a code is spent, a replay revoked
                    results.append(e)
                except Exception as e:
                    if alone:
                        raise
                    sql.run("ROLLBACK TO SAVEPOINT exchange", ())
                    results.append(e)
                if not alone:
                    sql.run("RELEASE SAVEPOINT exchange", ())
        return results

    def _exchange(self, sql: RawSql, form: Mapping[str, str], authorization: str | None,
                  at: datetime) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise _invalid_request("the parameter grant_type is missing")
        if grant_type != "authorization_code":
            raise TokenRequestRefused("only grant_type=authorization_code is supported",
                                      code="unsupported_grant_type")
        platform = self._client(sql, form, authorization, at)
        code = form.get("code")
        if code is None:
            raise _invalid_request("the parameter code is missing")
        digest = secret_digest(code[:_MAX_CODE + 1])  # a longer one is no code of ours, and matches none
        access_token = access_token_for(digest)
        now = sql.timestamp(at)
        row = sql.one(_TAKE_CODE, (now, secret_digest(access_token), digest, platform.client_id, now))
        if row is None:
            sql.run(_REVOKE, (digest,))
            raise _invalid_grant("the code is unknown, expired, already used or another client's")
        stored = _Code._make((*row[:7], sql.read_timestamp(row[7])))
        try:
            holder = self._redeemable(sql, stored, form, platform.client_id, at)
        except TokenRequestRefused:
            sql.run(_REVOKE, (digest,))  # the code stays spent; the access token kept for it was never given
            raise
        body: dict[str, Any] = {"token_type": "Bearer", "access_token": access_token,
                                "expires_in": int(TOKEN_TTL.total_seconds()), "scope": stored.scope}
        if "openid" in stored.scope.split():
            body["id_token"] = self._id_token(platform, holder, stored, access_token, at)
        return body

    def _redeemable(self, sql: RawSql, stored: _Code, form: Mapping[str, str], client_id: str,
                    at: datetime) -> _Holder:
        """Steps 5 to 7: the redirect URI, the PKCE verifier, the log-in rules; the holder if they hold."""
        if form.get("redirect_uri") != stored.redirect_uri:
            raise _invalid_grant("redirect_uri is not the one the code was issued for")
        verifier = form.get("code_verifier")
        if verifier is None:
            raise _invalid_request("the parameter code_verifier is missing (PKCE is required)")
        if not _VERIFIER.fullmatch(verifier):
            raise _invalid_request("code_verifier: 43 to 128 unreserved characters (RFC 7636 s.4.1)")
        challenge = _b64u(hashlib.sha256(verifier.encode("ascii")).digest())
        if stored.code_challenge_method != "S256" or not hmac.compare_digest(challenge, stored.code_challenge):
            raise _invalid_grant("code_verifier does not match the code challenge")
        return self._holder(sql, stored.holder_id, client_id, at)

    # -- client authentication ------------------------------------------------------------------------
    def _client(self, sql: RawSql, form: Mapping[str, str], authorization: str | None, at: datetime) -> _Platform:
        """The platform the request authenticates as (RFC 6749 s.2.3: one method per request).
        ``Authorization`` schemes other than Basic are not client authentication, and ignored."""
        basic = authorization is not None and authorization[:6].lower() == "basic "
        asserted = "client_assertion" in form or "client_assertion_type" in form
        if basic and asserted:
            raise _invalid_request("authenticate the client one way, HTTP Basic or a client assertion, not both")
        if "client_secret" in form:  # client_secret_post: not offered (discovery)
            raise _invalid_client("send the client secret with HTTP Basic (client_secret_basic)")
        if basic:
            assert authorization is not None
            return self._basic(sql, form, authorization)
        if asserted:
            return self._asserted(sql, form, at)
        raise _invalid_client("no client authentication: HTTP Basic, or a client assertion (private_key_jwt)")

    def _platform(self, sql: RawSql, client_id: str) -> _Platform | None:
        if len(client_id) > _MAX_CLIENT_ID:
            return None
        row = sql.one(_PLATFORM, (client_id,))
        return _Platform(*row) if row is not None else None

    def _basic(self, sql: RawSql, form: Mapping[str, str], authorization: str) -> _Platform:
        """``client_secret_basic``, for a platform registered without a JWKS URI."""
        try:
            client_id, secret = basic_credentials(authorization)
        except ValueError:
            raise _invalid_client("the Basic credentials are malformed (RFC 6749 s.2.3.1)") from None
        if form.get("client_id", client_id) != client_id:
            raise _invalid_request("client_id in the body is not the one authenticated with HTTP Basic")
        platform = self._platform(sql, client_id)
        stored = platform.secret_hash if platform is not None else _NO_SECRET
        if len(secret) > _MAX_SECRET or not verify_secret(secret, stored) or platform is None or platform.jwks_uri:
            raise _invalid_client()  # which of them, is not said
        return platform

    def _asserted(self, sql: RawSql, form: Mapping[str, str], at: datetime) -> _Platform:
        """``private_key_jwt`` (RFC 7523 s.2.2, s.3; OIDC Core s.9), for a platform registered with a
        JWKS URI: the assertion verified with its keys (``alg`` allow-listed: asymmetric only), then its
        claims, then its ``jti`` used up (kept until the assertion expires, RFC 7523 s.3 item 7)."""
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion or len(assertion) > _MAX_ASSERTION:
            raise _invalid_client(f"client_assertion_type {ASSERTION_TYPE} with a client_assertion (RFC 7523 s.2.2)")
        try:  # whose keys to verify it with: the unverified sub, then checked by the signature
            claimed = json.loads(jws.extract_compact(assertion.encode("ascii")).payload)
        except (JoseError, ValueError):
            raise _invalid_client("the client assertion is not a JWT") from None
        client_id = claimed.get("sub") if isinstance(claimed, dict) else None
        if not isinstance(client_id, str):
            raise _invalid_client("the client assertion names no client (sub)")
        if form.get("client_id", client_id) != client_id:
            raise _invalid_request("client_id in the body is not the client the assertion names")
        platform = self._platform(sql, client_id)
        if platform is None or not platform.jwks_uri:
            raise _invalid_client()
        try:
            keys = KeySet.import_key_set(self._jwks.jwks(platform.jwks_uri))  # type: ignore[arg-type]
        except Exception:  # an unreachable or malformed JWKS: the assertion cannot be checked
            raise _invalid_client("the platform's JWKS cannot be read") from None
        now = int(at.timestamp())
        try:
            claims = jwt.decode(assertion, keys, algorithms=list(ASSERTION_ALGORITHMS)).claims
            jwt.JWTClaimsRegistry(now=now, leeway=_ASSERTION_LEEWAY, iss={"essential": True, "value": client_id},
                                  sub={"essential": True, "value": client_id},
                                  aud={"essential": True, "values": [self.token_endpoint, self.issuer]},
                                  exp={"essential": True}, jti={"essential": True}).validate(claims)
        except (JoseError, ValueError) as e:
            raise _invalid_client(getattr(e, "description", None) or "the client assertion does not verify") from None
        exp = claims["exp"]
        until = datetime.fromtimestamp(exp, at.tzinfo) if isinstance(exp, int | float) else at
        sql.run(_FORGET_ASSERTIONS, (sql.timestamp(at),))
        used = sql.one(_USE_ASSERTION,
                       (secret_digest(f"{client_id}\n{claims['jti']}"),
                        sql.timestamp(max(until, at) + timedelta(minutes=1))))
        if used is None:
            raise _invalid_client("this client assertion was used before (jti)")
        return platform

    # -- the holder and the ID token --------------------------------------------------------------------
    def _holder(self, sql: RawSql, holder_id: str, client_id: str, at: datetime) -> _Holder:
        """The holder the code was issued for, if the log-in rules still hold at ``at``."""
        row = sql.one(_HOLDER, (holder_id,))
        if row is None:
            raise _invalid_grant("the holder of this code is gone")
        holder = _Holder._make((*row[:5], sql.read_timestamp(row[5]), sql.read_timestamp(row[6]), *row[7:]))
        try:
            check_login(effective_status(holder, at), HolderRole(holder.role), parse_scope(holder.scope), client_id,
                        entity_status=holder.entity_status)
        except HolderRefused as e:
            raise _invalid_grant(f"the holder may no longer log in here ({e.code})") from None
        return holder

    def _id_token(self, platform: _Platform, holder: _Holder, code: _Code, access_token: str, at: datetime) -> str:
        """OIDC Core s.2 and s.3.1.3.6: signed with the ``idtoken`` key (ES256, its own ``kid``)."""
        iat = int(at.timestamp())
        claims = {"iss": self.issuer, "aud": platform.client_id, "azp": platform.client_id, "iat": iat,
                  "exp": iat + int(ID_TOKEN_TTL.total_seconds()), "auth_time": int(code.auth_time.timestamp()),
                  "acr": ACR, "amr": list(AMR),
                  "at_hash": _b64u(hashlib.sha256(access_token.encode("ascii")).digest()[:16]),
                  **subject_claims(platform, holder, code.scope, share_name=bool(code.share_name),
                                   entity=(holder.entity_name, holder.entity_kind))}
        if code.nonce:
            claims["nonce"] = code.nonce
        # any JSON will do for an ID token (only log leaves need signing.canonical's form): orjson's is
        # UTF-8 and compact like it, in a tenth of the time
        return sign_jws(orjson.dumps(claims), self._signer(), typ="JWT")


_Waiting = tuple[Mapping[str, str], str | None, "asyncio.Future[dict[str, Any]]"]


class ExchangeBatches:
    """Group commit for exchanges run on the event loop (SQLite, where the exchange runs inline): the
    requests whose handlers reach :meth:`exchange` in the same turn of the loop are exchanged together
    by one :meth:`CodeExchange.exchange_many` at its end, in one transaction, so the write lock, the
    BEGIN and the COMMIT (the WAL append) are paid once for them all rather than once each. Nothing is
    answered before its commit. The batch runs synchronously, as a lone inline exchange did: no other
    handler runs while its transaction is open, so none can wait on its write lock."""

    def __init__(self, exchanger: CodeExchange, clock: Callable[[], datetime]) -> None:
        self._exchanger = exchanger
        self._clock = clock
        # one batch a loop (a server has one; test clients may each run their own)
        self._pending: dict[asyncio.AbstractEventLoop, list[_Waiting]] = {}

    async def exchange(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        """:meth:`CodeExchange.exchange` of this request, committed with the others of this turn."""
        loop = asyncio.get_running_loop()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._run, loop)  # after the handlers already scheduled in this turn
        answer: asyncio.Future[dict[str, Any]] = loop.create_future()
        pending.append((form, authorization, answer))
        return await answer

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop)
        try:
            results = self._exchanger.exchange_many([(form, auth) for form, auth, _ in batch], at=self._clock())
        except Exception as e:  # the transaction failed: none of them took effect
            results = [e] * len(batch)
        for (_, _, answer), result in zip(batch, results, strict=True):
            if answer.cancelled():  # its client went away: it was exchanged all the same
                continue
            if isinstance(result, Exception):
                answer.set_exception(result)
            else:
                answer.set_result(result)
