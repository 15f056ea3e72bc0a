"""Recording platform verifications without a write transaction per request.

Records are queued in memory and written in one transaction per ``interval`` (and at shutdown), by a
background thread. Per-request commits made every verification wait for the registry's write lock
(SQLite: one writer across all processes), which cost more than the verification itself. What this
trades: a process killed outright loses at most its last ``interval`` of records; a graceful stop
loses none. ``interval=0`` writes synchronously (tests, and deployments that want no window).
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from license_service.db.raw import RawSql

__all__ = ["VerificationRecorder"]

log = logging.getLogger("elicense.verify")
_INSERT = ("INSERT INTO verifications (client_id, checked_at, channel, subject_uscc, license_id, verdict) "
           "VALUES (?, ?, ?, ?, ?, ?)")


class VerificationRecorder:
    def __init__(self, sessions: sessionmaker[Session], interval: float = 0.05, max_batch: int = 5000, *,
                 serialize_writes: bool = False) -> None:
        self._sessions = sessions
        #: held around every write transaction of this process's verifier (these records, presented
        #: codes redeemed) when the registry is SQLite: one writer at a time in the process, so a
        #: write waits on a lock for the other's few milliseconds instead of in SQLite's busy handler,
        #: whose sleeps (up to 100 ms each) became the redemptions' p99
        self.write_lock: AbstractContextManager[Any] = threading.Lock() if serialize_writes else nullcontext()
        self._interval = interval
        self._max_batch = max_batch
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, record: dict[str, Any]) -> None:
        """Queue one record: the column values of a ``VerificationRecord`` (plain values, written
        by one executemany per batch on the DB-API cursor: ORM objects cost more to build and flush
        than the verification itself)."""
        if self._interval <= 0:
            self._write([record])
            return
        with self._lock:
            self._pending.append(record)
            full = len(self._pending) >= self._max_batch
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="verification-recorder", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Write what is queued now. On failure the batch goes back to the front of the queue
        (bounded by ``max_batch * 10``: past that the oldest records are dropped, and logged)."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            self._write(batch)
        except Exception:
            with self._lock:
                self._pending = batch + self._pending
                overflow = len(self._pending) - self._max_batch * 10
                if overflow > 0:
                    del self._pending[:overflow]
                    log.error("dropped %d verification records: the registry has been unwritable", overflow)
            raise

    def close(self) -> None:
        """Stop the background thread and write everything still queued (graceful shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        with self.write_lock, self._sessions.begin() as s:
            sql = RawSql(s)
            sql.many(_INSERT, [(r["client_id"], sql.timestamp(r["checked_at"]), r["channel"], r["subject_uscc"],
                                r["license_id"], r["verdict"]) for r in batch])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the registry is away: the records stay queued for the next round
                log.exception("could not write verification records; will retry")
