"""The issuance log: an append-only RFC 6962 Merkle tree in the registry's database, with signed
checkpoints (C2SP tlog-checkpoint in a C2SP signed note, Ed25519).

Appends run inside the transaction of the change they record, so a change and its leaf are committed
together or not at all. An append locks the log head (the one serialized step), reads the O(log n)
stored subtree hashes of the right edge, writes the leaf and the subtrees it completes, and signs a
checkpoint for the new size in the same transaction: checkpoints are published with zero delay.
Before signing it checks that the stored tree still has the root of the last checkpoint (kept on the
head row, written with it), so the log never signs a checkpoint inconsistent with an earlier one.
Reads (proofs, entries) need no key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signing.merkle import (
    EMPTY_ROOT,
    Node,
    consistency_plan,
    fold,
    inclusion_plan,
    leaf_hash,
    node_hash,
    range_nodes,
)
from signing.note import Checkpoint, NoteSigner, format_checkpoint

from .db.models import LogCheckpoint, LogHead, LogLeaf
from .db.raw import RawSql
from .errors import ServiceError

__all__ = ["IssuanceLog", "LogCorrupted", "LogRangeError", "SignedCheckpoint"]

MAX_ENTRIES = 1000  # per /log/entries call


class LogCorrupted(ServiceError):
    """The stored tree no longer matches the last signed checkpoint: refuse to extend it."""

    code = "log.corrupted"


class LogRangeError(ServiceError):
    status = 422
    title = "Invalid input"
    code = "log.range"


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str


def _nodes(s: Session, wanted: Sequence[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``wanted`` subtrees, in one primary-key lookup, as plain SQL (see RawSql)."""
    wanted = sorted(set(wanted))
    if not wanted:
        return {}
    where = " OR ".join(["(level = ? AND idx = ?)"] * len(wanted))
    rows = RawSql(s).all(f"SELECT level, idx, hash FROM log_nodes WHERE {where}",
                       tuple(v for node in wanted for v in node))
    found = {(r[0], r[1]): bytes(r[2]) for r in rows}
    if len(found) != len(wanted):
        raise LogCorrupted(f"the log store lacks {len(wanted) - len(found)} subtree hash(es)")
    return found


class IssuanceLog:
    def __init__(self, origin: str, signer: Callable[[], NoteSigner] | None = None) -> None:
        self.origin = origin
        self._signer = signer

    # -- writing (issuing service) ----------------------------------------------------------------
    def ensure_head(self, s: Session, at: datetime) -> None:
        """Create the head and the signed checkpoint of the empty tree, once."""
        if s.get(LogHead, 1) is not None:
            return
        try:
            with s.begin_nested():
                s.add(LogHead(id=1, size=0, root=EMPTY_ROOT))
                s.add(LogCheckpoint(size=0, root=EMPTY_ROOT, note=self._sign(0, EMPTY_ROOT), created_at=at))
        except IntegrityError:
            pass  # another process made it first

    def _sign(self, size: int, root: bytes) -> str:
        if self._signer is None:
            raise ServiceError("this service holds no log key", code="log.no_key")
        return self._signer().sign(format_checkpoint(Checkpoint(self.origin, size, root)))

    def append(self, s: Session, data: bytes, *, at: datetime) -> int:
        """Append ``data`` as the next leaf, in ``s``'s transaction; returns its index.

        The log's one serialized step, so its few fixed statements go straight to the DB-API cursor
        of the session's connection (same transaction): SQLAlchemy's per-statement overhead was
        85% of an append. Timestamps pass through the column type's own bind processor, so the
        stored values are exactly what the ORM writes.
        """
        sql = RawSql(s)
        row = sql.one("SELECT size, root FROM log_head WHERE id = ?" + sql.for_update, (1,))
        if row is None:
            self.ensure_head(s, at)
            row = sql.one("SELECT size, root FROM log_head WHERE id = ?" + sql.for_update, (1,))
        n, last_root = row[0], bytes(row[1])
        edge = range_nodes(0, n)
        found = _nodes(s, edge)
        frontier = [found[x] for x in edge]
        if fold(frontier) != last_root:
            raise LogCorrupted(f"the stored tree of size {n} does not match its signed checkpoint")
        h = leaf_hash(data)
        new = [(0, n, h)]
        level, index = 0, n
        while index & 1:  # each completed parent: the left sibling is the last subtree on the edge
            h = node_hash(frontier.pop(), h)
            level, index = level + 1, index >> 1
            new.append((level, index, h))
        frontier.append(h)
        root = fold(frontier)
        ts = sql.timestamp(at)
        note = self._sign(n + 1, root)
        with sql.batch():  # the log's lock is held until commit: one round trip for the four writes
            sql.run("INSERT INTO log_leaves (idx, data, created_at) VALUES (?, ?, ?)", (n, data, ts))
            sql.many("INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)", new)
            sql.run("UPDATE log_head SET size = ?, root = ? WHERE id = ?", (n + 1, root, 1))
            sql.run("INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)",
                    (n + 1, root, note, ts))
        return n

    # -- reading (verification service, auditors) ------------------------------------------------
    @staticmethod
    def latest(s: Session) -> SignedCheckpoint | None:
        row = s.execute(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1)).scalar_one_or_none()
        return SignedCheckpoint(row.size, row.root, row.note) if row else None

    @staticmethod
    def _size(s: Session) -> int:
        row = RawSql(s).one("SELECT size FROM log_head WHERE id = ?", (1,))
        return int(row[0]) if row else 0

    def inclusion(self, s: Session, index: int, size: int) -> list[bytes]:
        """RFC 9162 s.2.1.3.1 proof for leaf ``index`` in the tree of ``size``; O(log n) lookups."""
        if not 0 <= index < size <= self._size(s):
            raise LogRangeError(f"need 0 <= index < tree_size <= {self._size(s)}")
        plan = inclusion_plan(index, size)
        found = _nodes(s, [x for nodes in plan for x in nodes])
        return [fold([found[x] for x in nodes]) for nodes in plan]

    def consistency(self, s: Session, first: int, second: int) -> list[bytes]:
        """RFC 9162 s.2.1.4.1 proof between the trees of ``first`` and ``second`` leaves."""
        if not 0 < first <= second <= self._size(s):
            raise LogRangeError(f"need 0 < first <= second <= {self._size(s)}")
        plan = consistency_plan(first, second)
        found = _nodes(s, [x for nodes in plan for x in nodes])
        return [fold([found[x] for x in nodes]) for nodes in plan]

    def entries(self, s: Session, start: int, end: int) -> list[tuple[int, bytes]]:
        if not 0 <= start < end or end - start > MAX_ENTRIES:
            raise LogRangeError(f"need 0 <= start < end and at most {MAX_ENTRIES} entries per call")
        rows = s.execute(select(LogLeaf.idx, LogLeaf.data).where(LogLeaf.idx >= start, LogLeaf.idx < end)
                         .order_by(LogLeaf.idx)).all()
        return [(r.idx, r.data) for r in rows]
