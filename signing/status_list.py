"""Offline status: signed status lists in the manner of the W3C Bitstring Status List v1.0.

Each license version holds a random index into a list of ``LIST_BITS`` bits; its token carries
``"status": {"idx": N, "uri": ".../status/revocation/L"}`` (list L holds indexes L*LIST_BITS ...).
A list is published as a JWS (ES256, the token key) over the JSON of a
``BitstringStatusListCredential``: ``validFrom``/``validUntil`` give its validity period, and
``credentialSubject.encodedList`` is the bitstring, GZIP-compressed and base64url-encoded (no
padding), bit 0 the most significant bit of the first byte (W3C BSL s.3.2).

Purposes: ``revocation`` (the license is no longer in force: revoked 吊销, cancelled 注销 or
superseded by a newer version) and ``suspension`` (published for the relying party's sake; no
lifecycle event suspends a license today, so it is all zeros).

Everything here is pure: the registry keeps the bits, the issuing side signs, anyone verifies.
"""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import SigningPackageError
from .tokens import Keyring, TokenSigner, sign_claims, verify_claims

__all__ = ["LIST_BITS", "PURPOSES", "STATUS_LIST_TYP", "VALIDITY", "StatusList", "decode_bits", "encode_bits",
           "sign_status_list", "verify_status_list"]

LIST_BITS = 131_072  # 16 KiB a list: the W3C's minimum for group privacy
PURPOSES = ("revocation", "suspension")
VALIDITY = timedelta(days=7)
#: the JWS ``typ`` of a status list (W3C VC-JOSE-COSE: a credential secured as a JWT)
STATUS_LIST_TYP = "vc+jwt"


def encode_bits(bits: bytes) -> str:
    return base64.urlsafe_b64encode(gzip.compress(bits, compresslevel=9, mtime=0)).rstrip(b"=").decode()


def decode_bits(encoded: str) -> bytes:
    return gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def bit(bits: bytes, position: int) -> bool:
    return bool(bits[position // 8] & (0x80 >> (position % 8)))


def set_bit(bits: bytearray, position: int, value: bool) -> None:
    if value:
        bits[position // 8] |= 0x80 >> (position % 8)
    else:
        bits[position // 8] &= ~(0x80 >> (position % 8)) & 0xFF


def sign_status_list(url: str, issuer: str, purpose: str, bits: bytes, key: TokenSigner,
                     *, at: datetime) -> str:
    """The signed list at ``url``, valid from ``at`` for ``VALIDITY``."""
    if purpose not in PURPOSES or len(bits) * 8 != LIST_BITS:
        raise SigningPackageError("a status list has a known purpose and LIST_BITS bits", code="status.shape")
    return sign_claims({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url, "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": issuer,
        "validFrom": _iso(at), "validUntil": _iso(at + VALIDITY),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode_bits(bits)},
    }, key, typ=STATUS_LIST_TYP)


class StatusList:
    """A verified status list: its purpose, validity period and bits."""

    def __init__(self, credential: dict[str, Any]) -> None:
        subject = credential["credentialSubject"]
        self.url: str = credential["id"]
        self.purpose: str = subject["statusPurpose"]
        self.valid_from = datetime.fromisoformat(credential["validFrom"])
        self.valid_until = datetime.fromisoformat(credential["validUntil"])
        self.bits = decode_bits(subject["encodedList"])

    def is_set(self, index: int) -> bool:
        """The status bit of ``index`` (a token's ``status.idx``) in this list."""
        position = index % LIST_BITS
        return bit(self.bits, position)


def verify_status_list(token: str, keyring: Keyring, *, at: datetime) -> StatusList:
    """Verify a published list with the issuer's public keys and check it is within its validity
    period at ``at``. Raises :class:`SigningPackageError` (``status.*``) otherwise."""
    credential = verify_claims(token, keyring, at=at, typ=STATUS_LIST_TYP)
    try:
        status = StatusList(credential)
    except (KeyError, TypeError, ValueError, OSError) as e:
        raise SigningPackageError(f"not a status list ({type(e).__name__})", code="status.malformed") from None
    if len(status.bits) * 8 != LIST_BITS:
        raise SigningPackageError("a status list of the wrong length", code="status.malformed")
    if not status.valid_from <= at < status.valid_until:
        raise SigningPackageError(f"the status list is valid {status.valid_from.isoformat()} to "
                                  f"{status.valid_until.isoformat()}", code="status.stale")
    return status


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
