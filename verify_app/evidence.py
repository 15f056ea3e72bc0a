"""Log evidence for a report, and the log check a verdict rests on (DESIGN.md "Witnesses").

A license verifies ``valid`` only if the issuance log holds its leaf, the leaf names this license (its
id and version) and the digests the registry holds for it (record and PDF), and the leaf is proven
included (RFC 9162 s.2.1.3) in a checkpoint that meets the witness policy: signed by the log and
cosigned by k witnesses (C2SP tlog-cosignature; k = 0: the log's signature suffices). A leaf only in
a newer checkpoint the log has signed but the witnesses have not yet cosigned is pending:
``indeterminate`` (``log.pending``), unless the operator configured a grace period and the license
was issued within it (``log.pending_grace``).

The checkpoints are re-read at most once a second (sooner when a leaf lies beyond them); the published
one's signatures are verified once per checkpoint; leaves and proofs (which never change for a given
index and tree size) are kept.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from license_service.log.reader import LogReader, SignedCheckpoint
from license_service.log.witnessed import WitnessPolicy, published
from license_service.reasons import Reason
from signing.cosignature import CosignatureVerifier, Witnessed, open_witnessed
from signing.keys.api import PublicKeys
from signing.merkle import leaf_hash, verify_inclusion
from signing.note import NoteError, NoteVerifier

from .report import Check

__all__ = ["LogEvidence", "LogView"]

_CHECKPOINT_TTL = 1.0  # seconds
_PROOF_CACHE = 50_000


@dataclass(frozen=True)
class LogView:
    """The log as read at one moment: the published checkpoint (it meets the witness policy) with its
    signatures verified (``witnessed``; ``problem`` says why not), and the latest checkpoint the log
    signed, which the verifier reads for itself (cosigned or not)."""

    published: SignedCheckpoint | None
    witnessed: Witnessed | None
    problem: str | None
    signed: SignedCheckpoint | None


class LogEvidence:
    def __init__(self, sessions: sessionmaker[Session], log: LogReader, keys: PublicKeys,
                 policy: WitnessPolicy | None = None, grace_seconds: float = 0.0) -> None:
        self._sessions = sessions
        self._log = log
        self._keys = keys
        self._policy = policy or WitnessPolicy()
        self._witnesses = tuple(CosignatureVerifier.from_vkey(v) for v in self._policy.witnesses)
        self._grace = grace_seconds
        self._view: tuple[float, LogView | None] = (float("-inf"), None)
        self._proofs: OrderedDict[tuple[int, int], list[bytes]] = OrderedDict()
        self._leaves: OrderedDict[int, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, *, fresh: bool = False) -> LogView:
        """The log's checkpoints, re-read at most once a second (``fresh``: now)."""
        with self._lock:
            fetched, view = self._view
        if fresh or view is None or time.monotonic() - fetched > _CHECKPOINT_TTL:
            with self._sessions() as s:
                pub = published(s, self._policy)
                signed = self._log.latest(s)
            if view is not None and pub is not None and view.published is not None and pub.note == view.published.note:
                witnessed, problem = view.witnessed, view.problem  # the same checkpoint: verified already
            else:
                witnessed, problem = self._open(pub)
            view = LogView(pub, witnessed, problem, signed)
            with self._lock:
                self._view = (time.monotonic(), view)
        return view

    def _open(self, cp: SignedCheckpoint | None) -> tuple[Witnessed | None, str | None]:
        if cp is None:
            return None, None
        try:
            witnessed = open_witnessed(cp.note, NoteVerifier.from_vkey(self._keys.log_vkey()), self._witnesses)
        except NoteError as e:
            return None, f"the published checkpoint does not verify: {e}"
        if not witnessed.meets(self._policy.k):
            return None, (f"the published checkpoint carries {len(witnessed.cosigned_by)} of the "
                          f"{self._policy.k} cosignatures the witness policy requires")
        if witnessed.checkpoint.size != cp.size or witnessed.checkpoint.root != cp.root:
            return None, "the published checkpoint's note does not say what the log's record of it says"
        return witnessed, None

    def check(self, lic: Any, view: LogView, at: datetime) -> tuple[Check, dict[str, Any] | None]:
        """The log check of license version ``lic`` (a registry row) against ``view``, at ``at``, and
        the evidence a client can check for itself (None when there is none to give)."""
        index = lic.leaf_index
        if index is None:
            return Check(Reason.LOG_NO_LEAF, "the issuance log holds no leaf for this license"), None
        if index >= (view.published.size if view.published else 0):
            view = self.view(fresh=True)  # issued since the last read, or cosigned since
        signed = view.signed
        data = self._leaf(index) if signed is not None and index < signed.size else None
        if data is None:
            size = signed.size if signed else 0
            return Check(Reason.LOG_BEYOND_LOG,
                         f"its leaf index {index} is beyond the log, which has {size} entries"), None
        wrong = _leaf_mismatch(data, lic)
        if wrong is not None:
            return wrong, None
        pub = view.published
        assert signed is not None
        target = pub if pub is not None and index < pub.size else signed
        if target is pub and view.problem is not None:
            return Check(Reason.LOG_CHECKPOINT_UNVERIFIED, view.problem), None
        root = view.witnessed.checkpoint.root if target is pub and view.witnessed else target.root
        proof = self._inclusion(index, target.size)
        if not verify_inclusion(index, target.size, leaf_hash(data), proof, root):
            return Check(Reason.LOG_INCLUSION_FAILED,
                         f"leaf {index} is not included in the checkpoint of size {target.size}"), None
        evidence = {"leaf_index": index, "tree_size": target.size, "leaf": base64.b64encode(data).decode(),
                    "inclusion_proof": [base64.b64encode(h).decode() for h in proof], "checkpoint": target.note}
        if target is pub:
            n = len(view.witnessed.cosigned_by) if view.witnessed else 0
            said = f", cosigned by {n} witness(es)" if self._policy.witnesses else ""
            return Check(Reason.LOG_INCLUDED, f"in the checkpoint of size {target.size}{said}"), evidence
        if self._grace and (at - lic.issued_at).total_seconds() <= self._grace:
            return Check(Reason.LOG_PENDING_GRACE,
                         f"in the log's checkpoint of size {target.size}, not yet cosigned by "
                         f"{self._policy.k} witnesses; within the {self._grace:g} s grace period"), evidence
        return Check(Reason.LOG_PENDING,
                     f"in the log's checkpoint of size {target.size}, not yet cosigned by {self._policy.k} "
                     "witnesses: try again shortly"), evidence

    def _leaf(self, index: int) -> bytes | None:
        with self._lock:
            if index in self._leaves:
                return self._leaves[index]
        with self._sessions() as s:
            rows = self._log.entries(s, index, index + 1)
        data = rows[0][1] if rows else None
        if data is not None:
            with self._lock:
                self._leaves[index] = data
                while len(self._leaves) > _PROOF_CACHE:
                    self._leaves.popitem(last=False)
        return data

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


def _leaf_mismatch(data: bytes, lic: Any) -> Check | None:
    """A failed check when the leaf does not name ``lic`` (id and version) or its digests."""
    try:
        leaf = json.loads(data)
    except ValueError:
        leaf = None
    if not isinstance(leaf, dict):
        return Check(Reason.LOG_LEAF_MALFORMED, f"leaf {lic.leaf_index} is not a JSON object")
    if leaf.get("license_id") != lic.license_id or leaf.get("version") != lic.version:
        return Check(Reason.LOG_LEAF_OTHER_LICENSE,
                     f"leaf {lic.leaf_index} records license {leaf.get('license_id')} version {leaf.get('version')}, "
                     "not this one")
    differ = [k for k, v in (("record_digest", lic.record_digest), ("pdf_sha256", lic.pdf_sha256)) if leaf.get(k) != v]
    if differ:
        return Check(Reason.LOG_LEAF_DIGEST_MISMATCH,
                     f"leaf {lic.leaf_index} records another {' and '.join(differ)} than the registry holds")
    return None
