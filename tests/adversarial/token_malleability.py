"""Other spellings of a genuine token (issue 12, item 9: "token strings are malleable"). Each carries
the same signed content; before the fix every one verified, so one license (or access grant) had
many strings. Each must now be refused: a license token by the verifier ("invalid"), an access token
by every API route (401)."""

from __future__ import annotations

import base64

__all__ = ["P256_N", "spellings"]

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def spellings(token: str) -> dict[str, str]:
    """name -> another spelling of ``token`` (an ES256 compact JWS) with the same signed content."""
    h, p, s = token.split(".")
    sig = _decode(s)
    r, s_value = sig[:32], int.from_bytes(sig[32:], "big")
    flipped = _b64u(r + (P256_N - s_value).to_bytes(32, "big"))  # (r, n - s) verifies as well as (r, s)
    # 64 bytes are 86 base64url characters: the last one carries 2 unused bits, which decoders ignore
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(s[-1])
    loose_bits = s[:-1] + alphabet[last | 0b11] if last & 0b11 != 0b11 else s[:-1] + alphabet[last & ~0b11]
    return {
        "signature_with_the_other_s": f"{h}.{p}.{flipped}",
        "signature_padded": f"{h}.{p}.{s}==",
        "payload_padded": f"{h}.{p}{'=' * (-len(p) % 4) or '===='}.{s}",
        "signature_with_unused_bits_set": f"{h}.{p}.{loose_bits}",
    }
