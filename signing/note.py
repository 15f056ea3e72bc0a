"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and tlog-checkpoint bodies
(https://c2sp.org/tlog-checkpoint). Compatible with golang.org/x/mod/sumdb/note keys and notes.
The verifying half: signing notes (with a private key) is ``note_signing``'s."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["ED25519_KEY_TYPE", "SIGNATURE_PREFIX", "Checkpoint", "NoteError", "NoteVerifier", "check_name",
           "format_checkpoint", "format_vkey", "key_id_of", "parse_checkpoint", "parse_vkey"]

ED25519_KEY_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # EM DASH + space begins every signature line


class NoteError(Exception):
    """A note, key or checkpoint is malformed, or no signature verifies."""


def key_id_of(name: str, public: bytes, key_type: bytes = ED25519_KEY_TYPE) -> bytes:
    """signed-note: the key ID is SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + key_type + public).digest()[:4]


def check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError("a key name is non-empty, with no spaces and no '+'")


def parse_vkey(vkey: str, key_type: bytes, *, what: str, kind: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """A verifier key ``name+hex8+base64(type || 32-byte Ed25519 key)`` (signed-note s."Verifier keys";
    tlog-cosignature's keys have type 0x04): its name, key ID (checked against the key) and key.
    ``what`` and ``kind`` name the key in the errors."""
    try:
        name, id_hex, b64 = vkey.strip().split("+", 2)
        raw = base64.b64decode(b64, validate=True)
        key_id = bytes.fromhex(id_hex)
    except (ValueError, binascii.Error):
        raise NoteError(f"malformed {what} key") from None
    check_name(name)
    if len(id_hex) != 8 or id_hex != id_hex.lower() or len(raw) != 33 or raw[:1] != key_type:
        raise NoteError(f"malformed {what} key (not {kind})")
    if key_id_of(name, raw[1:], key_type) != key_id:
        raise NoteError(f"{what} key ID does not match its key")
    return name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:])


def format_vkey(name: str, key_id: bytes, key_type: bytes, public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{name}+{key_id.hex()}+{base64.b64encode(key_type + raw).decode()}"


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    key_id: bytes
    public: Ed25519PublicKey = field(repr=False)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse ``name+hex8+base64(0x01 || key)``; checks the key ID against the key."""
        return cls(*parse_vkey(vkey, ED25519_KEY_TYPE, what="verifier", kind="an Ed25519 key"))

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.key_id, ED25519_KEY_TYPE, self.public)

    def open(self, note: str) -> str:
        """Verify ``note`` and return its text; raises :class:`NoteError` unless a signature by this
        key verifies. Unknown signatures (other names or keys) are ignored, as the spec requires."""
        text, sep, sigs = note.rpartition("\n\n")
        if not sep or not sigs.endswith("\n"):
            raise NoteError("not a signed note")
        text += "\n"
        for line in sigs[:-1].split("\n"):
            if not line.startswith(SIGNATURE_PREFIX):
                raise NoteError("malformed signature line")
            name, _, b64 = line[len(SIGNATURE_PREFIX):].partition(" ")
            if name != self.name:
                continue
            try:
                blob = base64.b64decode(b64, validate=True)
            except binascii.Error:
                raise NoteError("malformed signature") from None
            if len(blob) != 68 or blob[:4] != self.key_id:
                continue
            try:
                self.public.verify(blob[4:], text.encode())
            except InvalidSignature:
                raise NoteError("the signature does not verify") from None
            return text
        raise NoteError(f"no signature by {self.name} ({self.key_id.hex()})")


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint body: origin, tree size, root hash (no extension lines)."""

    origin: str
    size: int
    root: bytes


def format_checkpoint(cp: Checkpoint) -> str:
    return f"{cp.origin}\n{cp.size}\n{base64.b64encode(cp.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[1].isdigit() or (lines[1] != "0" and lines[1][0] == "0"):
        raise NoteError("malformed checkpoint")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        raise NoteError("malformed checkpoint root") from None
    if len(root) != 32:
        raise NoteError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(lines[0], int(lines[1]), root)
