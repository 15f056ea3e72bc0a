"""The auditor's checks of the log, pure (no I/O): the checkpoint's signature with the pinned key,
consistency with the checkpoint saved last time, the entries counted before still served as they
were, the new entries hashing to the new root. Every discrepancy is raised as :class:`AuditFailure`
with a precise sentence; nothing the server says is taken on its word where a hash or a signature
can decide. ``reconcile`` checks the registry against the log; ``run`` strings the checks together
and keeps the state file; ``client`` fetches what they check."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from signing.cosignature import CosignatureVerifier, open_witnessed
from signing.keys.api import HANDOVER_TITLE
from signing.merkle import append_leaf, leaf_hash, range_nodes, root_from_range, verify_consistency
from signing.note import Checkpoint, NoteError, NoteVerifier, parse_checkpoint

from ..domain.china_time import china_date

__all__ = ["AuditError", "AuditFailure", "AuditState", "CouldNotCheck", "WitnessRequirement", "check_consistency",
           "check_growth", "check_served", "check_witnessed", "decode_leaves", "extend", "follow_handovers",
           "locate_rewrite", "open_checkpoint", "summarize"]


class AuditError(Exception):
    """The root of what an audit raises: it failed, or it could not check."""


class AuditFailure(AuditError):
    """The log or the registry is not what it must be; the message says what was found."""


class CouldNotCheck(AuditError):
    """The audit could not get what it must check (the server unreachable, too slow, overloaded, an
    answer too large, the credential refused): nothing was found wrong, and nothing was shown right."""


@dataclass
class AuditState:
    """What the auditor keeps between runs (its state file): the pinned key and the last checkpoint
    it verified, with the compact range of that tree so new entries can be checked alone."""

    vkey: str | None = None
    origin: str | None = None
    size: int = 0
    root: str = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    frontier: list[str] = field(default_factory=list)
    checkpoint: str | None = None

    @classmethod
    def from_json(cls, text: str) -> AuditState:
        """The state as :meth:`to_json` wrote it."""
        return cls(**json.loads(text))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def follow_handovers(pinned: str, served: str, notes: list[str]) -> list[str]:
    """The keys from ``pinned`` to ``served``, each step a handover note (``signing/rotation.py``)
    that names the two keys and verifies with both. Raises :class:`AuditFailure` when no such chain
    leads from the key the auditor trusts to the one now served."""
    chain = [pinned]
    for note in notes:
        try:
            title, old, new, _at = NoteVerifier.from_vkey(chain[-1]).open(note).rstrip("\n").split("\n")
            if title != HANDOVER_TITLE or old != chain[-1]:
                continue
            NoteVerifier.from_vkey(new).open(note)  # the new key signed it too: whoever holds it agrees
        except (NoteError, ValueError):
            continue  # a handover from another key, or not ours to follow
        chain.append(new)
    if chain[-1] != served:
        raise AuditFailure(f"the log key changed: pinned {pinned}, served {served}, and no handover signed "
                           "by the pinned key leads there")
    return chain


def open_checkpoint(note: str, vkey: str) -> Checkpoint:
    try:
        return parse_checkpoint(NoteVerifier.from_vkey(vkey).open(note))
    except NoteError as e:
        raise AuditFailure(f"the checkpoint does not verify with the pinned key: {e}") from None


@dataclass(frozen=True)
class WitnessRequirement:
    """The witnesses the auditor trusts (C2SP tlog-cosignature keys) and how many must have cosigned."""

    witnesses: tuple[CosignatureVerifier, ...]
    k: int

    @classmethod
    def of(cls, vkeys: list[str], k: int) -> WitnessRequirement:
        """From vkeys (raises ``NoteError`` for one that is not a cosignature/v1 key)."""
        return cls(tuple(CosignatureVerifier.from_vkey(v) for v in vkeys), k)


def check_witnessed(note: str, vkey: str, required: WitnessRequirement) -> list[str]:
    """The names of the trusted witnesses whose cosignatures on the checkpoint ``note`` verify; raises
    :class:`AuditFailure` when fewer than ``required.k`` do, or a trusted witness's line is forged.
    Cosignatures are what makes a split view show: a witness cosigns a checkpoint only if it is
    consistent with every checkpoint of this log it cosigned before, so a fork shown to this auditor
    alone carries none."""
    try:
        witnessed = open_witnessed(note, NoteVerifier.from_vkey(vkey), required.witnesses)
    except NoteError as e:
        raise AuditFailure(f"the checkpoint's cosignatures do not verify: {e}") from None
    names = [w.name for w in required.witnesses if w.vkey in witnessed.cosigned_by]
    if not witnessed.meets(required.k):
        cp = witnessed.checkpoint
        raise AuditFailure(f"the checkpoint of size {cp.size} is cosigned by {len(names)} of the {required.k} "
                           f"witnesses the policy requires ({', '.join(names) or 'none'}): the witnesses have not "
                           "vouched that it is consistent with the log they saw, so it may be a fork shown to "
                           "this auditor alone (a split view)")
    return names


def check_growth(state: AuditState, cp: Checkpoint) -> None:
    """An append-only log never serves a smaller tree than one it checkpointed before."""
    if cp.size < state.size:
        raise AuditFailure(f"the log shrank from {state.size} to {cp.size}: it served a checkpoint of size {cp.size} "
                           f"after size {state.size} was checkpointed")


def check_consistency(state: AuditState, cp: Checkpoint, proof: list[bytes]) -> None:
    """``cp``'s tree extends the saved one: RFC 9162 s.2.1.4.2 over ``proof``."""
    check_growth(state, cp)
    if state.size and not verify_consistency(state.size, cp.size, base64.b64decode(state.root), cp.root, proof):
        raise AuditFailure(f"fork: the checkpoint of size {cp.size} is not consistent with the checkpoint of size "
                           f"{state.size} saved earlier (root {state.root})")


def extend(state: AuditState, cp: Checkpoint, leaves: list[bytes]) -> list[str]:
    """Append the new leaves to the saved compact range; they must give the checkpoint's root."""
    if state.size + len(leaves) != cp.size:
        raise AuditFailure(f"the log served {len(leaves)} new entries for sizes {state.size}..{cp.size}")
    frontier = [base64.b64decode(h) for h in state.frontier]
    for i, data in enumerate(leaves):
        frontier = append_leaf(frontier, state.size + i, leaf_hash(data))
    if root_from_range(frontier) != cp.root:
        raise AuditFailure(f"entries {state.size}..{cp.size - 1} do not hash to the root of the checkpoint of size "
                           f"{cp.size}")
    return [base64.b64encode(h).decode() for h in frontier]


def _compact_range(leaves: list[bytes]) -> list[bytes]:
    frontier: list[bytes] = []
    for i, data in enumerate(leaves):
        frontier = append_leaf(frontier, i, leaf_hash(data))
    return frontier


def check_served(state: AuditState, leaves: list[bytes]) -> tuple[int, int] | None:
    """The entries the auditor counted before (``leaves``: indices 0 to ``state.size - 1`` as served
    now) against its saved compact range: they must be the entries it checked then. A consistency
    proof binds the tree (its stored hashes), not the entries served: a leaf row rewritten under an
    unchanged tree passes it and shows only here.

    Returns None when they agree, else the leaf range ``(start, end)`` of the first perfect subtree
    (RFC 9162 s.2.1.1) of the saved tree whose hash the served entries no longer give."""
    if len(leaves) != state.size:
        raise AuditFailure(f"the log served {len(leaves)} entries for the {state.size} it served before")
    served = _compact_range(leaves)
    for (level, index), saved, now in zip(range_nodes(0, state.size), state.frontier, served, strict=True):
        if base64.b64decode(saved) != now:
            return index << level, (index + 1) << level
    return None


def locate_rewrite(state: AuditState, leaves: list[bytes], span: tuple[int, int],
                   proof: Callable[[int, int], list[bytes]]) -> int:
    """The first index in ``span`` whose served entry is not the one the saved checkpoint covers (see
    :func:`check_served`), by bisection over prefix sizes: a consistency proof (RFC 9162 s.2.1.4.2)
    from ``m`` leaves to the saved tree verifies against the saved root only with the genuine root
    of the first ``m`` leaves, so the served prefix of size ``m`` is genuine exactly when it verifies.
    ``proof(first, second)`` fetches the server's proof; a server that lies in it can only move the
    index named, not hide the rewrite. Returns ``span[1] - 1`` when no proof narrows it down."""
    root = base64.b64decode(state.root)

    def genuine(m: int) -> bool:
        served = root_from_range(_compact_range(leaves[:m]))
        if m == state.size:
            return served == root
        return verify_consistency(m, state.size, served, root, proof(m, state.size))

    good, bad = span[0], span[1]  # the prefix of span[0] leaves is genuine, that of span[1] is not
    while bad - good > 1:
        mid = (good + bad) // 2
        if genuine(mid):
            good = mid
        else:
            bad = mid
    return bad - 1


def decode_leaves(leaves: list[bytes], first: int = 0) -> list[dict[str, Any]]:
    """The JSON objects of the leaves at indices ``first``, ``first + 1``... (DESIGN.md: leaf data is
    canonical JSON). Raises :class:`AuditFailure` naming the first leaf that is not a JSON object."""
    out = []
    for i, data in enumerate(leaves, start=first):
        try:
            leaf = json.loads(data)
        except ValueError:
            leaf = None
        if not isinstance(leaf, dict):
            raise AuditFailure(f"leaf {i} is not a JSON object")
        out.append(leaf)
    return out


def _china_day(logged_at: object) -> str:
    """The Beijing date of a leaf's ``logged_at`` (the day serials and registrations use), or "?"."""
    try:
        return china_date(datetime.fromisoformat(str(logged_at))).isoformat()
    except ValueError:
        return "?"


def summarize(leaves: list[dict[str, Any]]) -> dict[str, Any]:
    """Entries in all, by action, and by day in China time (UTC+8)."""
    by_action = Counter(str(leaf.get("action", "?")) for leaf in leaves)
    by_day = Counter(_china_day(leaf.get("logged_at")) for leaf in leaves)
    return {"entries": len(leaves), "by_action": dict(sorted(by_action.items())),
            "by_day": dict(sorted(by_day.items()))}
