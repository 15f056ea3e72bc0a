"""The compact license token (form 2): what a license's QR code carries since issue 13, so that the
URL stays a QR code of version 12 or less at level M, whatever the names on the license.

It is a compact JWS (RFC 7515 s.7.1) like the license token of form 1 (``tokens.py``), so any JOSE
library verifies it with the published JWKS; it differs in two things only:

- the protected header is ``{"alg":"ES256","kid":KID}`` with no ``typ`` (form 1 says ``"typ":"JWT"``);
- the payload is not a claims object but the canonical JSON array ``[uscc, ver, iat, sidx]``: the
  entity's USCC, the license version, the issue time (NumericDate, RFC 7519 s.2) and the version's
  place in the status lists (list ``sidx // LIST_BITS``, bit ``sidx % LIST_BITS``).

No person-entered text (name, representative) and no record digest: those would not fit. The token
says "we issued version ``ver`` of ``uscc``'s license at ``iat``"; the registry holds the rest, and
the verifier checks the token against it (``license_service.claims``).

The same rules as form 1, by the same code (:func:`signing.tokens.verify_jws`): length limit, ``alg``
allow-list (ES256) and ``kid`` allow-list on the raw header before anything else, no ``crit`` or
embedded key, canonical base64url, the low-S signature only, the key's validity window at ``iat``,
and one :class:`~signing.tokens.InvalidToken` for every failure. A form-1 token never passes as
form 2 nor the reverse: their ``typ`` differs, and so does the payload's JSON type.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .canonical import canonical_json
from .errors import SigningPackageError
from .tokens import InvalidToken, Keyring, TokenSigner, sign_jws, verify_jws

__all__ = ["CompactClaims", "CompactVerifier", "is_compact", "sign_compact"]

#: the longest USCC-like subject a compact token names (GB 32100: 18 characters)
_SUBJECT_MAX = 18


@dataclass(frozen=True)
class CompactClaims:
    """The payload of a compact token, refused on construction unless well formed
    (``SigningPackageError``, ``token.claims``): ``uscc`` 1-18 characters, ``ver`` 1-999, ``iat`` and
    ``sidx`` non-negative integers (never booleans)."""

    uscc: str
    ver: int
    iat: int
    sidx: int

    def __post_init__(self) -> None:
        ok = (isinstance(self.uscc, str) and 0 < len(self.uscc) <= _SUBJECT_MAX
              and all(type(v) is int for v in (self.ver, self.iat, self.sidx))
              and 1 <= self.ver <= 999 and self.iat >= 0 and self.sidx >= 0)
        if not ok:
            raise SigningPackageError("malformed compact token claims", code="token.claims")

    def payload(self) -> bytes:
        """The canonical JSON array ``[uscc, ver, iat, sidx]`` that is signed."""
        return canonical_json([self.uscc, self.ver, self.iat, self.sidx])

    @classmethod
    def from_json(cls, value: Any) -> CompactClaims:
        """The claims of a parsed payload; raises :class:`InvalidToken` (``token.malformed``) unless it
        is a four-element array of the right types."""
        if not isinstance(value, list) or len(value) != 4:
            raise InvalidToken("token.malformed")
        try:
            return cls(*value)
        except SigningPackageError:
            raise InvalidToken("token.malformed") from None


def sign_compact(claims: CompactClaims, signer: TokenSigner) -> str:
    """The compact token (form 2) of ``claims``, signed by ``signer`` (the license-token key).
    Raises what the signer raises."""
    return sign_jws(claims.payload(), signer, typ=None)


def is_compact(token: str) -> bool:
    """Whether ``token`` is spelled as a form-2 token: its header (the first part, alone: this runs
    on every verification, before any cache of signatures) is a JSON object without ``typ``. Says
    nothing of its signature or spelling; a token malformed in any way is checked, and refused, as
    form 1 or form 2 with the same reason codes."""
    head, dot, _ = token.partition(".")
    if not dot or len(head) > 512:
        return False
    return _compact_header(head)


@lru_cache(maxsize=64)
def _compact_header(head: str) -> bool:
    """:func:`is_compact` of a header part. A pure function of those few hundred bytes at most, and
    the headers in use are a handful (one per token key and form): remembered, since decoding one
    was a third of a cached token verification. Headers sent to churn it cost what they cost before."""
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error):  # UnicodeDecodeError is a ValueError
        return False
    return isinstance(header, dict) and "typ" not in header


class CompactVerifier:
    """Verifies compact tokens against ``keyring``; the result for the last ``maxsize`` valid tokens is
    remembered (a popular license's QR code is scanned again and again). Invalid ones never are."""

    def __init__(self, keyring: Keyring, maxsize: int = 50_000) -> None:
        self.keyring = keyring
        self._verified = lru_cache(maxsize=maxsize)(self._verify)

    def _verify(self, token: str) -> CompactClaims:
        kid, payload = verify_jws(token, self.keyring, low_s=True, typ=None)
        claims = CompactClaims.from_json(payload)
        self.keyring.check_window(kid, {"iat": claims.iat})
        return claims

    def verify(self, token: str) -> CompactClaims:
        """The claims of ``token`` if it is a form-2 token signed by a key of the keyring within its
        window. Its claims hold no times to check against a clock (no ``exp``: a license is in force
        until the registry says otherwise). Raises :class:`InvalidToken` with ``reason`` one of
        ``token.oversized``, ``token.malformed``, ``token.alg``, ``token.unknown_kid``, ``token.typ``,
        ``token.signature``, ``token.key_compromised``, ``token.key_retired``."""
        claims: CompactClaims = self._verified(token)
        return claims
