"""The one wrapper around JOSE (python-jose): compact JWS, ES256 only. The public side (keyrings,
verification) plus the composition of a JWS with a signer; private keys live in ``signing.keys``.

Rules (DESIGN.md, RFC 8725): the ``alg`` allow-list (ES256) and the ``kid`` allow-list are checked on
the raw header before any key is touched or the payload decoded; keys are handed to the library as
JWK dicts or PEM text, never raw DER; tokens over :data:`MAX_TOKEN_LENGTH` are refused unread.
Failures raise one :class:`InvalidToken` whose ``reason`` is a stable code for reports; callers that
face the public must not branch on it in a way that makes them an oracle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec
from jose import jws
from jose.exceptions import JOSEError

from .canonical import canonical_json
from .errors import SigningPackageError

__all__ = [
    "ALGORITHM",
    "MAX_TOKEN_LENGTH",
    "CachingVerifier",
    "InvalidToken",
    "Keyring",
    "TokenSigner",
    "check_lifetime",
    "check_times",
    "jwk_thumbprint",
    "public_jwk_of",
    "sign_claims",
    "sign_jws",
    "verify_claims",
    "verify_jws",
]

ALGORITHM = "ES256"
MAX_TOKEN_LENGTH = 2048
#: how far a short-lived token's ``iat`` may lie ahead of the verifier's clock (seconds): clocks of
#: separate machines under NTP agree far better; RFC 7519 s.4.1.6 leaves the leeway to us
CLOCK_SKEW = 30


class InvalidToken(SigningPackageError):
    """The token is not one we issued, or not intact. ``reason`` is a stable code."""

    code = "token.invalid"

    def __init__(self, reason: str) -> None:
        super().__init__("invalid token", code="token.invalid")
        self.reason = reason


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _b64u_decode(text: str) -> bytes:
    """Canonical base64url only (RFC 7515 s.2: no padding; RFC 4648 s.3.5: unused bits zero): any
    other spelling of the same bytes is refused, so one token has one string."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64u(data) != text:
        raise ValueError("not canonical base64url")
    return data


#: the order of P-256's group (SEC 2 s.2.4.2): an ECDSA signature (r, s) verifies as (r, n - s) too
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _low_s(signature: bytes) -> bytes:
    """The low-S form of a raw ES256 signature r || s (RFC 7518 s.3.4): s at most n/2."""
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    return r + (_P256_N - s).to_bytes(32, "big") if s > _P256_N // 2 else signature


def jwk_thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638 s.3: SHA-256 over the required members in lexicographic order, base64url."""
    required = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    members = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64u(hashlib.sha256(members.encode()).digest())


def public_jwk_of(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The JWK (RFC 7517, RFC 7518 s.6.2.1) of a P-256 public key, ``kid`` its RFC 7638 thumbprint."""
    nums = key.public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": _b64u(nums.x.to_bytes(32, "big")),
           "y": _b64u(nums.y.to_bytes(32, "big"))}
    return {**jwk, "kid": jwk_thumbprint(jwk), "alg": ALGORITHM, "use": "sig"}


class TokenSigner(Protocol):
    """An ES256 signing key, wherever it is held (``signing.keys.files.TokenSigningKey``, a key in an
    HSM: ``signing.keys.pkcs11``): its RFC 7638 ``kid``, its public JWK, and the signature."""

    @property
    def kid(self) -> str: ...
    @property
    def public_jwk(self) -> dict[str, str]: ...
    def sign_es256(self, signing_input: bytes) -> bytes:
        """RFC 7518 s.3.4: the ECDSA P-256 SHA-256 signature over ``signing_input`` as R || S, 32 bytes
        each."""
        ...


#: the validity window of a key in our JWKS (members of our own; JOSE libraries ignore them): from
#: when it signs, when rotation retired it, and from when it is held compromised (NumericDate)
WINDOW_MEMBERS = ("valid_from", "retired_at", "compromised_at")


@dataclass(frozen=True)
class Keyring:
    """The public keys a verifier accepts, by ``kid`` (current and retired ones alike), with their
    validity windows (``WINDOW_MEMBERS``)."""

    keys: Mapping[str, Mapping[str, str]]
    windows: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> Keyring:
        keys: dict[str, dict[str, str]] = {}
        windows: dict[str, dict[str, int]] = {}
        for jwk in jwks.get("keys", ()):
            if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or jwk.get("alg", ALGORITHM) != ALGORITHM:
                continue
            public = {k: jwk[k] for k in ("kty", "crv", "x", "y")}
            if jwk.get("kid") != jwk_thumbprint(public):
                raise SigningPackageError("a JWKS key's kid is not its RFC 7638 thumbprint", code="keys.bad_kid")
            keys[jwk["kid"]] = public
            windows[jwk["kid"]] = {m: int(jwk[m]) for m in WINDOW_MEMBERS if isinstance(jwk.get(m), int)}
        return cls(keys, windows)

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [{**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig", **self.windows.get(kid, {})}
                         for kid, jwk in self.keys.items()]}

    def check_window(self, kid: str, claims: Mapping[str, Any]) -> None:
        """A token signed at ``iat`` by a key compromised by then, or retired before it, is refused
        (``token.key_compromised``, ``token.key_retired``): whoever holds a leaked or old key cannot
        make tokens that pass as issued after that time. (This takes the token's word for ``iat``:
        right for tokens whose dates are also on record elsewhere, like a license's in the log; tokens
        that are ours alone and short-lived are held to :meth:`check_in_use` too.)"""
        window = self.windows.get(kid)
        if not window:
            return
        iat = claims.get("iat")
        if not isinstance(iat, int):
            return
        if "compromised_at" in window and iat >= window["compromised_at"]:
            raise InvalidToken("token.key_compromised")
        if "retired_at" in window and iat > window["retired_at"]:
            raise InvalidToken("token.key_retired")

    def check_in_use(self, kid: str, at: datetime, *, max_lifetime: int) -> None:
        """For short-lived tokens that only we mint and verify (API access tokens), judged at ``at``
        whatever the token says: a key held compromised verifies nothing at all
        (``token.key_compromised``: its holder writes whatever ``iat`` suits them), and a retired key
        nothing once ``max_lifetime`` seconds have passed since its retirement
        (``token.key_retired``: every token it genuinely signed has expired by then)."""
        window = self.windows.get(kid)
        if not window:
            return
        if "compromised_at" in window:
            raise InvalidToken("token.key_compromised")
        if "retired_at" in window and int(at.timestamp()) >= window["retired_at"] + max_lifetime:
            raise InvalidToken("token.key_retired")


def sign_claims(claims: Mapping[str, Any], signer: TokenSigner, *, typ: str = "JWT") -> str:
    """Compact JWS (RFC 7515 s.7.1) over the canonical JSON of ``claims`` (UTF-8, unescaped: smaller
    QR codes), with the header ``{"alg":"ES256","kid":...,"typ":typ}``, signed by ``signer``. Each
    kind of signed object has its own ``typ`` (RFC 8725 s.3.11): ``JWT`` a license token,
    ``at+jwt`` an access token (RFC 9068), ``vc+jwt`` a status list.
    Raises what the signer raises (``SigningError`` from an HSM that refuses)."""
    return sign_jws(canonical_json(dict(claims)), signer, typ=typ)


def sign_jws(payload: bytes, signer: TokenSigner, *, typ: str | None) -> str:
    """Compact JWS (RFC 7515 s.7.1) over ``payload`` with the header ``{"alg":"ES256","kid":...}``
    and ``"typ"`` unless ``typ`` is None; the signature in its low-S form. For the token forms in
    ``signing/`` (:func:`sign_claims`, ``signing.compact_tokens``)."""
    fields = {"alg": ALGORITHM, "kid": signer.kid} | ({"typ": typ} if typ is not None else {})
    header = json.dumps(fields, separators=(",", ":"), sort_keys=True)
    signing_input = f"{_b64u(header.encode())}.{_b64u(payload)}"
    return f"{signing_input}.{_b64u(_low_s(signer.sign_es256(signing_input.encode())))}"


def _header(token: str) -> dict[str, Any]:
    """The header of a token spelled canonically: three canonical base64url parts."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("token.oversized")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("token.malformed")
    try:
        header = json.loads(_b64u_decode(parts[0]))
        _b64u_decode(parts[1])
        if parts[2]:  # empty in an "alg": "none" token, refused next for its alg
            _b64u_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidToken("token.malformed") from None
    if not isinstance(header, dict):
        raise InvalidToken("token.malformed")
    return header


def verify_claims(token: str, keyring: Keyring, *, at: datetime, low_s: bool = True,
                  typ: str = "JWT") -> dict[str, Any]:
    """Verify ``token`` against ``keyring`` as of ``at`` and return its claims. Only the canonical
    spelling verifies: canonical base64url, no padding, and (``low_s``, the default) the low-S form
    of the signature that :func:`sign_claims` makes.

    Checks, in order: length, shape, ``alg`` == ES256, ``kid`` known, no ``crit`` or embedded-key
    header, the signature (RFC 7515 s.5.2), a JSON-object payload, the key's validity window at the
    token's ``iat``, and the ``nbf``/``exp`` claims at ``at`` if present (RFC 7519 s.4.1.4-5). Raises
    :class:`InvalidToken` with ``reason`` one of ``token.oversized``, ``token.malformed``, ``token.alg``,
    ``token.unknown_kid``, ``token.signature``, ``token.key_compromised``, ``token.key_retired``,
    ``token.expired``, ``token.not_yet_valid``.
    """
    _, claims = _verify_signature(token, keyring, low_s=low_s, typ=typ)
    check_times(claims, at)
    return claims


def _verify_signature(token: str, keyring: Keyring, *, low_s: bool, typ: str) -> tuple[str, dict[str, Any]]:
    """Everything :func:`verify_claims` checks but the time claims (which depend on when); returns
    the ``kid`` that verified and the claims."""
    kid, claims = verify_jws(token, keyring, low_s=low_s, typ=typ)
    if not isinstance(claims, dict):
        raise InvalidToken("token.malformed")
    keyring.check_window(kid, claims)
    return kid, claims


def verify_jws(token: str, keyring: Keyring, *, low_s: bool, typ: str | None) -> tuple[str, Any]:
    """The signature checks every token form shares (length, shape, ``alg``, ``kid``, no dangerous
    header, ``typ`` — ``None``: the header must carry none —, canonical and low-S signature, the
    signature itself); returns the ``kid`` that verified and the payload parsed as JSON, of any JSON
    type. For the token forms in ``signing/``, not for callers: they check the payload's shape and the
    key's window next (:func:`verify_claims`, ``signing.compact_tokens``). Raises :class:`InvalidToken`."""
    header = _header(token)
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("token.alg")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keyring.keys:
        raise InvalidToken("token.unknown_kid")
    if "crit" in header or "jku" in header or "jwk" in header or "x5u" in header:
        raise InvalidToken("token.malformed")
    if header.get("typ") != typ:  # another kind of signed object (RFC 8725 s.3.11)
        raise InvalidToken("token.typ")
    encoded = token.rsplit(".", 1)[1]
    signature = _b64u_decode(encoded) if encoded else b""  # canonical already (``_header``)
    # an ES256 signature is r || s, 64 bytes; with ``low_s`` its s in the lower half (RFC 7518 s.3.4;
    # (r, n - s) verifies too, and would be a second string for the same signed content)
    if len(signature) != 64 or (low_s and _low_s(signature) != signature):
        raise InvalidToken("token.malformed")
    try:
        payload = jws.verify(token, dict(keyring.keys[kid]), algorithms=[ALGORITHM])
    except (JOSEError, ValueError, TypeError):
        raise InvalidToken("token.signature") from None
    try:
        return kid, json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("token.malformed") from None


def check_times(claims: Mapping[str, Any], at: datetime) -> None:
    """RFC 7519 s.4.1.4-5: refuse at or after ``exp``, and before ``nbf``, when present."""
    now = int(at.timestamp())
    if isinstance(claims.get("exp"), int) and now >= claims["exp"]:
        raise InvalidToken("token.expired")
    if isinstance(claims.get("nbf"), int) and now < claims["nbf"]:
        raise InvalidToken("token.not_yet_valid")


def _numeric_date(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    return value if type(value) is int else None  # not a bool, not a float


def check_lifetime(claims: Mapping[str, Any], at: datetime, *, max_lifetime: int) -> None:
    """For short-lived tokens: ``iat`` and ``exp`` (RFC 7519 s.4.1.4, s.4.1.6) are both present and
    integers, ``exp - iat`` is at most ``max_lifetime`` seconds, and ``iat`` is not later than ``at``
    (plus :data:`CLOCK_SKEW`); else :class:`InvalidToken` with ``token.lifetime`` or
    ``token.issued_in_future``. A token's own dates are only believed within those bounds."""
    iat, exp = _numeric_date(claims, "iat"), _numeric_date(claims, "exp")
    if iat is None or exp is None or not 0 < exp - iat <= max_lifetime:
        raise InvalidToken("token.lifetime")
    if iat > int(at.timestamp()) + CLOCK_SKEW:
        raise InvalidToken("token.issued_in_future")


class CachingVerifier:
    """:func:`verify_claims` with the signature result remembered for the last ``maxsize`` valid
    tokens (the same token is presented again and again: a bearer token on every call, a popular
    license's QR code). Time claims are checked on every call; invalid tokens are never cached.
    The claims returned are shared: callers must not mutate them.

    With ``max_lifetime`` (seconds) the tokens are short-lived ones that only we mint (API access
    tokens), and every call also checks, at its ``at``, :meth:`Keyring.check_in_use` (no compromised
    key, no key retired longer than ``max_lifetime`` ago) and :func:`check_lifetime`."""

    def __init__(self, keyring: Keyring, maxsize: int = 50_000, *, max_lifetime: int | None = None,
                 low_s: bool = True, typ: str = "JWT") -> None:
        self.keyring = keyring
        self.max_lifetime = max_lifetime
        self.low_s = low_s
        self.typ = typ
        self._verified = lru_cache(maxsize=maxsize)(self._verify)

    def _verify(self, token: str) -> tuple[str, dict[str, Any]]:
        return _verify_signature(token, self.keyring, low_s=self.low_s, typ=self.typ)

    def verify(self, token: str, *, at: datetime) -> dict[str, Any]:
        """:func:`verify_claims`: the claims of ``token`` as of ``at``; raises :class:`InvalidToken`."""
        verified: tuple[str, dict[str, Any]] = self._verified(token)
        kid, claims = verified
        if self.max_lifetime is not None:
            self.keyring.check_in_use(kid, at, max_lifetime=self.max_lifetime)
            check_lifetime(claims, at, max_lifetime=self.max_lifetime)
        check_times(claims, at)
        return claims
