"""The log's side of C2SP tlog-witness: one add-checkpoint request to one witness, its answer as
data. All of the witness HTTP the issuing service does is here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from signing.cosignature import CosignatureVerifier, split_note
from signing.note import NoteError

from .check import format_request

__all__ = ["Answer", "Conflict", "Cosignature", "Refused", "Unreachable", "WitnessClient"]


@dataclass(frozen=True)
class Cosignature:
    """The witness cosigned: its signature line (verified), and its timestamp."""

    line: str
    timestamp: int


@dataclass(frozen=True)
class Conflict:
    """409: the witness last cosigned ``size`` (the old size sent was not its)."""

    size: int


@dataclass(frozen=True)
class Refused:
    """The witness refused (400, 403, 404, 422) or answered what does not verify: ``inconsistent``
    when it says the checkpoint contradicts one it cosigned (422), or its cosignature is bad."""

    status: int
    reason: str
    inconsistent: bool


@dataclass(frozen=True)
class Unreachable:
    reason: str


Answer = Cosignature | Conflict | Refused | Unreachable


class WitnessClient:
    """Talks to the witness at ``url`` (keep-alive), whose key is ``vkey``."""

    def __init__(self, url: str, vkey: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.verifier = CosignatureVerifier.from_vkey(vkey)
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def add_checkpoint(self, old: int, proof: Sequence[bytes], note: str) -> Answer:
        """POST ``note`` with ``old`` and the consistency ``proof``; a 200's lines are checked and only
        this witness's cosignature on this checkpoint is kept (tlog-witness: ignore unknown keys)."""
        try:
            r = self._http.post(self.url + "/add-checkpoint", content=format_request(old, proof, note))
        except httpx.HTTPError as e:
            return Unreachable(f"{type(e).__name__}: {e}")
        text = r.text
        if r.status_code == 409:
            size = text.strip()
            if r.headers.get("content-type", "").startswith("text/x.tlog.size") and size.isdigit():
                return Conflict(int(size))
            return Refused(409, f"a 409 without a size: {text[:200]!r}", inconsistent=False)
        if r.status_code != 200:
            return Refused(r.status_code, text.strip()[:500], inconsistent=r.status_code == 422)
        try:
            body, _ = split_note(note)
            _, lines = split_note(body + "\n" + text)
            ts = self.verifier.timestamp(body, lines)
        except NoteError as e:
            return Refused(200, f"its answer does not verify: {e}", inconsistent=True)
        if ts is None:
            return Refused(200, "its answer carries no cosignature by its key", inconsistent=False)
        mine = next(line + "\n" for line in text.split("\n") if line.startswith(f"\u2014 {self.verifier.name} ")
                    and self.verifier.timestamp(body, split_note(body + "\n" + line + "\n")[1]) is not None)
        return Cosignature(mine, ts)
