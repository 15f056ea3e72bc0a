"""What whoever holds a leaked access-token key (``access.key``) makes of it (issue 12 item 1): API
access tokens with any dates, any scope and any subject, signed with the genuine key. Each forgery is
named after the attack it proves; every one must be refused with 401 (access-token failures are
opaque: the same ``auth.invalid_token`` whatever failed).

- :func:`with_the_current_key`: the key still in use. A token the issuer could have minted (an
  existing, enabled client, a lifetime within the TTL) passes, as it must until the key is rotated
  and held compromised: :func:`genuine_shape` is that control. Everything else is refused.
- :func:`with_a_retired_key`: the key rotated away more than the TTL ago: nothing it signs passes,
  whatever dates the token claims.
- :func:`with_a_compromised_key`: the key held compromised: nothing it signs passes, even a token
  dated before the time it is held compromised from.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from signing.tokens import TokenSigner

from .token_malleability import P256_N

__all__ = ["ALL_SCOPES", "forge", "genuine_shape", "with_a_compromised_key", "with_a_retired_key",
           "with_the_current_key"]

ALL_SCOPES = "audit licenses:read registrations:write verify"
_YEAR = 365 * 86400


def forge(key: TokenSigner, *, issuer: str, sub: str, iat: Any, exp: Any, scope: str = ALL_SCOPES) -> str:
    """An access token as ``oauth.TokenEndpoint.grant`` makes one, with the claims the forger wants
    (``None`` leaves a date out; any JSON value goes), signed with ``key``: an ES256 JWS (RFC 7515)
    made by hand, as a forger would, not by our ``sign_claims``."""
    claims = {"iss": issuer, "aud": "elicense-api", "sub": sub, "scope": scope, "iat": iat, "exp": exp,
              "jti": secrets.token_hex(16)}
    header = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}
    signing_input = ".".join(_b64u(json.dumps(part).encode()) for part in
                             (header, {k: v for k, v in claims.items() if v is not None}))
    signature = key.sign_es256(signing_input.encode())
    # in the one spelling verifiers accept (low S): the forger knows the rule, so only the checks of
    # lifetime, key and client stand in the way
    s = int.from_bytes(signature[32:], "big")
    if s > P256_N // 2:
        signature = signature[:32] + (P256_N - s).to_bytes(32, "big")
    return f"{signing_input}.{_b64u(signature)}"


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _nobody() -> str:
    return "cli_" + secrets.token_hex(10)  # the shape of a client id; no such client


def genuine_shape(key: TokenSigner, *, issuer: str, client_id: str, ttl: int, at: datetime) -> str:
    """The control: what the token endpoint itself would mint for ``client_id`` at ``at``."""
    now = int(at.timestamp())
    return forge(key, issuer=issuer, sub=client_id, iat=now, exp=now + ttl)


def with_the_current_key(key: TokenSigner, *, issuer: str, client_id: str, ttl: int, at: datetime) -> dict[str, str]:
    """Forgeries with the key in use (``client_id`` exists and is enabled), by the attack they prove."""
    now = int(at.timestamp())
    return {
        # the attack as found: iat backdated, exp years ahead, every scope, a subject no client has
        "backdated_iat_far_exp_any_scope_unknown_sub": forge(key, issuer=issuer, sub=_nobody(), iat=now - 30 * 86400,
                                                             exp=now + 10 * _YEAR),
        "far_exp_for_a_real_client": forge(key, issuer=issuer, sub=client_id, iat=now - 60, exp=now + 10 * _YEAR),
        "lifetime_one_second_over_the_ttl": forge(key, issuer=issuer, sub=client_id, iat=now - 60, exp=now - 59 + ttl),
        "iat_in_the_future": forge(key, issuer=issuer, sub=client_id, iat=now + 86400, exp=now + 86400 + ttl // 2),
        "no_iat": forge(key, issuer=issuer, sub=client_id, iat=None, exp=now + ttl // 2),
        "no_exp": forge(key, issuer=issuer, sub=client_id, iat=now, exp=None),
        "dates_not_integers": forge(key, issuer=issuer, sub=client_id, iat=now - 0.5, exp=now + ttl / 2),
        "unknown_sub_within_the_ttl": forge(key, issuer=issuer, sub=_nobody(), iat=now - 10, exp=now + ttl - 20),
    }


def with_a_retired_key(key: TokenSigner, *, issuer: str, client_id: str, ttl: int, retired_at: datetime,
                       at: datetime) -> dict[str, str]:
    """Forgeries with a key retired at ``retired_at``, at least ``ttl`` before ``at``."""
    now, retired = int(at.timestamp()), int(retired_at.timestamp())
    assert now >= retired + ttl, "the key must have been retired for longer than the TTL"
    return {
        "retired_key_backdated_iat_far_exp": forge(key, issuer=issuer, sub=client_id, iat=retired - 60,
                                                   exp=now + 10 * _YEAR),
        "retired_key_dated_before_retirement_within_the_ttl": forge(key, issuer=issuer, sub=client_id,
                                                                    iat=retired - 60, exp=retired - 60 + ttl),
        "retired_key_dated_now": forge(key, issuer=issuer, sub=client_id, iat=now - 10, exp=now + ttl - 20),
    }


def with_a_compromised_key(key: TokenSigner, *, issuer: str, client_id: str, ttl: int, retired_at: datetime,
                           since: datetime, at: datetime) -> dict[str, str]:
    """Forgeries with a key retired at ``retired_at`` (less than ``ttl`` before ``at``) and held
    compromised from ``since``: dated before both, as a token it genuinely signed would be, and not
    expired. (A QR token dated before ``since`` would still verify; an access token verifies nothing.)"""
    now, retired = int(at.timestamp()), int(retired_at.timestamp())
    iat = retired - 10
    assert iat < since.timestamp() and iat + ttl > now, "a token that would pass but for the compromise"
    return {
        "compromised_key_dated_before_the_compromise": forge(key, issuer=issuer, sub=client_id, iat=iat,
                                                             exp=iat + ttl),
    }
