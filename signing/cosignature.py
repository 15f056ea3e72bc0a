"""Witness cosignatures (https://c2sp.org/tlog-cosignature, ``cosignature/v1``, Ed25519): the
verifying half, pure. A cosignature is a signed-note signature line whose key ID is
SHA-256(name || 0x0A || 0x04 || public key)[:4] and whose signature is a ``timestamped_signature``:
a big-endian u64 POSIX timestamp, then an Ed25519 signature over the message

    cosignature/v1
    time <timestamp>
    <the checkpoint's note body, with its final newline>

Cosigning (with a private key) is ``cosigning``'s; a witness policy over several cosigners is
:func:`open_witnessed`.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .note import (
    SIGNATURE_PREFIX,
    Checkpoint,
    NoteError,
    NoteVerifier,
    format_vkey,
    key_id_of,
    parse_checkpoint,
    parse_vkey,
)

__all__ = ["COSIGNATURE_KEY_TYPE", "CosignatureVerifier", "Witnessed", "cosigned_message", "cosigner_key_id",
           "open_witnessed", "signature_lines", "split_note"]

COSIGNATURE_KEY_TYPE = b"\x04"  # tlog-cosignature: Ed25519 cosignature/v1
_MAX_TIMESTAMP = 2**63 - 1


def cosigner_key_id(name: str, public: bytes) -> bytes:
    """tlog-cosignature s.Format: SHA-256(name || "\\n" || 0x04 || 32-byte public key)[:4]."""
    return key_id_of(name, public, COSIGNATURE_KEY_TYPE)


def cosigned_message(body: str, timestamp: int) -> bytes:
    """tlog-cosignature s."Ed25519 signed message": the header line, the time line, the note body."""
    if not 0 < timestamp <= _MAX_TIMESTAMP:
        raise NoteError("a cosignature's timestamp is positive and below 2^63")
    if not body.endswith("\n"):
        raise NoteError("a checkpoint body ends with a newline")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's body (with its final newline) and its signature lines as (name, decoded
    blob). Raises :class:`NoteError` when it is not a signed note (signed-note s.Format)."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NoteError("not a signed note")
    out = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, _, b64 = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            out.append((name, base64.b64decode(b64, validate=True)))
        except binascii.Error:
            raise NoteError("malformed signature") from None
    return text + "\n", out


def signature_lines(note: str) -> list[str]:
    """The signature lines of a signed note, each with its newline."""
    split_note(note)
    return [line + "\n" for line in note.rpartition("\n\n")[2][:-1].split("\n")]


@dataclass(frozen=True)
class CosignatureVerifier:
    """One witness's cosignature key, from its vkey ``name+hex8+base64(0x04 || key)``."""

    name: str
    key_id: bytes
    public: Ed25519PublicKey = field(repr=False)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """Parse a cosigner vkey (signed-note s."Verifier keys" with type 0x04); checks the key ID."""
        return cls(*parse_vkey(vkey, COSIGNATURE_KEY_TYPE, what="cosigner",
                               kind="an Ed25519 cosignature/v1 key, type 0x04"))

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.key_id, COSIGNATURE_KEY_TYPE, self.public)

    def timestamp(self, body: str, signatures: Sequence[tuple[str, bytes]]) -> int | None:
        """The timestamp of this cosigner's signature over ``body`` among ``signatures`` (as
        :func:`split_note` gives them), or None when there is none. A line with this name and key ID
        that does not verify makes the note malformed: raises :class:`NoteError` (signed-note)."""
        for name, blob in signatures:
            if name != self.name or len(blob) != 4 + 8 + 64 or blob[:4] != self.key_id:
                continue
            (timestamp,) = struct.unpack(">Q", blob[4:12])
            try:
                self.public.verify(blob[12:], cosigned_message(body, timestamp))
            except (InvalidSignature, NoteError):
                raise NoteError(f"the cosignature by {self.name} does not verify") from None
            return int(timestamp)
        return None


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint whose log signature verified, and the witnesses (by name) whose cosignatures on it
    verified, with their timestamps."""

    checkpoint: Checkpoint
    body: str
    cosigned_by: dict[str, int]

    def meets(self, k: int) -> bool:
        """At least ``k`` of the trusted witnesses cosigned it (k = 0: the log's signature suffices)."""
        return len(self.cosigned_by) >= k


def open_witnessed(note: str, log: NoteVerifier, witnesses: Sequence[CosignatureVerifier]) -> Witnessed:
    """Verify a cosigned checkpoint: the log's signature (required) and each trusted witness's
    cosignature (counted when present; lines by unknown keys are ignored, as signed-note requires).
    Raises :class:`NoteError` when the log's signature is missing or bad, a trusted key's line does
    not verify, or the body is not a checkpoint."""
    body = log.open(note)
    cp = parse_checkpoint(body)
    _, signatures = split_note(note)
    cosigned: dict[str, int] = {}
    for w in witnesses:
        ts = w.timestamp(body, signatures)
        if ts is not None:
            cosigned[w.vkey] = ts
    return Witnessed(cp, body, cosigned)
