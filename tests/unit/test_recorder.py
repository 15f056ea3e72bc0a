"""The verification recorder batches records in the background, writes what is queued on close,
and keeps a batch it could not write."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from license_service.db.engine import make_engine, make_write_session_factory
from license_service.db.migrate import upgrade
from license_service.db.models import VerificationRecord
from verify_app.recorder import VerificationRecorder


def _rec(i: int) -> dict[str, object]:
    return {"client_id": f"c{i}", "checked_at": datetime.now(UTC), "channel": "token",
            "subject_uscc": None, "license_id": None, "verdict": "valid"}


def _count(sessions: object) -> int:
    with sessions() as s:  # type: ignore[operator]
        return int(s.scalar(select(func.count()).select_from(VerificationRecord)))


def test_batches_in_background_and_flushes_on_close(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/r.db")
    upgrade(engine)
    sessions = make_write_session_factory(engine)
    rec = VerificationRecorder(sessions, interval=0.05)
    for i in range(100):
        rec.add(_rec(i))
    deadline = time.time() + 5
    while _count(sessions) < 100 and time.time() < deadline:
        time.sleep(0.02)
    assert _count(sessions) == 100
    rec.close()
    idle = VerificationRecorder(sessions, interval=3600)  # nothing is written in the background for an hour
    idle.add(_rec(101))
    time.sleep(0.1)
    assert _count(sessions) == 100
    idle.close()
    assert _count(sessions) == 101


def test_a_failed_batch_stays_queued(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/r.db")  # no schema yet: writes fail
    sessions = make_write_session_factory(engine)
    rec = VerificationRecorder(sessions, interval=3600)
    rec.add(_rec(1))
    with pytest.raises(Exception):  # noqa: B017 - the driver's error, whatever it is
        rec.flush()
    upgrade(engine)
    rec.flush()
    assert _count(sessions) == 1
