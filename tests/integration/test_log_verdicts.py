"""Verdicts rest on the log (issue 17): a license verifies ``valid`` only when its leaf names it
and is proven in a checkpoint that meets the witness policy. Each way a registry row can stand
outside the log is ``invalid`` with its own reason; a leaf the witnesses have not cosigned yet is
``indeterminate`` (``log.pending``), or ``valid`` within a configured grace period. A real registry
(SQLite), real issuance, and real cosignatures made with a witness's key."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from license_service.api.schemas import RegistrationIn
from license_service.config import Settings
from license_service.db.models import LogCheckpoint, LogCosignature
from license_service.intake import parse_registration
from license_service.log.witnessed import WitnessPolicy
from license_service.runtime.issuing import IssuingRuntime
from license_service.runtime.read import ReadRuntime
from signing.cosigning import Cosigner
from signing.keys.files import ensure_dev_keys
from signing.merkle import leaf_hash, verify_inclusion
from signing.note import NoteVerifier, parse_checkpoint
from tests.conftest import entity, event
from verify_app.recorder import VerificationRecorder
from verify_app.report import VerificationReport
from verify_app.service import VerificationService


class Registry:
    def __init__(self, home: Path) -> None:
        self.db = home / "db.sqlite"
        ensure_dev_keys(home / "keys", at=datetime.now(UTC))
        self.settings = Settings(database_url=f"sqlite:///{self.db}", keys_dir=home / "keys",
                                 public_base_url="http://testserver")
        self.issuing = IssuingRuntime.build(self.settings)

    def issue(self) -> dict[str, Any]:
        at = datetime.now(UTC)
        ev = parse_registration(RegistrationIn.model_validate(event("establishment", entity())), frozenset(), at=at)
        lic: dict[str, Any] = self.issuing.issuance.apply(ev, at=at).body["license"]
        return lic

    def verifier(self, policy: WitnessPolicy | None = None, grace: float = 0.0) -> VerificationService:
        """A verification service as a (re)started process builds it: nothing cached from before."""
        read = ReadRuntime.build(self.settings)
        return VerificationService(read.engine, read.sessions, read.keys, "http://testserver",
                                   VerificationRecorder(read.write_sessions, 0), read.log, policy, grace)

    def sql(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        with sqlite3.connect(self.db) as db:
            for q, args in statements:
                db.execute(q, args)
        db.close()

    def cosign(self, cosigner: Cosigner, size: int) -> None:
        with self.issuing.write_sessions.begin() as s:
            cp = s.get(LogCheckpoint, size)
            assert cp is not None
            body = NoteVerifier.from_vkey(self.issuing.keys.log_vkey()).open(cp.note)
            s.add(LogCosignature(size=size, witness=cosigner.verifier.vkey, created_at=datetime.now(UTC),
                                 line=cosigner.cosign(body, int(datetime.now(UTC).timestamp()))))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    yield Registry(tmp_path)


def _log_check(report: VerificationReport) -> tuple[str, str]:
    c = next(c for c in report.checks if c.name == "log_inclusion")
    return report.verdict.value, c.reason


def test_a_license_in_the_log_is_valid_and_its_evidence_names_it(registry: Registry) -> None:
    lic = registry.issue()
    report = registry.verifier().verify_token(lic["token"], at=datetime.now(UTC))
    assert _log_check(report) == ("valid", "log.included")
    ev = report.as_json()["log"]
    leaf = base64.b64decode(ev["leaf"])
    named = json.loads(leaf)
    assert (named["license_id"], named["version"], named["record_digest"], named["pdf_sha256"]) == (
        lic["license_id"], lic["version"], *_digests(registry, lic["license_id"]))
    cp = parse_checkpoint(NoteVerifier.from_vkey(registry.issuing.keys.log_vkey()).open(ev["checkpoint"]))
    assert verify_inclusion(ev["leaf_index"], cp.size, leaf_hash(leaf),
                            [base64.b64decode(h) for h in ev["inclusion_proof"]], cp.root)


def _digests(registry: Registry, license_id: str) -> tuple[str, str]:
    with sqlite3.connect(registry.db) as db:
        row = db.execute("SELECT record_digest, pdf_sha256 FROM license_versions WHERE license_id = ?",
                         (license_id,)).fetchone()
    return row[0], row[1]


def test_a_license_row_without_a_leaf_is_invalid(registry: Registry) -> None:
    lic = registry.issue()
    registry.sql(("UPDATE license_versions SET leaf_index = NULL WHERE license_id = ?", (lic["license_id"],)))
    assert _log_check(registry.verifier().verify_token(lic["token"], at=datetime.now(UTC))) == ("invalid", "log.no_leaf")


def test_a_license_beyond_a_truncated_log_is_invalid(registry: Registry) -> None:
    registry.issue()
    second = registry.issue()
    with sqlite3.connect(registry.db) as db:
        root = db.execute("SELECT root FROM log_checkpoints WHERE size = 1").fetchone()[0]
        for q in ("DELETE FROM log_leaves WHERE idx >= 1", "DELETE FROM log_checkpoints WHERE size > 1",
                  "DELETE FROM log_nodes WHERE NOT (level = 0 AND idx = 0)"):
            db.execute(q)
        db.execute("UPDATE log_head SET size = 1, root = ?", (root,))
    db.close()
    report = registry.verifier().verify_token(second["token"], at=datetime.now(UTC))
    assert _log_check(report) == ("invalid", "log.beyond_log")


def test_a_license_pointing_at_another_licenses_leaf_is_invalid(registry: Registry) -> None:
    first, second = registry.issue(), registry.issue()
    registry.sql(("UPDATE license_versions SET leaf_index = NULL WHERE license_id = ?", (first["license_id"],)),
                 ("UPDATE license_versions SET leaf_index = 0 WHERE license_id = ?", (second["license_id"],)))
    report = registry.verifier().verify_token(second["token"], at=datetime.now(UTC))
    assert _log_check(report) == ("invalid", "log.leaf_other_license")


def test_a_license_whose_leaf_records_other_digests_is_invalid(registry: Registry) -> None:
    """The registry's PDF digest changed after logging (to pass a forged PDF off as issued): the
    token still matches the registry, and the leaf says otherwise."""
    lic = registry.issue()
    registry.sql(("UPDATE license_versions SET pdf_sha256 = ? WHERE license_id = ?", ("ab" * 32, lic["license_id"])))
    report = registry.verifier().verify_token(lic["token"], at=datetime.now(UTC))
    assert _log_check(report) == ("invalid", "log.leaf_digest_mismatch")


def test_before_the_witnesses_cosign_a_license_is_pending_unless_within_the_grace_period(registry: Registry) -> None:
    witness = Cosigner.generate("witness.test/w1")
    policy = WitnessPolicy((witness.verifier.vkey,), 1)
    first = registry.issue()
    registry.cosign(witness, 1)
    now = datetime.now(UTC)
    assert _log_check(registry.verifier(policy).verify_token(first["token"], at=now)) == ("valid", "log.included")
    second = registry.issue()  # in the log's checkpoint of size 2, which no witness has cosigned
    pending = registry.verifier(policy).verify_token(second["token"], at=now)
    assert _log_check(pending) == ("indeterminate", "log.pending")
    assert pending.extra["log"]["tree_size"] == 2  # what the verifier has: the log's own checkpoint
    graced = registry.verifier(policy, grace=600)
    assert _log_check(graced.verify_token(second["token"], at=now)) == ("valid", "log.pending_grace")
    later = now + timedelta(seconds=601)
    assert _log_check(graced.verify_token(second["token"], at=later)) == ("indeterminate", "log.pending")
    # without the witness's cosignature the log's own checkpoint is no more than the policy's: another
    # witness's key, or the log's, counts for nothing
    registry.cosign(Cosigner.generate("witness.test/stranger"), 2)
    assert _log_check(registry.verifier(policy).verify_token(second["token"], at=now))[1] == "log.pending"
    registry.cosign(witness, 2)
    report = registry.verifier(policy).verify_token(second["token"], at=now)
    assert _log_check(report) == ("valid", "log.included")
    assert report.as_json()["log"]["checkpoint"].count("\u2014 witness.test/w1 ") == 1


def test_the_published_checkpoint_is_the_newest_k_witnesses_cosigned_and_an_alarm_holds_it_back(
        registry: Registry) -> None:
    from license_service.db.models import LogWitness
    from license_service.log.witnessed import alarms, published
    from signing.cosignature import open_witnessed

    w1, w2, w3 = (Cosigner.generate(f"witness.test/w{i}") for i in (1, 2, 3))
    policy = WitnessPolicy((w1.verifier.vkey, w2.verifier.vkey, w3.verifier.vkey), 2)
    for _ in range(4):
        registry.issue()
    for witness, size in ((w1, 2), (w2, 2), (w3, 3), (w1, 3), (w2, 4), (Cosigner.generate("witness.test/x"), 4)):
        registry.cosign(witness, size)
    log = NoteVerifier.from_vkey(registry.issuing.keys.log_vkey())
    with registry.issuing.sessions() as s:
        cp = published(s, policy)
        assert cp is not None and cp.size == 3  # size 4 has one trusted cosignature, and a stranger's
        assert set(open_witnessed(cp.note, log, [w1.verifier, w2.verifier, w3.verifier]).cosigned_by) == {
            w1.verifier.vkey, w3.verifier.vkey}
        assert published(s, WitnessPolicy(policy.witnesses, 3)) is None
        zero = published(s, WitnessPolicy(policy.witnesses, 0))
        assert zero is not None and zero.size == 4  # k = 0: the newest signed, with what cosignatures it has
        assert published(s, WitnessPolicy()) is not None
    with registry.issuing.write_sessions.begin() as s:  # w3 refused the checkpoint of size 3 as inconsistent
        s.add(LogWitness(witness=w3.verifier.vkey, size=2, alarm="refused", alarm_size=2,
                         updated_at=datetime.now(UTC)))
    with registry.issuing.sessions() as s:
        assert [a.witness for a in alarms(s, policy)] == [w3.verifier.vkey]
        held = published(s, policy)
        assert held is not None and held.size == 2
        zero = published(s, WitnessPolicy(policy.witnesses, 0))
        assert zero is not None and zero.size == 2
