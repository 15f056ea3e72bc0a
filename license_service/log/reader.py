"""The issuance log's read side: checkpoints, proofs and entries, with no key (the verification
service, the issuing service and the auditor's routes all read through it).

The log's size is the registry's generation (``verify_app/freshness.py``): :data:`SIZE_SQL` is the one
statement that reads it, used here, by the writer, and on the verifier's per-thread connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from signing.merkle import Node, consistency_plan, fold, inclusion_plan

from ..db.models import LogCheckpoint, LogLeaf
from ..db.raw import RawSql
from ..domain.errors import InputError
from ..errors import Fault

__all__ = ["MAX_ENTRIES", "SIZE_SQL", "LogCorrupted", "LogRangeError", "LogReader", "SignedCheckpoint", "log_size"]

MAX_ENTRIES = 1000  # per /log/entries call
#: the log's size (qmark style; ``RawSql`` adapts it to the driver)
SIZE_SQL = "SELECT size FROM log_head WHERE id = 1"


class LogCorrupted(Fault):
    """The stored tree no longer matches the last signed checkpoint, or lacks a node it needs."""

    code = "log.corrupted"


class LogRangeError(InputError):
    code = "log.range"


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str


def log_size(s: Session) -> int:
    """The number of leaves in the log (0 before the first)."""
    row = RawSql(s).one(SIZE_SQL, ())
    return int(row[0]) if row else 0


def stored_nodes(s: Session, wanted: Sequence[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``wanted`` subtrees, in one primary-key lookup, as plain SQL (see RawSql).
    Raises :class:`LogCorrupted` when any is missing."""
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


class LogReader:
    """Reads the log named ``origin`` (C2SP tlog-checkpoint origin line). Each method runs in the
    caller's session."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    @staticmethod
    def latest(s: Session) -> SignedCheckpoint | None:
        row = s.execute(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1)).scalar_one_or_none()
        return SignedCheckpoint(row.size, row.root, row.note) if row else None

    @staticmethod
    def recent_checkpoints(s: Session, n: int) -> list[LogCheckpoint]:
        return list(s.execute(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(n)).scalars())

    def inclusion(self, s: Session, index: int, size: int) -> list[bytes]:
        """RFC 9162 s.2.1.3.1 proof for leaf ``index`` in the tree of ``size``; O(log n) lookups."""
        if not 0 <= index < size <= log_size(s):
            raise LogRangeError(f"need 0 <= index < tree_size <= {log_size(s)}")
        plan = inclusion_plan(index, size)
        found = stored_nodes(s, [x for nodes in plan for x in nodes])
        return [fold([found[x] for x in nodes]) for nodes in plan]

    def consistency(self, s: Session, first: int, second: int) -> list[bytes]:
        """RFC 9162 s.2.1.4.1 proof between the trees of ``first`` and ``second`` leaves."""
        if not 0 < first <= second <= log_size(s):
            raise LogRangeError(f"need 0 < first <= second <= {log_size(s)}")
        plan = consistency_plan(first, second)
        found = stored_nodes(s, [x for nodes in plan for x in nodes])
        return [fold([found[x] for x in nodes]) for nodes in plan]

    @staticmethod
    def entries(s: Session, start: int, end: int) -> list[tuple[int, bytes]]:
        """Leaves ``[start, end)`` (at most :data:`MAX_ENTRIES`) as (index, bytes)."""
        if not 0 <= start < end or end - start > MAX_ENTRIES:
            raise LogRangeError(f"need 0 <= start < end and at most {MAX_ENTRIES} entries per call")
        rows = s.execute(select(LogLeaf.idx, LogLeaf.data).where(LogLeaf.idx >= start, LogLeaf.idx < end)
                         .order_by(LogLeaf.idx)).all()
        return [(r.idx, r.data) for r in rows]

    @staticmethod
    def leaves_since(s: Session, since: datetime) -> list[tuple[datetime, bytes]]:
        """(created_at, data) of every leaf logged at or after ``since`` (a timezone-aware datetime)."""
        return [(r.created_at, r.data) for r in s.execute(
            select(LogLeaf.created_at, LogLeaf.data).where(LogLeaf.created_at >= since)).all()]
