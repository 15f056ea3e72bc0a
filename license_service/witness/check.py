"""The witness's decision on an add-checkpoint request (C2SP tlog-witness s."add-checkpoint"), pure:
parse the request body, check the log's signature, then the old size, the proof and the roots against
the latest checkpoint cosigned for that origin. Returns what to answer; stores nothing and reads no
clock (the caller holds the state's transaction around it and cosigns an :class:`Accept`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from signing.merkle import EMPTY_ROOT, verify_consistency
from signing.note import Checkpoint, NoteError, NoteVerifier, parse_checkpoint

__all__ = ["MAX_BODY", "MAX_PROOF", "Accept", "AddCheckpoint", "Cosigned", "Refuse", "decide", "format_request",
           "origin_hash", "parse_request"]

MAX_PROOF = 63  # tlog-witness: "The client MUST NOT send more than 63 consistency proof lines"
MAX_BODY = 64 * 1024  # bytes: a checkpoint with a few signatures and 63 proof lines is ~6 KiB


@dataclass(frozen=True)
class AddCheckpoint:
    old: int
    proof: tuple[bytes, ...]
    note: str  # the checkpoint as a signed note, as sent


@dataclass(frozen=True)
class Cosigned:
    """The latest checkpoint a witness cosigned for one origin."""

    size: int
    root: bytes
    note: str


@dataclass(frozen=True)
class Accept:
    """Cosign ``body`` and record ``checkpoint`` (with ``note``) as the latest for its origin."""

    checkpoint: Checkpoint
    body: str
    note: str


@dataclass(frozen=True)
class Refuse:
    """Answer ``status`` with ``body`` (``content_type``); ``inconsistent`` marks evidence of a fork."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    inconsistent: bool = False


class _Malformed(ValueError):
    pass


def origin_hash(origin: str) -> str:
    """tlog-witness s."Monitor Retrieval Mechanism": lowercase hex SHA-256 of the origin."""
    return hashlib.sha256(origin.encode()).hexdigest()


def format_request(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint body: ``old N``, one base64 hash a line, an empty line, the checkpoint."""
    lines = [f"old {old}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n"]
    return ("".join(lines) + note).encode()


def _decimal(text: str) -> int:
    if not text.isascii() or not text.isdigit() or (text != "0" and text[0] == "0"):
        raise _Malformed("not a decimal with no leading zeroes")
    return int(text)


def parse_request(body: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint body. Raises ``ValueError`` when it is malformed (answer 400)."""
    if len(body) > MAX_BODY:
        raise _Malformed("request too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed("not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise _Malformed("no empty line before the checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise _Malformed("the first line is not 'old N'")
    old = _decimal(lines[0][4:])
    if len(lines) - 1 > MAX_PROOF:
        raise _Malformed(f"more than {MAX_PROOF} proof lines")
    proof = []
    for line in lines[1:]:
        try:
            h = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise _Malformed("a proof line is not base64") from None
        if len(h) != 32:
            raise _Malformed("a proof line is not a SHA-256 hash")
        proof.append(h)
    return AddCheckpoint(old, tuple(proof), note)


def decide(request: AddCheckpoint, logs: Mapping[str, Sequence[NoteVerifier]],
           latest: Cosigned | None) -> Accept | Refuse:
    """What to answer ``request``: ``logs`` maps each known origin to its trusted keys; ``latest`` is
    the checkpoint last cosigned for the request's origin (None: never). The checks, in the spec's
    order: origin known (404), a trusted signature verifies (403), old size not above the checkpoint's
    (400), old size equal to the latest cosigned size (409 with that size, ``text/x.tlog.size``), an
    empty tree has the empty root, the proof verifies, equal sizes have equal roots (422)."""
    origin = request.note.partition("\n")[0]
    verifiers = logs.get(origin)
    if verifiers is None:
        return Refuse(404, "unknown log origin\n")
    body = None
    for v in verifiers:
        try:
            body = v.open(request.note)
            break
        except NoteError:
            continue
    if body is None:
        return Refuse(403, "no signature by a trusted key of this log verifies\n")
    try:
        cp = parse_checkpoint(body)
    except NoteError:
        return Refuse(400, "malformed checkpoint\n")
    if cp.origin != origin:
        return Refuse(400, "malformed checkpoint\n")
    if request.old > cp.size:
        return Refuse(400, "the old size is larger than the checkpoint's\n")
    have = latest.size if latest else 0
    if request.old != have:
        return Refuse(409, f"{have}\n", "text/x.tlog.size")
    if cp.size == 0 and cp.root != EMPTY_ROOT:
        return Refuse(422, "a tree of size 0 has the empty root\n", inconsistent=True)
    if latest is None or request.old == 0:
        if request.proof:
            return Refuse(422, "no proof is sent from size 0\n")
        return Accept(cp, body, request.note)
    if cp.size == latest.size:
        if cp.root != latest.root:
            return Refuse(422, f"a different root for size {cp.size}, which was cosigned with another root\n",
                          inconsistent=True)
        return Accept(cp, body, request.note)
    if not verify_consistency(latest.size, cp.size, latest.root, cp.root, request.proof):
        return Refuse(422, f"not consistent with the checkpoint of size {latest.size} cosigned before\n",
                      inconsistent=True)
    return Accept(cp, body, request.note)
