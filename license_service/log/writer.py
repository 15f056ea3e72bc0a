"""The issuance log's write side: appends and signed checkpoints (C2SP tlog-checkpoint in a C2SP
signed note, Ed25519). The issuing service only: it holds the log's signing key.

Appends run inside the transaction of the change they record, so a change and its leaf are committed
together or not at all. An append locks the log head (the one serialized step), reads the O(log n)
stored subtree hashes of the right edge, writes the leaf and the subtrees it completes, and signs a
checkpoint for the new size in the same transaction: checkpoints are published with zero delay.
Before signing it checks that the stored tree still has the root of the last checkpoint (kept on the
head row, written with it), so the log never signs a checkpoint inconsistent with an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signing.merkle import EMPTY_ROOT, fold, leaf_hash, node_hash, range_nodes
from signing.note import Checkpoint, format_checkpoint
from signing.note_signing import NoteSigner

from ..db.models import LogCheckpoint, LogHead
from ..db.raw import RawSql
from .reader import LogCorrupted, LogReader, stored_nodes

__all__ = ["IssuanceLog"]

_HEAD = "SELECT size, root FROM log_head WHERE id = 1"  # locked by an append until commit


class IssuanceLog(LogReader):
    """The log with its signer: ``signer()`` returns the checkpoint key (loaded on first use)."""

    def __init__(self, origin: str, signer: Callable[[], NoteSigner]) -> None:
        super().__init__(origin)
        self._signer = signer

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
        return self._signer().sign(format_checkpoint(Checkpoint(self.origin, size, root)))

    def append(self, s: Session, data: bytes, *, at: datetime) -> int:
        """Append ``data`` as the next leaf, in ``s``'s transaction; returns its index.

        The log's one serialized step, so its few fixed statements go straight to the DB-API cursor
        of the session's connection (same transaction): SQLAlchemy's per-statement overhead was
        85% of an append. Timestamps pass through the column type's own bind processor, so the
        stored values are exactly what the ORM writes.
        """
        sql = RawSql(s)
        row = sql.one(_HEAD + sql.for_update, ())
        if row is None:
            self.ensure_head(s, at)
            row = sql.one(_HEAD + sql.for_update, ())
        n, last_root = int(row[0]), bytes(row[1])
        edge = range_nodes(0, n)
        found = stored_nodes(s, edge)
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
