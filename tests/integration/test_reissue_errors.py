"""Re-issuance tells a refusal from a fault (license_service/reissue.py ``reissue_batch``), on both
databases: an entity the registry's state refuses (cancelled after it was selected) is ``skipped``
and never tried again; a fault of our own (the stored log no longer matches its signed checkpoint,
``LogCorrupted``) is ``failed``, nothing is written, the batch raises so the queue retries it, and
the retry after the repair issues it. Time is the caller's: every outcome carries the clock's time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from license_service.db.models import ReissueItem
from license_service.domain.errors import DomainError
from license_service.errors import Fault
from license_service.log.reader import LogCorrupted
from license_service.reissue import (
    Campaign,
    count_targets,
    plan_campaign,
    progress,
    reissue_batch,
    run_campaign,
    targets,
)
from license_service.runtime.issuing import IssuingRuntime
from signing.merkle import range_nodes
from tests.conftest import entity, event
from tests.integration.helpers import apply_body, versions


def _outcomes(runtime: IssuingRuntime, campaign: Campaign) -> dict[str, tuple[str, str, datetime]]:
    with runtime.sessions() as s:
        return {i.uscc: (i.outcome, i.detail, i.finished_at) for i in s.scalars(
            select(ReissueItem).where(ReissueItem.campaign == campaign.id))}


def _campaign() -> Campaign:
    return Campaign(f"t-{uuid.uuid4().hex[:8]}", datetime.now(UTC), "换发")


@contextmanager
def _corrupted_log(runtime: IssuingRuntime) -> Iterator[None]:
    """Overwrite the stored hash of the largest subtree on the log's right edge, as a disk fault or a
    hand edit would, so the stored tree no longer folds to the root of the last signed checkpoint;
    the row is put back on leaving (the database is shared by the session's tests)."""
    with runtime.write_sessions.begin() as s:
        size = int(s.execute(text("SELECT size FROM log_head WHERE id = 1")).scalar_one())
        assert size > 0, "the log must hold a leaf to corrupt"
        level, idx = range_nodes(0, size)[0]
        where = {"level": level, "idx": idx}
        good = bytes(s.execute(text("SELECT hash FROM log_nodes WHERE level = :level AND idx = :idx"), where)
                     .scalar_one())
        s.execute(text("UPDATE log_nodes SET hash = :hash WHERE level = :level AND idx = :idx"),
                  {**where, "hash": bytes(32)})
    try:
        yield
    finally:
        with runtime.write_sessions.begin() as s:
            s.execute(text("UPDATE log_nodes SET hash = :hash WHERE level = :level AND idx = :idx"),
                      {**where, "hash": good})


def test_the_error_roots_reissue_relies_on() -> None:
    """A refusal is a DomainError; our own faults are not (or a corrupted log would be skipped, for good)."""
    assert issubclass(LogCorrupted, Fault) and not issubclass(LogCorrupted, DomainError)


def test_an_entity_cancelled_after_selection_is_skipped_and_not_tried_again(runtime: IssuingRuntime) -> None:
    stays, leaves = entity(), entity()
    for e in (stays, leaves):
        apply_body(runtime, event("establishment", e))
    campaign = _campaign()
    usccs = sorted([stays["uscc"], leaves["uscc"]])
    (batch,) = list(targets(runtime.sessions, usccs=usccs, campaign=campaign.id))  # selected while in good standing
    assert sorted(batch) == usccs
    apply_body(runtime, event("cancellation", {"uscc": leaves["uscc"]}, reason="解散",
                          decided_at="2019-03-01T10:00:00+08:00"))

    at = datetime.now(UTC).replace(microsecond=0)
    done = reissue_batch(runtime, campaign, batch, clock=lambda: at)  # no exception: a refusal is an outcome
    assert {(i.uscc, i.outcome) for i in done} == {(stays["uscc"], "issued"), (leaves["uscc"], "skipped")}
    assert _outcomes(runtime, campaign) == {stays["uscc"]: ("issued", "version 2", at),
                                            leaves["uscc"]: ("skipped", "entity.cancelled", at)}
    assert versions(runtime, leaves["uscc"]) == [(1, "cancelled")]  # nothing written for the refused one
    with runtime.sessions() as s:
        assert count_targets(s, usccs=usccs, campaign=campaign.id) == 0  # a skip is final
        assert progress(s, campaign.id).done == 2
    assert reissue_batch(runtime, campaign, batch, clock=lambda: at) == []  # the queue's retry: nothing to do


def test_a_log_fault_is_failed_raised_and_issued_by_the_retry_after_repair(runtime: IssuingRuntime) -> None:
    good = entity()
    apply_body(runtime, event("establishment", good))
    campaign = _campaign()
    batch = [good["uscc"]]
    at = datetime.now(UTC).replace(microsecond=0)

    with _corrupted_log(runtime), pytest.raises(LogCorrupted):
        reissue_batch(runtime, campaign, batch, clock=lambda: at)
    outcome, detail, finished_at = _outcomes(runtime, campaign)[good["uscc"]]
    assert (outcome, finished_at) == ("failed", at)
    assert detail.startswith("LogCorrupted: the stored tree of size ")
    assert versions(runtime, good["uscc"]) == [(1, "current")]  # the whole issuance rolled back with the append
    with runtime.sessions() as s:
        assert count_targets(s, usccs=batch, campaign=campaign.id) == 1  # still to do: the next run retries it
        assert progress(s, campaign.id).failed == 1

    later = at.replace(second=(at.second + 1) % 60)
    retried = reissue_batch(runtime, campaign, batch, clock=lambda: later)  # the queue's retry, log repaired
    assert [(i.uscc, i.outcome) for i in retried] == [(good["uscc"], "issued")]
    assert _outcomes(runtime, campaign)[good["uscc"]] == ("issued", "version 2", later)
    assert versions(runtime, good["uscc"]) == [(1, "superseded"), (2, "current")]


def test_in_one_batch_a_fault_does_not_stop_the_others_nor_turn_a_refusal_into_a_retry(
        runtime: IssuingRuntime) -> None:
    """The whole batch is tried before the fault is raised; the refused entity stays skipped."""
    faulted, cancelled = entity(), entity()
    for e in (faulted, cancelled):
        apply_body(runtime, event("establishment", e))
    apply_body(runtime, event("cancellation", {"uscc": cancelled["uscc"]}, reason="解散",
                          decided_at="2019-03-01T10:00:00+08:00"))
    campaign = _campaign()
    batch = [faulted["uscc"], cancelled["uscc"]]
    at = datetime.now(UTC).replace(microsecond=0)
    with _corrupted_log(runtime), pytest.raises(LogCorrupted):
        reissue_batch(runtime, campaign, batch, clock=lambda: at)
    got = {u: o for u, (o, _, _) in _outcomes(runtime, campaign).items()}
    assert got == {faulted["uscc"]: "failed", cancelled["uscc"]: "skipped"}
    retried = reissue_batch(runtime, campaign, batch, clock=lambda: at)
    assert [(i.uscc, i.outcome) for i in retried] == [(faulted["uscc"], "issued")]  # the skip is not retried


def test_a_campaign_run_here_records_a_fault_goes_on_and_the_next_run_finishes_it(runtime: IssuingRuntime) -> None:
    """``run_campaign`` in this process (SQLite; PostgreSQL runs it on the queue: tests/e2e/test_reissue.py):
    a failed batch does not stop the run, the returned progress counts it, the next run issues it."""
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL the campaign runs on the job queue, in worker processes")
    ents = [entity() for _ in range(3)]
    for e in ents:
        apply_body(runtime, event("establishment", e))
    usccs = [e["uscc"] for e in ents]
    campaign = _campaign()
    plan = plan_campaign(runtime, campaign, usccs=usccs)
    assert (plan.total, plan.before.done, plan.todo) == (3, 0, 3)
    reported: list[int] = []
    with _corrupted_log(runtime):
        after = run_campaign(runtime, plan, workers=1, clock=lambda: datetime.now(UTC), report=reported.append)
    assert (after.issued, after.skipped, after.failed) == (0, 0, 3) and reported == [3]
    again = plan_campaign(runtime, campaign, usccs=usccs)
    assert (again.total, again.before.done, again.todo) == (3, 0, 3)
    after = run_campaign(runtime, again, workers=1, clock=lambda: datetime.now(UTC), report=reported.append)
    assert (after.issued, after.skipped, after.failed) == (3, 0, 0)
    assert plan_campaign(runtime, campaign, usccs=usccs).todo == 0
