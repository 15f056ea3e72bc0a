"""One audit (license_service/audit/run.py ``run_audit``) over an in-memory log and registry: what
it says on an honest log, first run and incremental, with leaves of both shapes; each way a log or
registry can be wrong, found and named, with the state file left as it was; what could not be
checked told apart from what failed; a key handover followed. No server, no network."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from license_service.audit.check import AuditFailure, CouldNotCheck
from license_service.audit.client import LogSource
from license_service.audit.reconcile import RegistryListing
from license_service.audit.run import AuditResult, load_state, run_audit
from license_service.claims import compact_claims, token_claims
from signing.canonical import canonical_json
from signing.compact_tokens import CompactClaims, sign_compact
from signing.keys.api import handover_text
from signing.keys.files import TokenSigningKey
from signing.merkle import consistency_plan, fold, leaf_hash, node_hash, range_nodes
from signing.note import Checkpoint, format_checkpoint
from signing.note_signing import NoteSigner, cosign
from signing.tokens import sign_claims

ORIGIN = "elicense.test/log"
AT = datetime(2026, 1, 1, tzinfo=UTC)
_ISSUE = ("establishment", "change", "reissue", "replacement")


def _token_key() -> TokenSigningKey:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return TokenSigningKey.from_pem(pem)


def _sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _utc(day: str, hour: int) -> str:
    return f"{day}T{hour:02d}:00:00+00:00"


class MemoryLog:
    """A :class:`LogSource` that keeps its leaves and a registry in memory, the two in agreement as
    the issuing service keeps them, and signs a checkpoint on each read. ``shape`` is the shape of
    the leaves it writes (1: as before ``v``; 2: ``"v": 2``, license_service/issuance.py)."""

    def __init__(self, signer: NoteSigner, origin: str = ORIGIN, *, shape: int = 2) -> None:
        self.signer = signer
        self.origin = origin
        self.shape = shape
        self.token_key = _token_key()
        self.leaves: list[bytes] = []
        self.served: dict[int, bytes] = {}  # leaf rows rewritten under an unchanged tree
        self.licenses: list[dict[str, Any]] = []
        self.entities: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.pdfs: dict[str, bytes] = {}
        self.handover_notes: list[str] = []
        self.registry_refused: str | None = None

    # -- the issuing service's writes -------------------------------------------------------------
    def _lic(self, license_id: str) -> dict[str, Any]:
        return next(x for x in self.licenses if x["license_id"] == license_id)

    def _event(self, action: str, uscc: str, day: str, answer: dict[str, Any]) -> str:
        eid = f"ev-{len(self.events)}"
        self.events.append({"event_id": eid, "kind": action, "uscc": uscc, "body_sha256": _sha(eid),
                            "received_at": _utc(day, 2), "response_status": 201 if action in _ISSUE else 200,
                            "response_body": json.dumps({"event_id": eid, **answer}, ensure_ascii=False)})
        return eid

    def _append(self, leaf: dict[str, Any], action: str, lic: dict[str, Any], eid: str, day: str,
                reason: str | None) -> None:
        leaf.update({"action": action, "license_id": lic["license_id"], "uscc": lic["uscc"], "version": lic["version"],
                     "record_digest": lic["record_digest"], "pdf_sha256": lic["pdf_sha256"], "event_id": eid,
                     "authority": {"name": "吉首市市场监督管理局", "division_code": "433101"},
                     "decided_at": f"{day}T10:00:00+08:00", "logged_at": _utc(day, 2)})
        if self.shape == 2:
            entity = self.entities[lic["uscc"]]
            leaf.update({"v": 2, "token_sha256": _sha(lic["token"]), "event_body_sha256": _sha(eid), "reason": reason,
                         "entity": {k: entity[k] for k in ("name", "entity_kind", "established_on", "status",
                                                           "status_changed_at", "status_reason", "current_version")}})
        self.leaves.append(canonical_json(leaf))

    def issue(self, action: str, uscc: str, version: int, *, day: str = "2018-05-31", supersedes: str | None = None,
              name: str | None = None, reason: str | None = None) -> dict[str, Any]:
        """A license version in the registry, its PDF, token and event, and its issuance leaf."""
        lid = f"L-{uscc}-{version}"
        name = name or f"湘西{uscc[-2:]}有限公司"
        eid = f"ev-{len(self.events)}"
        record = {"license_id": lid, "serial": f"4331012018{uscc[-2:]}{version:08d}", "version": version,
                  "registered_on": day, "issued_at": _utc(day, 2), "event_id": eid,
                  "authority": {"name": "吉首市市场监督管理局", "division_code": "433101"},
                  "entity": {"uscc": uscc, "entity_kind": "company", "name": name, "representative": "向喆",
                             "established_on": "2018-05-31"}}
        text = canonical_json(record).decode()
        token = sign_claims(token_claims(uscc=uscc, serial=record["serial"], version=version,
                                         issued_at=datetime.fromisoformat(_utc(day, 2)), record_digest=_sha(text),
                                         name=name, representative="向喆", status=None), self.token_key)
        qr_token = sign_compact(compact_claims(uscc=uscc, version=version, issued_at=datetime.fromisoformat(
            _utc(day, 2)), status_index=len(self.licenses)), self.token_key)
        self.pdfs[lid] = f"%PDF-1.7 {lid}".encode()
        lic = {"license_id": lid, "uscc": uscc, "version": version, "serial": record["serial"], "status": "current",
               "issued_at": _utc(day, 2), "registered_on": day, "record": text, "record_digest": _sha(text),
               "pdf_sha256": _sha(self.pdfs[lid]), "token": token, "qr_token": qr_token, "event_id": eid,
               "leaf_index": len(self.leaves),
               "superseded_by": None, "status_changed_at": None, "status_reason": None}
        if supersedes:
            self._lic(supersedes).update(status="superseded", superseded_by=lid, status_changed_at=_utc(day, 2),
                                         status_reason=reason)
            self.entities[uscc].update(name=name, current_version=version)
        else:
            self.entities[uscc] = {"uscc": uscc, "entity_kind": "company", "name": name, "status": "active",
                                   "status_changed_at": _utc(day, 2), "status_reason": None, "current_version": version,
                                   "established_on": "2018-05-31"}
        self.licenses.append(lic)
        self._event(action, uscc, day, {"license": {k: lic[k] for k in ("license_id", "token", "record_digest",
                                                                          "pdf_sha256", "status")}})
        leaf: dict[str, Any] = {"supersedes": supersedes} if supersedes else {}
        self._append(leaf, action, lic, eid, day, reason)
        return lic

    def end(self, action: str, uscc: str, *, reason: str, day: str = "2019-03-01") -> None:
        """A revocation or cancellation: the entity and its current version out of force."""
        entity = self.entities[uscc]
        lic = next(x for x in self.licenses if x["uscc"] == uscc and x["version"] == entity["current_version"])
        status = {"revocation": "revoked", "cancellation": "cancelled"}[action]
        entity.update(status=status, status_changed_at=_utc(day, 2), status_reason=reason)
        if lic["status"] == "current":
            lic.update(status=status, status_changed_at=_utc(day, 2), status_reason=reason)
        eid = self._event(action, uscc, day, {"entity": {"uscc": uscc, "status": status, "reason": reason},
                                              "license": {k: lic[k] for k in ("license_id", "token", "record_digest",
                                                                              "pdf_sha256", "status")}})
        leaf: dict[str, Any] = {}
        if self.shape == 2:
            leaf["license"] = {k: lic[k] for k in ("status", "status_changed_at", "status_reason")}
        else:
            leaf.update(entity_status=status, license_status=lic["status"])
        self._append(leaf, action, lic, eid, day, reason)

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
        return [self.served.get(i, self.leaves[i]) for i in range(start, min(end, len(self.leaves)))]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.token_key.public_jwk]}

    def registry(self) -> RegistryListing:
        if self.registry_refused:
            raise CouldNotCheck(self.registry_refused)
        return RegistryListing([dict(x) for x in self.licenses], [dict(x) for x in self.entities.values()],
                               [dict(x) for x in self.events])

    def pdf_sha256(self, license_id: str) -> str | None:
        pdf = self.pdfs.get(license_id)
        return _sha(pdf) if pdf is not None else None


def _signer(name: str = ORIGIN) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.generate())


def _uscc(i: int) -> str:
    return f"9143310100000000{i:02d}"


@pytest.fixture(params=[1, 2], ids=["shape1", "shape2"])
def log(request: pytest.FixtureRequest) -> MemoryLog:
    """Two establishments and a change, in leaves of the shape written before ``v`` and of shape 2."""
    m = MemoryLog(_signer(), shape=request.param)
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
    result = run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    assert result.passed and result.failure is None
    key_id = log.vkey().split("+")[1]
    assert result.lines == (
        f"no key pinned yet: pinning the log key the server serves, {log.vkey()} (key id {key_id}); compare it "
        "with the operator's published key, or pass --key",
        f"checkpoint: {ORIGIN} size 3 root {_b64(log.root(3))} (signature verified; consistent with size 0; "
        "3 new entries checked)",
        "entries by action: change 1, establishment 2",
        "entries by day (China time, UTC+8): 2018-05-31 2, 2018-06-01 1",
        f"audit passed; state saved to {state}",
    )
    saved = load_state(state)
    assert saved == result.state
    assert (saved.vkey, saved.origin, saved.size, saved.root) == (log.vkey(), ORIGIN, 3, _b64(log.root(3)))
    assert saved.checkpoint is not None and saved.checkpoint.startswith(f"{ORIGIN}\n3\n")


def test_a_second_audit_checks_only_the_new_entries(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert run_audit(log, state, pinned_key=None, reconcile=False, at=AT).passed
    log.issue("establishment", _uscc(3), 1, day="2018-06-02")
    log.issue("establishment", _uscc(4), 1, day="2018-06-02")
    result = run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    assert result.passed
    assert "consistent with size 3; 2 new entries checked" in result.lines[0]
    assert result.lines[1:3] == ("entries by action: establishment 2",
                                 "entries by day (China time, UTC+8): 2018-06-02 2")
    assert load_state(state).size == 5


def test_nothing_new_is_a_pass(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    result = run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    assert result.passed and "consistent with size 3; 0 new entries checked" in result.lines[0]
    assert result.lines[1:3] == ("entries by action: ", "entries by day (China time, UTC+8): ")


def test_reconciliation_with_the_registry(log: MemoryLog, tmp_path: Path) -> None:
    result = run_audit(log, tmp_path / "s.json", pinned_key=log.vkey(), reconcile=True, at=AT)
    assert result.passed
    assert result.lines[1:5] == ("registry reconciled with the log: 3 entries",
                                 "registry: 3 license versions (tokens verified, 3 stored PDFs rehashed), 2 entities, "
                                 "3 registration results",
                                 "entries by action: change 1, establishment 2",
                                 "entries by day (China time, UTC+8): 2018-05-31 2, 2018-06-01 1")


def _fails(result: AuditResult, says: str, state: Path, before: str | None) -> None:
    assert not result.passed and result.failure is not None and says in result.failure, result.failure
    assert (state.read_text() if state.exists() else None) == before  # the saved state is left as it was


def test_an_edited_registry_row_is_found(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    log.licenses[0]["record"] = log.licenses[0]["record"].replace("向喆", "李四")
    result = run_audit(log, state, pinned_key=log.vkey(), reconcile=True, at=AT)
    _fails(result, "the row was edited", state, None)
    assert result.failure is not None and result.failure.startswith("the registry and the log disagree:\n  license ")
    assert result.lines[0].startswith("checkpoint: ")  # what held before the failure is still said


def test_a_status_the_log_does_not_explain_is_found(log: MemoryLog, tmp_path: Path) -> None:
    log.licenses[1]["status"] = "revoked"
    _fails(run_audit(log, tmp_path / "s.json", pinned_key=None, reconcile=True, at=AT),
           f"license L-{_uscc(2)}-1 is revoked in the registry; the log says current", tmp_path / "s.json", None)


def test_a_forked_history_is_found(log: MemoryLog, tmp_path: Path) -> None:
    """The operator rewrites an old leaf and signs a checkpoint for the new tree: every signature
    verifies, and only the checkpoint saved before proves the fork."""
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    before = state.read_text()
    log.leaves[1] = log.leaves[1].replace(b"establishment", b"establishmenT")
    log.issue("establishment", _uscc(5), 1)
    _fails(run_audit(log, state, pinned_key=None, reconcile=False, at=AT), "fork: the checkpoint of size 4", state, before)
    assert run_audit(log, tmp_path / "newcomer.json", pinned_key=None, reconcile=False, at=AT).passed


def test_a_shrunk_log_is_found(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    before = state.read_text()
    del log.leaves[2]
    _fails(run_audit(log, state, pinned_key=None, reconcile=False, at=AT),
           "the log shrank from 3 to 2: it served a checkpoint of size 2 after size 3 was checkpointed", state, before)


def test_entries_that_do_not_give_the_root_are_found(log: MemoryLog, tmp_path: Path) -> None:
    class Lying(MemoryLog):
        def entries(self, start: int, end: int) -> list[bytes]:
            return [x.replace(b"change", b"chanGe") for x in super().entries(start, end)]

    liar = Lying(log.signer)
    liar.leaves = log.leaves
    _fails(run_audit(liar, tmp_path / "s.json", pinned_key=None, reconcile=False, at=AT),
           "entries 0..2 do not hash to the root of the checkpoint of size 3", tmp_path / "s.json", None)


def test_a_checkpoint_by_another_key_is_refused(log: MemoryLog, tmp_path: Path) -> None:
    pinned = _signer().verifier.vkey  # same name, another key, and no handover from it
    _fails(run_audit(log, tmp_path / "s.json", pinned_key=pinned, reconcile=False, at=AT),
           f"the log key changed: pinned {pinned}, served {log.vkey()}", tmp_path / "s.json", None)


def test_another_origin_is_refused(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    before = state.read_text()
    log.origin = "elicense.test/other"
    _fails(run_audit(log, state, pinned_key=None, reconcile=False, at=AT),
           f"the checkpoint's origin is 'elicense.test/other', not {ORIGIN!r}", state, before)


def test_a_signed_handover_is_followed_and_the_new_key_pinned(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    old, new = log.signer, _signer()
    text = handover_text(old.verifier.vkey, new.verifier.vkey, datetime(2026, 1, 1, tzinfo=UTC))
    log.handover_notes.append(cosign(text, old, new))
    log.signer = new
    log.issue("establishment", _uscc(6), 1)
    result = run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    assert result.passed, result.failure
    assert result.lines[0] == ("log key rotated 1 time(s), each handover signed by the old and the new key: now "
                               f"pinned {new.verifier.vkey}")
    assert "consistent with size 3; 1 new entries checked" in result.lines[1]
    assert load_state(state).vkey == new.verifier.vkey


def test_a_handover_signed_by_the_new_key_alone_is_not_followed(log: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    before = state.read_text()
    new = _signer()
    log.handover_notes.append(new.sign(handover_text(log.signer.verifier.vkey, new.verifier.vkey,
                                                     datetime(2026, 1, 1, tzinfo=UTC))))
    log.signer = new
    _fails(run_audit(log, state, pinned_key=None, reconcile=False, at=AT), "no handover signed by the pinned key leads there",
           state, before)


def test_a_source_that_cannot_answer_is_not_a_pass_and_not_a_failure(log: MemoryLog, tmp_path: Path) -> None:
    log.registry_refused = "reconciling the registry needs an auditor credential (scope audit)"
    result = run_audit(log, tmp_path / "s.json", pinned_key=None, reconcile=True, at=AT)
    assert not result.passed and result.failure is None
    assert result.unchecked == "reconciling the registry needs an auditor credential (scope audit)"
    assert not (tmp_path / "s.json").exists()


# -- what the registry shows, each fact against the log (item 5 of issue 12) -------------------------
@pytest.fixture
def ended() -> MemoryLog:
    """Shape 2: an establishment, a change, a revocation; another entity established and cancelled."""
    m = MemoryLog(_signer())
    first = m.issue("establishment", _uscc(1), 1)
    m.issue("change", _uscc(1), 2, day="2018-06-01", supersedes=first["license_id"], name="湘西新名有限公司",
            reason="名称变更")
    m.end("revocation", _uscc(1), reason="未年报")
    m.issue("establishment", _uscc(2), 1)
    m.end("cancellation", _uscc(2), reason="解散", day="2019-04-01")
    return m


def _reconciled(log: MemoryLog, tmp_path: Path) -> AuditResult:
    return run_audit(log, tmp_path / "s.json", pinned_key=None, reconcile=True, at=AT)


def test_a_history_with_every_lifecycle_reconciles(ended: MemoryLog, tmp_path: Path) -> None:
    result = _reconciled(ended, tmp_path)
    assert result.passed, result.failure
    assert "registry: 3 license versions (tokens verified, 3 stored PDFs rehashed), 2 entities, " \
           "5 registration results" in result.lines


def _edit(log: MemoryLog, table: str, key: str, **values: Any) -> None:
    rows = {"licenses": log.licenses, "events": log.events, "entities": list(log.entities.values())}[table]
    row = next(r for r in rows if key in (r.get("license_id"), r.get("event_id"), r.get("uscc")))
    row.update(values)


REVOKED, SUPERSEDED, CANCELLED = f"L-{_uscc(1)}-2", f"L-{_uscc(1)}-1", f"L-{_uscc(2)}-1"


@pytest.mark.parametrize("table,key,values,says", [
    # the revocation's reason and date, shown on the public page
    ("licenses", REVOKED, {"status_reason": "已改正"},
     f"license {REVOKED}: status_reason is '已改正' in the registry; leaf 2 (revocation) says '未年报'"),
    ("licenses", REVOKED, {"status_changed_at": "2019-03-05T02:00:00+00:00"},
     f"license {REVOKED}: status_changed_at is '2019-03-05T02:00:00+00:00' in the registry; leaf 2 (revocation) says "
     "'2019-03-01T02:00:00+00:00'"),
    ("licenses", REVOKED, {"status": "current", "status_changed_at": None, "status_reason": None},
     f"license {REVOKED} is current in the registry; the log says revoked (leaf 2, revocation)"),
    # the supersession's facts (the page's "superseded by version 2 on ...")
    ("licenses", SUPERSEDED, {"status_reason": None},
     f"license {SUPERSEDED}: status_reason is None in the registry; leaf 1 (change) says '名称变更'"),
    ("licenses", SUPERSEDED, {"superseded_by": CANCELLED},
     f"license {SUPERSEDED}: superseded_by is '{CANCELLED}' in the registry; leaf 1 (change) says '{REVOKED}'"),
    # the columns the page prints beside the record
    ("licenses", CANCELLED, {"serial": "433101201800000099"},
     f"license {CANCELLED}: serial is '433101201800000099' in the registry; its record says"),
    ("licenses", CANCELLED, {"registered_on": "2017-01-01"},
     f"license {CANCELLED}: registered_on is '2017-01-01' in the registry; its record says '2018-05-31'"),
    # entity rows
    ("entities", _uscc(1), {"name": "湘西旧名有限公司"},
     f"entity {_uscc(1)}: name is '湘西旧名有限公司' in the registry; leaf 2 (revocation) says '湘西新名有限公司'"),
    ("entities", _uscc(1), {"status": "active", "status_reason": None},
     f"entity {_uscc(1)}: status is 'active' in the registry; leaf 2 (revocation) says 'revoked'"),
    ("entities", _uscc(2), {"status_reason": "迁出"},
     f"entity {_uscc(2)}: status_reason is '迁出' in the registry; leaf 4 (cancellation) says '解散'"),
    ("entities", _uscc(2), {"status_changed_at": "2020-01-01T00:00:00+00:00"},
     f"entity {_uscc(2)}: status_changed_at is '2020-01-01T00:00:00+00:00' in the registry; leaf 4 (cancellation)"),
    ("entities", _uscc(1), {"current_version": 1},
     f"entity {_uscc(1)}: current_version is 1 in the registry; leaf 2 (revocation) says 2"),
    # registration results
    ("events", "ev-2", {"body_sha256": "0" * 64},
     f"event ev-2: body_sha256 is '{'0' * 64}' in the registry; leaf 2 (revocation) says"),
    ("events", "ev-2", {"kind": "cancellation"},
     "event ev-2: kind is 'cancellation' in the registry; leaf 2 (revocation) says 'revocation'"),
    ("events", "ev-0", {"response_body": json.dumps({"event_id": "ev-0", "license": {
        "license_id": CANCELLED, "token": "x", "record_digest": "0", "pdf_sha256": "0"}})},
     f"event ev-0: the answer stored for replays: license_id is '{CANCELLED}' in the registry; leaf 0 (establishment)"),
])
def test_an_edited_registry_fact_is_found_and_named(ended: MemoryLog, tmp_path: Path, table: str, key: str,
                                                    values: dict[str, Any], says: str) -> None:
    _edit(ended, table, key, **values)
    result = _reconciled(ended, tmp_path)
    _fails(result, says, tmp_path / "s.json", None)
    assert result.failure is not None and result.failure.startswith("the registry and the log disagree:\n  ")


def test_a_registration_result_no_leaf_names_is_found(ended: MemoryLog, tmp_path: Path) -> None:
    ended.events.append({**ended.events[0], "event_id": "ev-forged"})
    _fails(_reconciled(ended, tmp_path), "event ev-forged (establishment) is in the registry, but no leaf names it",
           tmp_path / "s.json", None)


def test_an_altered_stored_pdf_is_found(ended: MemoryLog, tmp_path: Path) -> None:
    ended.pdfs[CANCELLED] += b"\n% appended"
    _fails(_reconciled(ended, tmp_path), f"license {CANCELLED}: the stored PDF hashes to {_sha(ended.pdfs[CANCELLED])}; "
           "leaf 3 (establishment) names pdf_sha256", tmp_path / "s.json", None)
    del ended.pdfs[CANCELLED]
    _fails(_reconciled(ended, tmp_path), f"license {CANCELLED}: the registry holds no PDF for it", tmp_path / "s.json",
           None)


def test_only_new_pdfs_are_rehashed_when_asked(ended: MemoryLog, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    assert run_audit(ended, state, pinned_key=None, reconcile=True, at=AT).passed
    ended.issue("establishment", _uscc(3), 1, day="2019-05-01")
    result = run_audit(ended, state, pinned_key=None, reconcile=True, at=AT, pdfs="new")
    assert result.passed and "(tokens verified, 1 stored PDFs rehashed)" in result.lines[2]


def test_a_replaced_token_is_found(ended: MemoryLog, tmp_path: Path) -> None:
    # a token signed by the service's key with the claims of another version: only the leaf's digest tells
    other = next(x for x in ended.licenses if x["license_id"] == REVOKED)["token"]
    _edit(ended, "licenses", SUPERSEDED, token=other)
    result = _reconciled(ended, tmp_path)
    _fails(result, f"license {SUPERSEDED}: the stored token hashes to {_sha(other)}; leaf 0 (establishment) names "
           "token_sha256", tmp_path / "s.json", None)
    assert f"license {SUPERSEDED}: its stored token's claims sn, ver, iat, dig, name disagree with its record" \
        in str(result.failure)


def test_a_token_signed_by_another_key_is_found(tmp_path: Path) -> None:
    m = MemoryLog(_signer(), shape=1)  # shape 1 names no token digest: the signature and claims decide
    lic = m.issue("establishment", _uscc(1), 1)
    forged = sign_claims(json.loads(base64.urlsafe_b64decode(lic["token"].split(".")[1] + "==")), _token_key())
    lic["token"] = forged
    _fails(_reconciled(m, tmp_path), f"license {lic['license_id']}: its stored token does not verify with the "
           "published keys (token.unknown_kid)", tmp_path / "s.json", None)


def test_a_token_with_other_claims_is_found_under_old_leaves(tmp_path: Path) -> None:
    m = MemoryLog(_signer(), shape=1)
    lic = m.issue("establishment", _uscc(1), 1)
    claims = json.loads(base64.urlsafe_b64decode(lic["token"].split(".")[1] + "=="))
    lic["token"] = sign_claims({**claims, "name": "冒名有限公司"}, m.token_key)
    _fails(_reconciled(m, tmp_path), f"license {lic['license_id']}: its stored token's claims name disagree with its "
           "record (name='冒名有限公司')", tmp_path / "s.json", None)


def test_a_qr_token_naming_another_version_or_signed_by_another_key_is_found(ended: MemoryLog,
                                                                             tmp_path: Path) -> None:
    """The QR code's compact token (form 2) is checked like the full one: the published keys, then the
    record's USCC, version and issue time. One naming version 2 on version 1's row would send whoever
    scans it to another license; none at all (a version issued before form 2) is no finding."""
    lic = next(x for x in ended.licenses if x["license_id"] == SUPERSEDED)
    iat = int(datetime.fromisoformat(lic["issued_at"]).timestamp())
    _edit(ended, "licenses", SUPERSEDED, qr_token=sign_compact(CompactClaims(lic["uscc"], 2, iat, 0),
                                                                ended.token_key))
    _fails(_reconciled(ended, tmp_path), f"license {SUPERSEDED}: its QR code's token's claims ver disagree with its "
           "record (ver=2)", tmp_path / "s.json", None)
    _edit(ended, "licenses", SUPERSEDED, qr_token=sign_compact(CompactClaims(lic["uscc"], 1, iat, 0), _token_key()))
    _fails(_reconciled(ended, tmp_path), f"license {SUPERSEDED}: its QR code's token does not verify with the "
           "published keys (token.unknown_kid)", tmp_path / "s.json", None)
    _edit(ended, "licenses", SUPERSEDED, qr_token=None)
    assert _reconciled(ended, tmp_path).passed


def test_old_and_new_leaf_shapes_audit_together(tmp_path: Path) -> None:
    """A log written before ``v`` and carried on after the upgrade: both shapes reconcile, and an
    old-shape lifecycle leaf is followed by new-shape ones."""
    m = MemoryLog(_signer(), shape=1)
    first = m.issue("establishment", _uscc(1), 1)
    m.issue("establishment", _uscc(2), 1)
    m.end("revocation", _uscc(2), reason="未年报")
    state = tmp_path / "s.json"
    assert run_audit(m, state, pinned_key=None, reconcile=True, at=AT).passed
    m.shape = 2
    m.issue("change", _uscc(1), 2, day="2019-06-01", supersedes=first["license_id"], reason="地址变更")
    m.end("cancellation", _uscc(2), reason="注销", day="2019-07-01")
    result = run_audit(m, state, pinned_key=None, reconcile=True, at=AT)
    assert result.passed, result.failure
    assert [json.loads(x).get("v") for x in m.leaves] == [None, None, None, 2, 2]
    # and the new leaves' facts are checked: the cancellation restates the revoked license as it was
    _edit(m, "licenses", f"L-{_uscc(2)}-1", status_reason="已改")
    _fails(run_audit(m, state, pinned_key=None, reconcile=True, at=AT),
           f"license L-{_uscc(2)}-1: status_reason is '已改' in the registry; leaf 4 (cancellation) says '未年报'",
           state, state.read_text())


def test_old_leaves_still_bind_what_they_state(tmp_path: Path) -> None:
    m = MemoryLog(_signer(), shape=1)
    m.issue("establishment", _uscc(1), 1)
    m.end("revocation", _uscc(1), reason="未年报")
    _edit(m, "licenses", f"L-{_uscc(1)}-1", status_changed_at="2020-01-01T00:00:00+00:00")
    _edit(m, "entities", _uscc(1), name="改名有限公司")
    result = _reconciled(m, tmp_path)
    _fails(result, f"license L-{_uscc(1)}-1: status_changed_at is '2020-01-01T00:00:00+00:00' in the registry; leaf 1 "
           "(revocation) says '2019-03-01T10:00:00+08:00'", tmp_path / "s.json", None)
    assert f"entity {_uscc(1)}: name is '改名有限公司' in the registry; the record of L-{_uscc(1)}-1 says" \
        in str(result.failure)


def test_a_leaf_of_an_unknown_shape_could_not_be_checked(ended: MemoryLog, tmp_path: Path) -> None:
    ended.leaves.append(canonical_json({**json.loads(ended.leaves[-1]), "v": 99}))
    result = _reconciled(ended, tmp_path)
    assert result.failure is None and result.unchecked is not None
    assert "leaf 5 has shape v=99, which this auditor does not know" in result.unchecked


# -- the log as served: old entries, sizes ---------------------------------------------------------
@pytest.mark.parametrize("rewritten", range(11))
def test_a_rewritten_old_leaf_is_found_without_a_credential(tmp_path: Path, rewritten: int) -> None:
    """A leaf row edited in the database, the tree's stored hashes left alone: every checkpoint and
    proof still verifies, and only the entries served now, held against the state saved, show it.
    The audit names the entry (bisection over consistency proofs), wherever it lies in the tree."""
    m = MemoryLog(_signer())
    for i in range(11):
        m.issue("establishment", _uscc(i), 1)
    state = tmp_path / "s.json"
    assert run_audit(m, state, pinned_key=None, reconcile=False, at=AT).passed
    before = state.read_text()
    m.issue("establishment", _uscc(20), 1)
    m.served[rewritten] = m.leaves[rewritten].replace("湘西".encode(), "湖南".encode())
    result = run_audit(m, state, pinned_key=None, reconcile=False, at=AT)
    _fails(result, f"entry {rewritten} (establishment, license L-{_uscc(rewritten)}-1) as served now is not the entry "
           "audited before", state, before)
    assert "(the leaf was rewritten after it was logged)" in str(result.failure)


def test_a_log_larger_than_the_cap_is_not_fetched(log: MemoryLog, tmp_path: Path) -> None:
    result = run_audit(log, tmp_path / "s.json", pinned_key=None, reconcile=False, at=AT, max_entries=2)
    assert result.failure is None
    assert result.unchecked == "the checkpoint covers 3 entries; this audit fetches at most 2 per run (--max-entries)"


def test_a_log_serving_fewer_entries_than_its_checkpoint_shrank(log: MemoryLog, tmp_path: Path) -> None:
    """Leaf rows deleted under a checkpoint left in place: the auditor says the log shrank, before
    asking for a proof the server could not give."""
    state = tmp_path / "s.json"
    run_audit(log, state, pinned_key=None, reconcile=False, at=AT)
    before = state.read_text()
    log.issue("establishment", _uscc(7), 1)
    log.entries = lambda start, end: log.leaves[start:min(end, 2)]  # type: ignore[method-assign]
    _fails(run_audit(log, state, pinned_key=None, reconcile=False, at=AT),
           "the log shrank from 4 to 2: its checkpoint covers 4 entries and it serves 2", state, before)


def test_an_old_shape_leaf_after_the_upgrade_is_found(tmp_path: Path) -> None:
    """A leaf without ``v`` after shape 2 would leave its reason unchecked: it is a finding."""
    m = MemoryLog(_signer())
    m.issue("establishment", _uscc(1), 1)
    m.shape = 1
    m.end("revocation", _uscc(1), reason="未年报")
    _fails(_reconciled(m, tmp_path), "leaf 1 (revocation) has the old shape (no v) after leaf 0 of shape 2",
           tmp_path / "s.json", None)


@pytest.mark.parametrize("staff, holds", [
    ({"requested_by": "st_0a1b2c3d4e5f6a7b", "approved_by": "st_1a1b2c3d4e5f6a7b"}, True),
    ({"requested_by": "st_0a1b2c3d4e5f6a7b"}, False),
    ({"requested_by": "st_0a1b2c3d4e5f6a7b", "approved_by": ""}, False),
    ({"requested_by": "st_0a1b2c3d4e5f6a7b", "approved_by": "x", "name": "彭主任"}, False),
    ("st_0a1b2c3d4e5f6a7b", False),
])
def test_a_console_decision_names_its_staff_ids_and_nothing_else(tmp_path: Path, staff: Any, holds: bool) -> None:
    """A 补发 approved at the window's console states ``staff`` (who asked, who approved: ids); any
    other form of that member is a malformed leaf."""
    log = MemoryLog(_signer(), shape=2)
    first = log.issue("establishment", _uscc(1), 1)
    log.issue("replacement", _uscc(1), 2, day="2018-06-01", supersedes=first["license_id"], reason="遗失补发")
    leaf = json.loads(log.leaves[-1])
    assert leaf["v"] == 2
    log.leaves[-1] = canonical_json({**leaf, "staff": staff})
    result = run_audit(log, tmp_path / "s.json", pinned_key=log.vkey(), reconcile=True, at=AT)
    if holds:
        assert result.passed, result.failure
    else:
        assert not result.passed and result.failure is not None and "mistypes staff" in result.failure, result.failure
