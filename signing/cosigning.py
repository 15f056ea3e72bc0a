"""Cosigning checkpoints as a witness (https://c2sp.org/tlog-cosignature, ``cosignature/v1``,
Ed25519): the private half of ``cosignature``, kept apart so that a verifier never loads it. The
witness's secret key is kept as ``PRIVATE+KEY+name+hex8+base64(0x04 || seed)``, the shape of Go's
note signer keys with the cosignature key type."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .cosignature import COSIGNATURE_KEY_TYPE, CosignatureVerifier, cosigned_message, cosigner_key_id
from .note import SIGNATURE_PREFIX, NoteError, check_name

__all__ = ["Cosigner"]


@dataclass(frozen=True)
class Cosigner:
    name: str
    private: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    @cached_property
    def verifier(self) -> CosignatureVerifier:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return CosignatureVerifier(self.name, cosigner_key_id(self.name, raw), self.private.public_key())

    @classmethod
    def from_skey(cls, skey: str) -> Cosigner:
        """Parse ``PRIVATE+KEY+name+hex8+base64(0x04 || seed)``; checks the key ID."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed cosigner secret key")
        raw = base64.b64decode(parts[4])
        if len(raw) != 33 or raw[:1] != COSIGNATURE_KEY_TYPE:
            raise NoteError("malformed cosigner secret key (not a cosignature/v1 Ed25519 key)")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3]:
            raise NoteError("cosigner secret key ID does not match its key")
        return signer

    @property
    def skey(self) -> str:
        seed = self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        encoded = base64.b64encode(COSIGNATURE_KEY_TYPE + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    def cosign(self, body: str, timestamp: int) -> str:
        """The signature line (with its newline) cosigning checkpoint ``body`` at ``timestamp``
        (POSIX seconds, > 0): tlog-cosignature's ``timestamped_signature``."""
        sig = self.private.sign(cosigned_message(body, timestamp))
        blob = self.verifier.key_id + struct.pack(">Q", timestamp) + sig
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"
