"""License serials (证照编号): unique and rising per division and day, and a refusal never costs one.
On PostgreSQL the counter commits at once, so an issuing transaction still rendering and sealing does
not hold up the next issuance in its division (the price: a serial whose issuance then fails stays
unused); on SQLite, where one writer holds the database anyway, it rolls back with its transaction."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from license_service.api.schemas import RegistrationIn
from license_service.db.serials import SerialCounters
from license_service.domain.lifecycle import TransitionRefused
from license_service.intake import parse_registration
from license_service.issuance import Outcome
from license_service.runtime.issuing import IssuingRuntime
from tests.conftest import entity, event


def _apply(runtime: IssuingRuntime, body: dict[str, Any]) -> Outcome:
    at = datetime.now(UTC)
    return runtime.issuance.apply(parse_registration(RegistrationIn.model_validate(body), frozenset(), at=at), at=at)


def _sequence(outcome: Outcome) -> int:
    return int(outcome.body["license"]["serial"][-6:])


def test_serials_rise_and_a_refusal_costs_none(runtime: IssuingRuntime) -> None:
    authority = {"name": "吉首市市场监督管理局", "division_code": "433101"}
    first = _apply(runtime, event("establishment", entity(), authority=authority))
    sole = entity("sole_proprietorship")
    _apply(runtime, event("establishment", sole, authority=authority))
    with pytest.raises(TransitionRefused):  # a change may not turn it into a company: refused before a serial
        _apply(runtime, event("change", {**entity(), "uscc": sole["uscc"]}, authority=authority))
    third = _apply(runtime, event("establishment", entity(), authority=authority))
    assert first.body["license"]["serial"][:6] == third.body["license"]["serial"][:6] == "433101"
    assert _sequence(third) == _sequence(first) + 2


def test_the_counter_commits_at_once_on_postgresql_and_with_its_transaction_on_sqlite(runtime: IssuingRuntime) -> None:
    counters = SerialCounters(runtime.engine)
    division, day = f"9{uuid.uuid4().int % 10**5:05d}", date(2026, 1, 1)
    postgres = runtime.engine.dialect.name == "postgresql"
    with pytest.raises(RuntimeError, match="rolled back"), runtime.write_sessions.begin() as s:
        assert counters.next(s, division, day) == 1
        if postgres:  # another issuing transaction gets the next one while this one is still open
            got: list[int] = []

            def rival() -> None:
                with runtime.write_sessions.begin() as other:
                    got.append(counters.next(other, division, day))

            t = threading.Thread(target=rival)
            t.start()
            t.join(10)
            assert got == [2], "the allocation waited for the open issuing transaction"
        raise RuntimeError("rolled back")
    with runtime.write_sessions.begin() as s:
        after = counters.next(s, division, day)
    # PostgreSQL: 1 and 2 stay used though their transactions rolled back; SQLite: 1 is given again
    assert after == (3 if postgres else 1)
