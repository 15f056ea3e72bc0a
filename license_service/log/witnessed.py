"""Which checkpoint the log publishes, with its witnesses' cosignatures (C2SP tlog-cosignature):
read side, no key. With no witnesses configured it is the latest signed checkpoint (policy k = 0).
With witnesses, it is the newest checkpoint that at least k of them cosigned (the log's signature line
followed by every stored cosignature line); while a witness has raised an alarm (it refused a
checkpoint as inconsistent), nothing newer than the checkpoint published then is published.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import LogCheckpoint, LogCosignature, LogWitness
from .reader import LogReader, SignedCheckpoint

__all__ = ["WitnessPolicy", "alarms", "published"]


@dataclass(frozen=True)
class WitnessPolicy:
    """The witnesses' vkeys (cosignature/v1) in the configured order, and how many must cosign."""

    witnesses: tuple[str, ...] = ()
    k: int = 0


def alarms(s: Session, policy: WitnessPolicy) -> list[LogWitness]:
    """The configured witnesses that have an alarm raised (they refused a checkpoint as inconsistent)."""
    if not policy.witnesses:
        return []
    return list(s.execute(select(LogWitness).where(LogWitness.witness.in_(policy.witnesses),
                                                   LogWitness.alarm.is_not(None))).scalars())


def _cap(s: Session, policy: WitnessPolicy) -> int | None:
    raised = [a.alarm_size for a in alarms(s, policy)]
    return min((a or 0) for a in raised) if raised else None


def _with_cosignatures(s: Session, row: LogCheckpoint, policy: WitnessPolicy) -> SignedCheckpoint:
    lines = {w: line for w, line in s.execute(select(LogCosignature.witness, LogCosignature.line).where(
        LogCosignature.size == row.size, LogCosignature.witness.in_(policy.witnesses))).all()}
    return SignedCheckpoint(row.size, row.root, row.note + "".join(lines[w] for w in policy.witnesses if w in lines))


_RECENT = 256  # cosignature rows looked at first, newest first: the newest witnessed size is nearly always there


def _witnessed_size(s: Session, policy: WitnessPolicy, cap: int | None) -> int | None:
    """The largest size at least ``policy.k`` of the witnesses cosigned (at most ``cap``): first among
    the newest rows (an index range on the primary key), else over all of them."""
    q = select(LogCosignature.size).where(LogCosignature.witness.in_(policy.witnesses))
    if cap is not None:
        q = q.where(LogCosignature.size <= cap)
    counts: dict[int, int] = {}
    for size in s.execute(q.order_by(LogCosignature.size.desc()).limit(_RECENT)).scalars():
        counts[size] = counts.get(size, 0) + 1
        if counts[size] >= policy.k:
            return int(size)
    q = q.group_by(LogCosignature.size).having(func.count() >= policy.k)
    return s.execute(q.order_by(LogCosignature.size.desc()).limit(1)).scalar_one_or_none()


def published(s: Session, policy: WitnessPolicy) -> SignedCheckpoint | None:
    """The checkpoint ``/log/checkpoint`` serves (see the module's docstring); None when there is none
    that meets the policy yet (or no checkpoint at all)."""
    if not policy.witnesses:
        return LogReader.latest(s)
    cap = _cap(s, policy)
    if policy.k == 0:
        q = select(LogCheckpoint)
        if cap is not None:
            q = q.where(LogCheckpoint.size <= cap)
        row = s.execute(q.order_by(LogCheckpoint.size.desc()).limit(1)).scalar_one_or_none()
    else:
        size = _witnessed_size(s, policy, cap)
        row = s.get(LogCheckpoint, size) if size is not None else None
    return _with_cosignatures(s, row, policy) if row is not None else None
