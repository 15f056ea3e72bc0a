"""Registrations racing each other for real: threads calling the issuance service at once (on
PostgreSQL they run concurrently; SQLite serializes writers): duplicate event_ids, competing
establishments of one USCC, competing changes. Exactly one license per accepted event, gapless
versions, a log that matches the registry, and every refusal a clean domain error (no 5xx)."""

from __future__ import annotations

import copy
import json
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from license_service.api.schemas import RegistrationIn
from license_service.db.models import LicenseVersion, LogLeaf
from license_service.domain.errors import DomainError
from license_service.intake import parse_registration
from license_service.issuance import Outcome
from license_service.runtime.issuing import IssuingRuntime
from tests.conftest import entity, event


def _race(runtime: IssuingRuntime, bodies: list[dict[str, Any]]) -> list[Outcome | DomainError]:
    """Apply all bodies at once, one thread each, released together."""
    runtime.issuance  # noqa: B018 - build fonts and keys before the race, not inside it
    results: list[Outcome | DomainError | BaseException | None] = [None] * len(bodies)
    gate = threading.Barrier(len(bodies))

    def run(i: int) -> None:
        gate.wait()
        at = datetime.now(UTC)
        try:
            results[i] = runtime.issuance.apply(
                parse_registration(RegistrationIn.model_validate(bodies[i]), frozenset(), at=at), at=at)
        except DomainError as e:  # what the API answers as 4xx
            results[i] = e
        except BaseException as e:  # anything else would be a 5xx
            e.add_note("".join(traceback.format_exception(e)))
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    crashes = [r for r in results if not isinstance(r, Outcome | DomainError)]
    assert not crashes, [getattr(c, "__notes__", c) for c in crashes]
    return results  # type: ignore[return-value]


def test_racing_registrations(runtime: IssuingRuntime) -> None:
    ent = entity()
    est = event("establishment", ent)
    rivals = [event("establishment", ent) for _ in range(5)]
    results = _race(runtime, [copy.deepcopy(est) for _ in range(5)] + rivals)
    winners = {r.body["license"]["license_id"] for r in results if isinstance(r, Outcome)}
    assert len(winners) == 1  # one establishment, and every replay of it converged on the same answer
    same_event = results[:5]
    if all(isinstance(r, Outcome) for r in same_event):
        assert len({json.dumps(r.body, sort_keys=True) for r in same_event}) == 1  # type: ignore[union-attr]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert {e.code for e in refused} <= {"entity.exists"}

    changes = [event("change", {**ent, "address": f"吉首市人民路{i}号"}, decided_at="2019-01-02T10:00:00+08:00")
               for i in range(8)]
    results = _race(runtime, changes + [copy.deepcopy(changes[0]) for _ in range(3)])
    assert all(isinstance(r, Outcome) for r in results), [r for r in results if not isinstance(r, Outcome)]
    with runtime.sessions() as s:
        versions = s.execute(select(LicenseVersion.version, LicenseVersion.leaf_index, LicenseVersion.status)
                             .where(LicenseVersion.uscc == ent["uscc"]).order_by(LicenseVersion.version)).all()
        assert [v.version for v in versions] == list(range(1, 10))  # gapless: 1 + 8 changes
        assert [v.status for v in versions] == ["superseded"] * 8 + ["current"]
        size = s.scalar(select(func.count()).select_from(LogLeaf))
        assert size == s.scalar(select(func.max(LogLeaf.idx))) + 1  # the log is gapless
        for v in versions:  # each version's leaf names it
            data = json.loads(s.get(LogLeaf, v.leaf_index).data)
            assert (data["uscc"], data["version"]) == (ent["uscc"], v.version)
