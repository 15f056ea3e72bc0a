"""The license token's claims, in both forms: built at issuance and checked at verification by
this one module, so the two can never drift apart.

Form 1 (``signing.tokens``, the API's ``token`` and the PDF's metadata): ``uscc``, ``name``,
``rep`` (the person line), ``sn`` (证照编号), ``ver``, ``iat`` (issue time, RFC 7519 NumericDate),
``dig`` (base64url SHA-256 of the canonical record) and ``status`` (its place in the published
status lists, for checking offline). Nothing more: a token is public.

Form 2 (``signing.compact_tokens``, the QR code's): ``[uscc, ver, iat, sidx]`` only, so that the QR
code stays small; the registry, found by USCC and version, holds the rest.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from signing.compact_tokens import CompactClaims
from signing.status_list import LIST_BITS

__all__ = ["CLAIM_TYPES", "compact_claims", "compact_mismatches", "digest_claim", "malformed_claims",
           "registry_mismatches", "token_claims"]

#: the claims every license token carries, with their JSON types (``name`` is absent for an
#: individual business without a name; ``status`` for versions issued before status lists)
CLAIM_TYPES: dict[str, type] = {"uscc": str, "sn": str, "ver": int, "iat": int, "dig": str, "rep": str}


def digest_claim(record_digest_hex: str) -> str:
    """The record digest as ``dig`` carries it: base64url, unpadded (RFC 7515 s.2)."""
    return base64.urlsafe_b64encode(bytes.fromhex(record_digest_hex)).rstrip(b"=").decode()


def token_claims(*, uscc: str, serial: str, version: int, issued_at: datetime, record_digest: str,
                 name: str | None, representative: str, status: Mapping[str, Any] | None) -> dict[str, Any]:
    """The claims of the token of one license version (``issued_at`` timezone-aware)."""
    claims: dict[str, Any] = {"uscc": uscc, "rep": representative, "sn": serial, "ver": version,
                              "iat": int(issued_at.timestamp()), "dig": digest_claim(record_digest)}
    if name:
        claims["name"] = name
    if status is not None:
        claims["status"] = dict(status)
    return claims


def malformed_claims(claims: Mapping[str, Any]) -> list[str]:
    """The required claims missing or of the wrong type (empty: well formed)."""
    return [k for k, t in CLAIM_TYPES.items() if not isinstance(claims.get(k), t)]


def registry_mismatches(claims: Mapping[str, Any], *, uscc: str, version: int, issued_at: datetime,
                        record_digest: str, name: str | None, representative: str,
                        status_index: int | None) -> list[str]:
    """The claims that disagree with the license version the registry holds (empty: all agree).
    A token without ``status`` predates status lists and agrees on it."""
    status = claims.get("status")
    return [claim for claim, ok in (
        ("uscc", claims["uscc"] == uscc), ("ver", claims["ver"] == version),
        ("dig", claims["dig"] == digest_claim(record_digest)), ("iat", claims["iat"] == int(issued_at.timestamp())),
        ("name", claims.get("name") == (name or None)), ("rep", claims["rep"] == representative),
        ("status", "status" not in claims or (isinstance(status, dict) and status_index is not None
                                              and status.get("idx") == status_index % LIST_BITS)),
    ) if not ok]


def compact_claims(*, uscc: str, version: int, issued_at: datetime, status_index: int) -> CompactClaims:
    """The claims of the compact token (form 2) of one license version (``issued_at`` timezone-aware;
    the same ``iat`` as its form-1 token)."""
    return CompactClaims(uscc, version, int(issued_at.timestamp()), status_index)


def compact_mismatches(claims: CompactClaims, *, uscc: str, version: int, issued_at: datetime,
                       status_index: int | None) -> list[str]:
    """The claims of a compact token that disagree with the license version the registry holds
    (empty: all agree), named as in form 1 (``sidx``: the status index)."""
    return [claim for claim, ok in (
        ("uscc", claims.uscc == uscc), ("ver", claims.ver == version),
        ("iat", claims.iat == int(issued_at.timestamp())), ("sidx", claims.sidx == status_index),
    ) if not ok]
