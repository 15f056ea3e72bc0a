"""One re-issuance job (a batch of entities), on both databases: each entity's outcome is recorded,
a refusal is a skip, an unexpected failure is recorded and raised only once the whole batch was
tried (the queue then retries the job), and the retry issues what failed and nothing twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from license_service.db.models import ReissueItem
from license_service.intake import RegistrationIn, parse_registration
from license_service.reissue import Campaign, count_targets, reissue_batch
from license_service.runtime.issuing import IssuingRuntime
from signing.errors import SigningError
from tests.conftest import entity, event
from tests.integration.helpers import apply_body, versions


def test_a_batch_records_every_outcome_and_a_retry_finishes_it(runtime: IssuingRuntime,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    good, revoked, failing = entity(), entity(), entity()
    for e in (good, revoked, failing):
        apply_body(runtime, event("establishment", e))
    apply_body(runtime, event("revocation", {"uscc": revoked["uscc"]}, reason="未按规定公示年度报告",
                          decided_at="2019-01-02T10:00:00+08:00"))
    unknown = entity()["uscc"]
    campaign = Campaign(f"t-{uuid.uuid4().hex[:8]}", datetime.now(UTC), "换发")
    batch = [good["uscc"], revoked["uscc"], failing["uscc"], unknown]

    seal = runtime.issuance._sealer.seal
    calls: list[str] = []

    def second_seal_fails(pdf: bytes, **kw: Any) -> bytes:  # the HSM goes away for one license
        calls.append(kw["authority"])
        if len(calls) == 2:
            raise SigningError("signing device unavailable")
        return seal(pdf, **kw)

    monkeypatch.setattr(runtime.issuance._sealer, "seal", second_seal_fails)
    with pytest.raises(SigningError):
        reissue_batch(runtime, campaign, batch, clock=lambda: datetime.now(UTC))
    with runtime.sessions() as s:
        got = {i.uscc: (i.outcome, i.detail) for i in s.scalars(
            select(ReissueItem).where(ReissueItem.campaign == campaign.id))}
    assert got == {good["uscc"]: ("issued", "version 2"), revoked["uscc"]: ("skipped", "entity.revoked"),
                   failing["uscc"]: ("failed", "SigningError: signing device unavailable"),
                   unknown: ("skipped", "entity.unknown")}
    assert versions(runtime, failing["uscc"]) == [(1, "current")]  # nothing of the failed one written
    assert versions(runtime, revoked["uscc"]) == [(1, "revoked")]
    with runtime.sessions() as s:
        assert count_targets(s, usccs=batch, campaign=campaign.id) == 1  # only the failed one is left

    monkeypatch.setattr(runtime.issuance._sealer, "seal", seal)
    retried = reissue_batch(runtime, campaign, batch, clock=lambda: datetime.now(UTC))  # the queue's retry of the same job
    assert [(i.uscc, i.outcome) for i in retried] == [(failing["uscc"], "issued")]
    assert versions(runtime, good["uscc"]) == [(1, "superseded"), (2, "current")]  # not twice
    assert versions(runtime, failing["uscc"]) == [(1, "superseded"), (2, "current")]
    with runtime.sessions() as s:
        assert count_targets(s, usccs=batch, campaign=campaign.id) == 0


def test_a_fresh_apply_of_an_event_already_applied_returns_its_answer(runtime: IssuingRuntime) -> None:
    """apply(fresh=True) skips the read for a stored answer; an event applied after all rolls back on
    its unique event_id and the retry answers what was stored: nothing is written twice."""
    ent = entity()
    apply_body(runtime, event("establishment", ent))
    body = event("change", {**ent, "address": "吉首市人民路7号"}, decided_at="2019-01-02T10:00:00+08:00")
    at = datetime.now(UTC)
    ev = parse_registration(RegistrationIn.model_validate(body), frozenset(), at=at)
    first = runtime.issuance.apply(ev, at=at)
    again = runtime.issuance.apply(ev, at=datetime.now(UTC), fresh=True)
    assert (first.status, again.status) == (201, 200) and again.body == first.body
    assert versions(runtime, ent["uscc"]) == [(1, "superseded"), (2, "current")]
