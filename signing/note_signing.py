"""Signing C2SP signed notes (https://c2sp.org/signed-note) with Ed25519: the signer's half of
``note``, kept apart so that whoever only verifies notes never loads a private-key parser. Go's
golang.org/x/mod/sumdb/note signer keys (``PRIVATE+KEY+...``) are read and written as they are."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .note import ED25519_KEY_TYPE, SIGNATURE_PREFIX, NoteError, NoteVerifier, check_name, key_id_of

__all__ = ["NoteSigner", "cosign"]


@dataclass(frozen=True)
class NoteSigner:
    name: str
    private: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_name(self.name)

    @cached_property
    def verifier(self) -> NoteVerifier:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return NoteVerifier(self.name, key_id_of(self.name, raw), self.private.public_key())

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse Go's ``PRIVATE+KEY+name+hex8+base64(0x01 || seed)``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed signer key")
        raw = base64.b64decode(parts[4])
        if len(raw) != 33 or raw[:1] != ED25519_KEY_TYPE:
            raise NoteError("malformed signer key (not an Ed25519 key)")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3]:
            raise NoteError("signer key ID does not match its key")
        return signer

    @property
    def skey(self) -> str:
        """Go's signer-key text: ``PRIVATE+KEY+name+hex8+base64(0x01 || seed)`` (keep it secret)."""
        seed = self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        encoded = base64.b64encode(ED25519_KEY_TYPE + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    def sign(self, text: str) -> str:
        """A signed note: ``text`` (which must end in a newline), a blank line, our signature line."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("note text ends with one newline and has no blank lines")
        sig = self.private.sign(text.encode())
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {base64.b64encode(self.verifier.key_id + sig).decode()}\n"


def cosign(text: str, *signers: NoteSigner) -> str:
    """A signed note carrying one signature line per signer, in order."""
    lines = [s.sign(text).rpartition("\n\n")[2] for s in signers]
    return f"{text}\n{''.join(lines)}"
