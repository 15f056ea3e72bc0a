"""The auditor's checks, pure (no I/O): the checkpoint's signature with the pinned key, consistency
with the checkpoint saved last time, the new entries hashing to the new root, and the registry
reconciled with the log. Every discrepancy is raised as :class:`AuditFailure` with a precise
sentence; nothing the server says is taken on its word where a hash or a signature can decide.
``run`` strings these together and keeps the state file; ``client`` fetches what they check."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from signing.keys.api import HANDOVER_TITLE
from signing.merkle import append_leaf, leaf_hash, root_from_range, verify_consistency
from signing.note import Checkpoint, NoteError, NoteVerifier, parse_checkpoint

__all__ = ["AuditFailure", "AuditState", "check_consistency", "check_growth", "decode_leaves", "extend",
           "follow_handovers", "open_checkpoint", "reconcile", "summarize"]

_ISSUE = ("establishment", "change", "reissue", "replacement")
_STATUS_BY_ACTION = {"revocation": "revoked", "cancellation": "cancelled"}


class AuditFailure(Exception):
    """The log or the registry is not what it must be; the message says what was found."""


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


def check_growth(state: AuditState, cp: Checkpoint) -> None:
    """An append-only log never serves a smaller tree than one it checkpointed before."""
    if cp.size < state.size:
        raise AuditFailure(f"the log shrank: it served size {cp.size} after size {state.size} was checkpointed")


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


def decode_leaves(leaves: list[bytes], first: int = 0) -> list[dict[str, Any]]:
    """The JSON objects of the leaves at indices ``first``, ``first + 1``... (DESIGN.md: leaf data is
    canonical JSON). Raises :class:`AuditFailure` naming the first leaf that is not JSON."""
    out = []
    for i, data in enumerate(leaves, start=first):
        try:
            out.append(json.loads(data))
        except ValueError:
            raise AuditFailure(f"leaf {i} is not JSON") from None
    return out


def summarize(leaves: list[dict[str, Any]]) -> dict[str, Any]:
    by_action = Counter(leaf.get("action", "?") for leaf in leaves)
    by_day = Counter(str(leaf.get("logged_at", "?"))[:10] for leaf in leaves)
    return {"entries": len(leaves), "by_action": dict(sorted(by_action.items())),
            "by_day": dict(sorted(by_day.items()))}


def reconcile(leaves: list[dict[str, Any]], licenses: list[dict[str, Any]]) -> list[str]:
    """Registry against log. Every license version: its record hashes to its digest; exactly one
    issuance leaf, at its leaf index, with the same digests; a status that the log's lifecycle leaves
    explain. Every leaf: it names a license version that exists. Returns the discrepancies found."""
    problems: list[str] = []
    by_id = {lic["license_id"]: lic for lic in licenses}
    issued: dict[str, list[int]] = {}
    superseded: set[str] = set()
    ended: dict[str, str] = {}
    for i, leaf in enumerate(leaves):
        lid = leaf.get("license_id")
        lic = by_id.get(lid)
        if lic is None:
            problems.append(f"leaf {i} ({leaf.get('action')}) names license {lid}, which the registry does not hold")
            continue
        if (leaf.get("uscc"), leaf.get("version")) != (lic["uscc"], lic["version"]):
            problems.append(f"leaf {i} names {lid} as {leaf.get('uscc')} v{leaf.get('version')}, the registry as "
                            f"{lic['uscc']} v{lic['version']}")
        if leaf.get("action") in _ISSUE:
            issued.setdefault(lid, []).append(i)  # type: ignore[arg-type]
            if leaf.get("supersedes"):
                superseded.add(leaf["supersedes"])
        elif leaf.get("action") in _STATUS_BY_ACTION:
            # the leaf records the license's status after the event (a revoked license stays revoked
            # when its entity is later cancelled)
            ended[lid] = leaf.get("license_status") or _STATUS_BY_ACTION[leaf["action"]]  # type: ignore[index]
    for lid, lic in sorted(by_id.items()):
        digest = hashlib.sha256(lic["record"].encode()).hexdigest()
        if digest != lic["record_digest"]:
            problems.append(f"license {lid}: its record hashes to {digest}, the registry says {lic['record_digest']} "
                            "(the row was edited)")
        where = issued.get(lid, [])
        if len(where) != 1:
            problems.append(f"license {lid} has {len(where)} issuance leaves in the log, not one")
            continue
        leaf = leaves[where[0]]
        if where[0] != lic["leaf_index"]:
            problems.append(f"license {lid}: the registry says leaf {lic['leaf_index']}, the log has it at {where[0]}")
        for key in ("record_digest", "pdf_sha256"):
            if leaf.get(key) != lic[key]:
                problems.append(f"license {lid}: {key} is {lic[key]} in the registry and {leaf.get(key)} in leaf "
                                f"{where[0]}")
        expected = "superseded" if lid in superseded else ended.get(lid, "current")
        if lic["status"] != expected:
            problems.append(f"license {lid} is {lic['status']} in the registry; the log says {expected}")
    return problems
