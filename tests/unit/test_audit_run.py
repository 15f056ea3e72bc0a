"""One audit (license_service/audit/run.py ``run_audit``) over an in-memory log: what it says on an
honest log, first run and incremental; each way a log or registry can be wrong, found and named,
with the state file left as it was; a key handover followed. No server, no network."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from license_service.audit.check import AuditFailure
from license_service.audit.client import LogSource
from license_service.audit.run import AuditResult, load_state, run_audit
from signing.keys.api import handover_text
from signing.merkle import consistency_plan, fold, leaf_hash, node_hash, range_nodes
from signing.note import Checkpoint, format_checkpoint
from signing.note_signing import NoteSigner, cosign

ORIGIN = "elicense.test/log"


class MemoryLog:
    """A :class:`LogSource` that keeps its leaves in memory and signs a checkpoint on each read."""

    def __init__(self, signer: NoteSigner, origin: str = ORIGIN) -> None:
        self.signer = signer
        self.origin = origin
        self.leaves: list[bytes] = []
        self.licenses: list[dict[str, Any]] = []
        self.handover_notes: list[str] = []
        self.registry_refused: str | None = None

    def issue(self, action: str, uscc: str, version: int, *, day: str = "2018-05-31",
              supersedes: str | None = None) -> dict[str, Any]:
        """A license version in the registry and its issuance leaf in the log, in agreement."""
        record = json.dumps({"uscc": uscc, "version": version})
        lic = {"license_id": f"L-{uscc}-{version}", "uscc": uscc, "version": version, "record": record,
               "record_digest": hashlib.sha256(record.encode()).hexdigest(), "pdf_sha256": "ab" * 32,
               "leaf_index": len(self.leaves), "status": "current"}
        leaf: dict[str, Any] = {"action": action, "license_id": lic["license_id"], "uscc": uscc, "version": version,
                                "record_digest": lic["record_digest"], "pdf_sha256": lic["pdf_sha256"],
                                "logged_at": f"{day}T02:00:00+00:00"}
        if supersedes:
            leaf["supersedes"] = supersedes
            next(x for x in self.licenses if x["license_id"] == supersedes)["status"] = "superseded"
        self.leaves.append(json.dumps(leaf, sort_keys=True).encode())
        self.licenses.append(lic)
        return lic

    def _node(self, level: int, index: int) -> bytes:
        if level == 0:
            return leaf_hash(self.leaves[index])
        return node_hash(self._node(level - 1, 2 * index), self._node(level - 1, 2 * index + 1))

    def root(self, size: int) -> bytes:
        return fold([self._node(*x) for x in range_nodes(0, size)])

    # -- LogSource --------------------------------------------------------------------------------
    def vkey(self) -> str:
        return self.signer.verifier.vkey

    def handovers(self) -> list[str]:
        return list(self.handover_notes)

    def checkpoint(self) -> str:
        n = len(self.leaves)
        return self.signer.sign(format_checkpoint(Checkpoint(self.origin, n, self.root(n))))

    def consistency(self, first: int, second: int) -> list[bytes]:
        if not 0 <= first <= second <= len(self.leaves):  # as the server's 422, through LogClient
            raise AuditFailure(f"GET /log/proof/consistency answered 422: first={first} second={second}")
        if first in (0, second):
            return []
        return [fold([self._node(*x) for x in nodes]) for nodes in consistency_plan(first, second)]

    def entries(self, start: int, end: int) -> list[bytes]:
        return self.leaves[start:end]

    def registry(self) -> list[dict[str, Any]]:
        if self.registry_refused:
            raise AuditFailure(self.registry_refused)
        return [dict(x) for x in self.licenses]


def _signer(name: str = ORIGIN) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.generate())


def _uscc(i: int) -> str:
    return f"9143310100000000{i:02d}"


@pytest.fixture
def log() -> MemoryLog:
    m = MemoryLog(_signer())
    first = m.issue("establishment", _uscc(1), 1)
    m.issue("establishment", _uscc(2), 1)
    m.issue("change", _uscc(1), 2, day="2018-06-01", supersedes=first["license_id"])
    return m


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def test_the_double_is_a_log_source(log: MemoryLog) -> None:
    source: LogSource = log  # mypy checks the protocol; this checks the test's own double at run time
    assert source.vkey().startswith(ORIGIN + "+")


def test_a_first_audit_trusts_the_key_on_first_use_and_saves_the_state(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    result = run_audit(log, state, pinned_key=None, reconcile=False)
    assert result.passed and result.failure is None
    assert result.lines == (
        f"checkpoint: {ORIGIN} size 3 root {_b64(log.root(3))} (signature verified; consistent with size 0; "
        "3 new entries checked)",
        "entries by action: change 1, establishment 2",
        "entries by day:    2018-05-31 2, 2018-06-01 1",
        f"audit passed; state saved to {state}",
    )
    saved = load_state(state)
    assert saved == result.state
    assert (saved.vkey, saved.origin, saved.size, saved.root) == (log.vkey(), ORIGIN, 3, _b64(log.root(3)))
    assert saved.checkpoint is not None and saved.checkpoint.startswith(f"{ORIGIN}\n3\n")


def test_a_second_audit_checks_only_the_new_entries(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert run_audit(log, state, pinned_key=None, reconcile=False).passed
    log.issue("establishment", _uscc(3), 1, day="2018-06-02")
    log.issue("establishment", _uscc(4), 1, day="2018-06-02")
    result = run_audit(log, state, pinned_key=None, reconcile=False)
    assert result.passed
    assert "consistent with size 3; 2 new entries checked" in result.lines[0]
    assert result.lines[1:3] == ("entries by action: establishment 2", "entries by day:    2018-06-02 2")
    assert load_state(state).size == 5


def test_nothing_new_is_a_pass(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    run_audit(log, state, pinned_key=None, reconcile=False)
    result = run_audit(log, state, pinned_key=None, reconcile=False)
    assert result.passed and "consistent with size 3; 0 new entries checked" in result.lines[0]
    assert result.lines[1:3] == ("entries by action: ", "entries by day:    ")


def test_reconciliation_with_the_registry(log: MemoryLog, tmp_path: Path) -> None:
    result = run_audit(log, tmp_path / "s.json", pinned_key=None, reconcile=True)
    assert result.passed
    assert result.lines[1:4] == ("registry reconciled with the log: 3 entries",
                                 "entries by action: change 1, establishment 2",
                                 "entries by day:    2018-05-31 2, 2018-06-01 1")


def _fails(result: AuditResult, says: str, state: Path, before: str | None) -> None:
    assert not result.passed and result.failure is not None and says in result.failure, result.failure
    assert (state.read_text() if state.exists() else None) == before  # the saved state is left as it was


def test_an_edited_registry_row_is_found(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    log.licenses[0]["record"] = log.licenses[0]["record"].replace("1", "7")
    result = run_audit(log, state, pinned_key=None, reconcile=True)
    _fails(result, "the row was edited", state, None)
    assert result.failure is not None and result.failure.startswith("the registry and the log disagree:\n  license ")
    assert result.lines[0].startswith("checkpoint: ")  # what held before the failure is still said


def test_a_status_the_log_does_not_explain_is_found(log: MemoryLog, tmp_path: Path) -> None:
    log.licenses[1]["status"] = "revoked"
    _fails(run_audit(log, tmp_path / "s.json", pinned_key=None, reconcile=True),
           f"license L-{_uscc(2)}-1 is revoked in the registry; the log says current", tmp_path / "s.json", None)


def test_a_forked_history_is_found(log: MemoryLog, tmp_path: Path) -> None:
    """The operator rewrites an old leaf and signs a checkpoint for the new tree: every signature
    verifies, and only the checkpoint saved before proves the fork."""
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False)
    before = state.read_text()
    log.leaves[1] = log.leaves[1].replace(b"establishment", b"establishmenT")
    log.issue("establishment", _uscc(5), 1)
    _fails(run_audit(log, state, pinned_key=None, reconcile=False), "fork: the checkpoint of size 4", state, before)
    assert run_audit(log, tmp_path / "newcomer.json", pinned_key=None, reconcile=False).passed


def test_a_shrunk_log_is_found(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False)
    before = state.read_text()
    del log.leaves[2]
    _fails(run_audit(log, state, pinned_key=None, reconcile=False),
           "the log shrank: it served size 2 after size 3 was checkpointed", state, before)


def test_entries_that_do_not_give_the_root_are_found(log: MemoryLog, tmp_path: Path) -> None:
    class Lying(MemoryLog):
        def entries(self, start: int, end: int) -> list[bytes]:
            return [x.replace(b"change", b"chanGe") for x in super().entries(start, end)]

    liar = Lying(log.signer)
    liar.leaves = log.leaves
    _fails(run_audit(liar, tmp_path / "s.json", pinned_key=None, reconcile=False),
           "entries 0..2 do not hash to the root of the checkpoint of size 3", tmp_path / "s.json", None)


def test_a_checkpoint_by_another_key_is_refused(log: MemoryLog, tmp_path: Path) -> None:
    pinned = _signer().verifier.vkey  # same name, another key, and no handover from it
    _fails(run_audit(log, tmp_path / "s.json", pinned_key=pinned, reconcile=False),
           f"the log key changed: pinned {pinned}, served {log.vkey()}", tmp_path / "s.json", None)


def test_another_origin_is_refused(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False)
    before = state.read_text()
    log.origin = "elicense.test/other"
    _fails(run_audit(log, state, pinned_key=None, reconcile=False),
           f"the checkpoint's origin is 'elicense.test/other', not {ORIGIN!r}", state, before)


def test_a_signed_handover_is_followed_and_the_new_key_pinned(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False)
    old, new = log.signer, _signer()
    text = handover_text(old.verifier.vkey, new.verifier.vkey, datetime(2026, 1, 1, tzinfo=UTC))
    log.handover_notes.append(cosign(text, old, new))
    log.signer = new
    log.issue("establishment", _uscc(6), 1)
    result = run_audit(log, state, pinned_key=None, reconcile=False)
    assert result.passed, result.failure
    assert result.lines[0] == ("log key rotated 1 time(s), each handover signed by the old and the new key: now "
                               f"pinned {new.verifier.vkey}")
    assert "consistent with size 3; 1 new entries checked" in result.lines[1]
    assert load_state(state).vkey == new.verifier.vkey


def test_a_handover_signed_by_the_new_key_alone_is_not_followed(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False)
    before = state.read_text()
    new = _signer()
    log.handover_notes.append(new.sign(handover_text(log.signer.verifier.vkey, new.verifier.vkey,
                                                     datetime(2026, 1, 1, tzinfo=UTC))))
    log.signer = new
    _fails(run_audit(log, state, pinned_key=None, reconcile=False), "no handover signed by the pinned key leads there",
           state, before)


def test_a_source_that_cannot_answer_fails_the_audit(log: MemoryLog, tmp_path: Path) -> None:
    log.registry_refused = "reconciling the registry needs an auditor credential (scope audit)"
    result = run_audit(log, tmp_path / "s.json", pinned_key=None, reconcile=True)
    _fails(result, "needs an auditor credential", tmp_path / "s.json", None)
