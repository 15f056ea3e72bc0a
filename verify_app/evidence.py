"""Log evidence for a report: the license's issuance leaf, its inclusion proof and the checkpoint it
is proven against, so a client can check for itself that the license is on the public record. The
latest checkpoint is re-read at most once a second, and proofs (which never change for a given leaf
and tree size) are kept; both are read through the log's read side."""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from license_service.log.reader import LogReader, SignedCheckpoint

__all__ = ["LogEvidence"]

_CHECKPOINT_TTL = 1.0  # seconds
_PROOF_CACHE = 50_000


class LogEvidence:
    def __init__(self, sessions: sessionmaker[Session], log: LogReader) -> None:
        self._sessions = sessions
        self._log = log
        self._checkpoint: tuple[float, SignedCheckpoint | None] = (float("-inf"), None)
        self._proofs: OrderedDict[tuple[int, int], list[bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self) -> SignedCheckpoint | None:
        """The latest checkpoint, re-read at most once a second: any checkpoint at least as large as
        the leaf proves its inclusion, so a second-old one is as good as the newest."""
        with self._lock:
            fetched, cp = self._checkpoint
        if time.monotonic() - fetched > _CHECKPOINT_TTL or cp is None:
            with self._sessions() as s:
                cp = self._log.latest(s)
            with self._lock:
                self._checkpoint = (time.monotonic(), cp)
        return cp

    def of(self, leaf_index: int | None, latest: SignedCheckpoint | None) -> dict[str, Any] | None:
        """The evidence for leaf ``leaf_index`` against ``latest``; None when it has no leaf there."""
        if leaf_index is None or latest is None or leaf_index >= latest.size:
            return None
        proof = self._inclusion(leaf_index, latest.size)
        return {"leaf_index": leaf_index, "tree_size": latest.size,
                "inclusion_proof": [base64.b64encode(h).decode() for h in proof], "checkpoint": latest.note}

    def _inclusion(self, index: int, size: int) -> list[bytes]:
        key = (index, size)
        with self._lock:
            proof = self._proofs.get(key)
            if proof is not None:
                self._proofs.move_to_end(key)
                return proof
        with self._sessions() as s:
            proof = self._log.inclusion(s, index, size)
        with self._lock:
            self._proofs[key] = proof
            while len(self._proofs) > _PROOF_CACHE:
                self._proofs.popitem(last=False)
        return proof
