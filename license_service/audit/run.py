"""One audit, start to end: the order of the checks in ``check`` and ``reconcile`` over what a
:class:`LogSource` serves, and the auditor's state file. ``elicense audit`` prints what
:func:`run_audit` returns.

The steps (DESIGN.md, "Auditor tooling"): pin the log key (the one given, else the one saved, else
trust on first use) and follow signed handovers to the key now served; open the checkpoint with it;
the same origin as before; no smaller than the tree saved last time, and consistent with it (RFC 9162
s.2.1.4); the whole log fetched, the entries counted before still the ones counted then (a rewritten
leaf row is named), the new entries giving the new root; with a credential, the registry reconciled
with the log (records, columns, lifecycle facts, entities, registration results, tokens against the
published keys, stored PDFs rehashed); then the new state is saved, and only then.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from signing.errors import SigningPackageError
from signing.tokens import Keyring

from .check import (
    AuditFailure,
    AuditState,
    CouldNotCheck,
    WitnessRequirement,
    check_consistency,
    check_growth,
    check_served,
    check_witnessed,
    decode_leaves,
    extend,
    follow_handovers,
    locate_rewrite,
    open_checkpoint,
    summarize,
)
from .client import LogSource
from .reconcile import reconcile as reconcile_registry

__all__ = ["MAX_ENTRIES", "AuditResult", "load_state", "run_audit", "save_state"]

#: the most log entries one run fetches (a checkpoint claiming more is not believed blindly)
MAX_ENTRIES = 10_000_000
_SHOWN = 50  # discrepancies printed; the rest are counted


@dataclass(frozen=True)
class AuditResult:
    """What one audit established, as data.

    ``lines`` are the findings in the order they were established (for the auditor to read), up to
    the end or the point where it stopped; ``failure`` says what does not hold; ``unchecked`` says
    what could not be checked (the server unreachable, too slow, too large, the credential refused:
    nothing found wrong, nothing shown right); both None: everything held. ``state`` is the state
    saved after a pass, or the state as it was before (then the file is left untouched).
    """

    lines: tuple[str, ...]
    state: AuditState
    failure: str | None = None
    unchecked: str | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None and self.unchecked is None


def load_state(path: Path) -> AuditState:
    """The state saved at ``path``; the empty state (nothing pinned, size 0) if there is none yet."""
    return AuditState.from_json(path.read_text()) if path.exists() else AuditState()


def save_state(state: AuditState, path: Path) -> None:
    """Write ``state`` to ``path`` atomically (a crash leaves the old file or the new, never half)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(state.to_json())
    tmp.replace(path)


def run_audit(log: LogSource, state_path: Path, *, pinned_key: str | None, reconcile: bool, at: datetime,
              pdfs: Literal["all", "new"] = "all", max_entries: int = MAX_ENTRIES,
              witnesses: WitnessRequirement | None = None) -> AuditResult:
    """Audit ``log`` against the state kept at ``state_path`` (created on the first pass).

    ``pinned_key`` (``name+keyid+base64``) overrides the key saved in the state; without either the
    key served now is trusted on first use. ``reconcile`` also checks the registry against the whole
    log (``log.registry()`` needs an auditor credential); ``pdfs`` says which stored PDFs it rehashes
    then: ``all``, or only those of license versions issued since the saved checkpoint.
    ``max_entries``: a checkpoint covering more entries than this is not fetched (could not check).
    ``at``: the time the stored tokens are verified at. ``witnesses``: the witness policy the checkpoint
    must meet (C2SP tlog-cosignature), checked after its consistency with the saved state.

    Returns an :class:`AuditResult`; every :class:`AuditFailure` and :class:`CouldNotCheck` of a
    check or of the source becomes its ``failure`` or ``unchecked`` (this is the one place that turns
    them into findings). Other exceptions (an unreadable state file) propagate. Reads no clock.
    """
    saved = load_state(state_path)
    lines: list[str] = []
    try:
        state = _audit(log, saved, pinned_key=pinned_key, with_registry=reconcile, at=at, pdfs=pdfs,
                       max_entries=max_entries, say=lines.append, witnesses=witnesses)
    except AuditFailure as e:
        return AuditResult(tuple(lines), saved, failure=str(e))
    except CouldNotCheck as e:
        return AuditResult(tuple(lines), saved, unchecked=str(e))
    save_state(state, state_path)
    lines.append(f"audit passed; state saved to {state_path}")
    return AuditResult(tuple(lines), state)


def _describe(data: bytes) -> str:
    """`` (action, license L)`` for a leaf that says so, else nothing."""
    try:
        leaf = json.loads(data)
        return f" ({leaf['action']}, license {leaf['license_id']})"
    except (ValueError, KeyError, TypeError):
        return ""


def _audit(log: LogSource, saved: AuditState, *, pinned_key: str | None, with_registry: bool, at: datetime,
           pdfs: Literal["all", "new"], max_entries: int, say: Callable[[str], None],
           witnesses: WitnessRequirement | None = None) -> AuditState:
    """The checks in order; returns the state to save. Raises :class:`AuditFailure` at the first
    thing that does not hold, :class:`CouldNotCheck` at the first thing it cannot fetch."""
    served_key = log.vkey()
    pinned = pinned_key or saved.vkey or served_key
    if not (pinned_key or saved.vkey):  # trust on first use: say so, so the auditor can compare it
        say(f"no key pinned yet: pinning the log key the server serves, {served_key} (key id "
            f"{served_key.split('+')[1] if served_key.count('+') >= 2 else '?'}); compare it with the "
            "operator's published key, or pass --key")
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
    if cp.size > max_entries:
        raise CouldNotCheck(f"the checkpoint covers {cp.size} entries; this audit fetches at most {max_entries} "
                            "per run (--max-entries)")
    all_leaves = log.entries(0, cp.size)  # first: a log cut short says so, not that it cannot prove
    if len(all_leaves) < cp.size:
        raise AuditFailure(f"the log shrank from {cp.size} to {len(all_leaves)}: its checkpoint covers {cp.size} "
                           f"entries and it serves {len(all_leaves)}")
    check_consistency(saved, cp, log.consistency(saved.size, cp.size))
    if witnesses is not None and witnesses.witnesses:
        names = check_witnessed(note, pinned, witnesses)
        say(f"cosigned by {len(names)} of the trusted witnesses ({', '.join(names)}); the policy requires "
            f"{witnesses.k}")
    old = all_leaves[:saved.size]
    span = check_served(saved, old)
    if span is not None:
        i = locate_rewrite(saved, old, span, log.consistency)
        raise AuditFailure(f"entry {i}{_describe(all_leaves[i])} as served now is not the entry audited before: "
                           f"entries {span[0]}..{span[1] - 1} no longer give their hash in the checkpoint of size "
                           f"{saved.size} saved earlier (the leaf was rewritten after it was logged)")
    frontier = extend(saved, cp, all_leaves[saved.size:])
    root = base64.b64encode(cp.root).decode()
    again = f"; the {saved.size} entries checked before served unchanged" if saved.size else ""
    say(f"checkpoint: {cp.origin} size {cp.size} root {root} (signature verified; consistent with size "
        f"{saved.size}; {cp.size - saved.size} new entries checked{again})")
    if with_registry:
        leaves = decode_leaves(all_leaves)
        registry = log.registry()
        try:
            keyring = Keyring.from_jwks(log.jwks())
        except (SigningPackageError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise AuditFailure(f"the published token keys (JWKS) are malformed: {e!r}") from None
        new = {leaf.get("license_id") for leaf in leaves[saved.size:]}
        wanted = [lic["license_id"] for lic in registry.licenses if pdfs == "all" or lic["license_id"] in new]
        hashes = {lid: log.pdf_sha256(lid) for lid in wanted}
        problems = reconcile_registry(leaves, registry, keyring=keyring, at=at, pdf_sha256=hashes)
        if problems:
            more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
            raise AuditFailure("the registry and the log disagree:\n  " + "\n  ".join(problems[:_SHOWN]) + more)
        summary = summarize(leaves)
        say(f"registry reconciled with the log: {summary['entries']} entries")
        say(f"registry: {len(registry.licenses)} license versions (tokens verified, {len(hashes)} stored PDFs "
            f"rehashed), {len(registry.entities)} entities, {len(registry.events)} registration results")
    else:
        summary = summarize(decode_leaves(all_leaves[saved.size:], saved.size))
    say("entries by action: " + ", ".join(f"{k} {v}" for k, v in summary["by_action"].items()))
    say("entries by day (China time, UTC+8): " + ", ".join(f"{k} {v}" for k, v in summary["by_day"].items()))
    return AuditState(vkey=pinned, origin=cp.origin, size=cp.size, root=root, frontier=frontier,
                      checkpoint=note)
