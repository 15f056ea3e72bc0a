"""Which checkpoint the log publishes, with its witnesses' cosignatures (C2SP tlog-cosignature):
read side, no key. With no witnesses configured it is the latest signed checkpoint (policy k = 0).
With witnesses, it is the newest checkpoint that at least k of them cosigned (the log's signature line
followed by every stored cosignature line); while a witness has raised an alarm (it refused a
checkpoint as inconsistent), nothing newer than the checkpoint published then is published.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _witnessed_sizes(s: Session, policy: WitnessPolicy, cap: int | None) -> Sequence[int]:
    q = select(LogCosignature.size).where(LogCosignature.witness.in_(policy.witnesses))
    if cap is not None:
        q = q.where(LogCosignature.size <= cap)
    q = q.group_by(LogCosignature.size).having(func.count() >= policy.k)
    return list(s.execute(q.order_by(LogCosignature.size.desc()).limit(1)).scalars())


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
        sizes = _witnessed_sizes(s, policy, cap)
        row = s.get(LogCheckpoint, sizes[0]) if sizes else None
    return _with_cosignatures(s, row, policy) if row is not None else None
