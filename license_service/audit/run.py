"""One audit, start to end: the order of the checks in ``check`` over what a :class:`LogSource`
serves, and the auditor's state file. ``elicense audit`` prints what :func:`run_audit` returns.

The steps (DESIGN.md, "Auditor tooling"): pin the log key (the one given, else the one saved, else
trust on first use) and follow signed handovers to the key now served; open the checkpoint with it;
the same origin as before; consistent with the checkpoint saved last time (RFC 9162 s.2.1.4); the
new entries hash to the new root; with a credential, the whole log as served now still gives that
root and the registry reconciles with it; then the new state is saved, and only then.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .check import (
    AuditFailure,
    AuditState,
    check_consistency,
    check_growth,
    decode_leaves,
    extend,
    follow_handovers,
    open_checkpoint,
    summarize,
)
from .check import reconcile as reconcile_registry
from .client import LogSource

__all__ = ["AuditResult", "load_state", "run_audit", "save_state"]


@dataclass(frozen=True)
class AuditResult:
    """What one audit established, as data.

    ``lines`` are the findings in the order they were established (for the auditor to read), up to
    the failure if there was one; ``failure`` says what does not hold (None: everything held);
    ``state`` is the state saved after a pass, or the state as it was before a failure (then the
    file is left untouched).
    """

    lines: tuple[str, ...]
    state: AuditState
    failure: str | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None


def load_state(path: Path) -> AuditState:
    """The state saved at ``path``; the empty state (nothing pinned, size 0) if there is none yet."""
    return AuditState.from_json(path.read_text()) if path.exists() else AuditState()


def save_state(state: AuditState, path: Path) -> None:
    """Write ``state`` to ``path`` atomically (a crash leaves the old file or the new, never half)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(state.to_json())
    tmp.replace(path)


def run_audit(log: LogSource, state_path: Path, *, pinned_key: str | None, reconcile: bool) -> AuditResult:
    """Audit ``log`` against the state kept at ``state_path`` (created on the first pass).

    ``pinned_key`` (``name+keyid+base64``) overrides the key saved in the state; without either the
    key served now is trusted on first use. ``reconcile`` also checks the registry against the whole
    log (``log.registry()`` needs an auditor credential).

    Returns an :class:`AuditResult`; every :class:`AuditFailure` of a check or of the source becomes
    its ``failure`` (this is the one place that turns them into a finding). Other exceptions (an
    unreadable state file) propagate. Reads no clock.
    """
    saved = load_state(state_path)
    lines: list[str] = []
    try:
        state = _audit(log, saved, pinned_key=pinned_key, with_registry=reconcile, say=lines.append)
    except AuditFailure as e:
        return AuditResult(tuple(lines), saved, failure=str(e))
    save_state(state, state_path)
    lines.append(f"audit passed; state saved to {state_path}")
    return AuditResult(tuple(lines), state)


def _audit(log: LogSource, saved: AuditState, *, pinned_key: str | None, with_registry: bool,
           say: Callable[[str], None]) -> AuditState:
    """The checks in order; returns the state to save. Raises :class:`AuditFailure` at the first
    thing that does not hold."""
    served_key = log.vkey()
    pinned = pinned_key or saved.vkey or served_key
    if served_key != pinned:  # a rotation the pinned key signed over, or a failure
        chain = follow_handovers(pinned, served_key, log.handovers())
        say(f"log key rotated {len(chain) - 1} time(s), each handover signed by the old and the new "
            f"key: now pinned {served_key}")
        pinned = served_key
    note = log.checkpoint()
    cp = open_checkpoint(note, pinned)
    if saved.origin is not None and cp.origin != saved.origin:
        raise AuditFailure(f"the checkpoint's origin is {cp.origin!r}, not {saved.origin!r}")
    check_growth(saved, cp)  # before asking for a proof the server could not give
    check_consistency(saved, cp, log.consistency(saved.size, cp.size))
    new_leaves = log.entries(saved.size, cp.size)
    frontier = extend(saved, cp, new_leaves)
    root = base64.b64encode(cp.root).decode()
    say(f"checkpoint: {cp.origin} size {cp.size} root {root} (signature verified; consistent with size "
        f"{saved.size}; {cp.size - saved.size} new entries checked)")
    if with_registry:
        all_leaves = log.entries(0, cp.size)
        extend(AuditState(), cp, all_leaves)  # the whole log as served now must still give the root
        leaves = decode_leaves(all_leaves)
        problems = reconcile_registry(leaves, log.registry())
        if problems:
            raise AuditFailure("the registry and the log disagree:\n  " + "\n  ".join(problems))
        summary = summarize(leaves)
        say(f"registry reconciled with the log: {summary['entries']} entries")
    else:
        summary = summarize(decode_leaves(new_leaves, saved.size))
    say("entries by action: " + ", ".join(f"{k} {v}" for k, v in summary["by_action"].items()))
    say("entries by day:    " + ", ".join(f"{k} {v}" for k, v in summary["by_day"].items()))
    return AuditState(vkey=pinned, origin=cp.origin, size=cp.size, root=root, frontier=frontier,
                      checkpoint=note)
