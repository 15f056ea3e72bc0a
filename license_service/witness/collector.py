"""The issuing service's witness collector: a background thread that takes the newest signed
checkpoint to every configured witness (C2SP tlog-witness) and stores the cosignatures they return,
so ``/log/checkpoint`` can publish it cosigned (``log/witnessed.py``). Issuance never waits on it.

Batching: each round sends the newest checkpoint only (a checkpoint cosigned covers every earlier
one), to every witness not still busy with the previous round, so the witnesses that answer cosign the
same sizes. A witness that is down is asked again next round. A witness that refuses a checkpoint as
inconsistent (422, or it has cosigned a larger tree than this log has) raises an alarm: logged,
counted in ``/metrics``, stored on its ``log_witnesses`` row, and no newer checkpoint is published
until that witness cosigns again (see ``log/witnessed.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from prometheus_client import Counter, Histogram
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..config import WitnessConfig
from ..db.models import LogCosignature, LogWitness
from ..log.reader import LogReader, SignedCheckpoint
from .client import Conflict, Cosignature, Refused, Unreachable, WitnessClient

__all__ = ["COSIGN_SECONDS", "WitnessCollector"]

log = logging.getLogger("elicense.witness")

COSIGN_SECONDS = Histogram("elicense_witness_cosign_seconds", "One add-checkpoint round trip that was cosigned",
                           ["witness"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
REFUSALS = Counter("elicense_witness_refusals", "Checkpoints a witness refused", ["witness", "status"])
_TRIES = 3  # 409s followed in one round (the first tells a fresh collector the witness's size)


class WitnessCollector:
    """Collects cosignatures from ``witnesses`` for the checkpoints of ``log``. ``now`` gives the
    time written on rows; ``on_cosigned(size, witness)`` is told of each cosignature stored."""

    def __init__(self, sessions: sessionmaker[Session], write_sessions: sessionmaker[Session], log: LogReader,
                 witnesses: tuple[WitnessConfig, ...], *, interval: float, now: Callable[[], datetime],
                 on_cosigned: Callable[[int, str], None] | None = None) -> None:
        self._sessions = sessions
        self._writes = write_sessions
        self._log = log
        self._clients = [WitnessClient(w.url, w.vkey) for w in witnesses]
        self._interval = interval
        self._now = now
        self._on_cosigned = on_cosigned
        self._known: dict[str, int | None] = {c.verifier.vkey: None for c in self._clients}
        self._busy: dict[str, Future[None]] = {}
        self._pool = ThreadPoolExecutor(max(1, len(self._clients)), thread_name_prefix="witness")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="witness-collector", daemon=True)

    def start(self) -> None:
        with self._sessions() as s:
            for row in s.query(LogWitness).all():
                if row.witness in self._known:
                    self._known[row.witness] = row.size
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for c in self._clients:
            c.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.round()
            except Exception:  # the loop outlives a database hiccup; the next round tries again
                log.exception("witness round failed")

    def round(self) -> None:
        """Send the newest checkpoint to every witness not busy with the last one."""
        with self._sessions() as s:
            latest = self._log.latest(s)
        if latest is None:
            return
        for client in self._clients:
            key = client.verifier.vkey
            busy = self._busy.get(key)
            if busy is not None and not busy.done():
                continue
            if self._known[key] == latest.size:
                continue
            self._busy[key] = self._pool.submit(self._ask, client, latest)

    def _ask(self, client: WitnessClient, cp: SignedCheckpoint) -> None:
        key = client.verifier.vkey
        for _ in range(_TRIES):
            old = self._known[key] or 0
            if old > cp.size:  # another issuing process may have taken it further: read the log again
                with self._sessions() as s:
                    newest = self._log.latest(s)
                if newest is not None and newest.size >= old:
                    cp = newest
                    continue
                self._alarm(client, cp, f"the witness has cosigned a tree of {old} entries, larger than this "
                                        f"log's {cp.size}: it has seen another view of this log (a fork)")
                return
            proof: list[bytes] = []
            if 0 < old < cp.size:
                with self._sessions() as s:
                    proof = self._log.consistency(s, old, cp.size)
            t0 = time.perf_counter()
            answer = client.add_checkpoint(old, proof, cp.note)
            if isinstance(answer, Cosignature):
                COSIGN_SECONDS.labels(client.verifier.name).observe(time.perf_counter() - t0)
                self._store(key, cp.size, answer.line)
                self._known[key] = cp.size
                return
            if isinstance(answer, Conflict):
                self._known[key] = answer.size
                continue
            if isinstance(answer, Unreachable):
                log.warning("witness unreachable", extra={"witness": client.verifier.name, "reason": answer.reason})
                return
            assert isinstance(answer, Refused)
            REFUSALS.labels(client.verifier.name, str(answer.status)).inc()
            if answer.inconsistent:
                self._alarm(client, cp, f"the witness refused the checkpoint of size {cp.size} ({answer.status}): "
                                        f"{answer.reason}")
            else:
                log.warning("witness refused a checkpoint", extra={"witness": client.verifier.name,
                                                                  "status": answer.status, "reason": answer.reason})
            return

    def _store(self, key: str, size: int, line: str) -> None:
        at = self._now()
        with self._writes.begin() as s:
            try:
                with s.begin_nested():
                    s.add(LogCosignature(size=size, witness=key, line=line, created_at=at))
            except IntegrityError:
                pass  # another issuing process stored this witness's cosignature on this size first
            row = s.get(LogWitness, key)
            if row is None:
                s.add(LogWitness(witness=key, size=size, alarm=None, alarm_size=None, updated_at=at))
            else:
                if row.alarm is not None:
                    log.warning("witness alarm cleared: it cosigned again", extra={"witness": key, "size": size})
                row.size, row.alarm, row.alarm_size, row.updated_at = max(row.size, size), None, None, at
        if self._on_cosigned is not None:
            self._on_cosigned(size, key)

    def _alarm(self, client: WitnessClient, cp: SignedCheckpoint, why: str) -> None:
        key = client.verifier.vkey
        log.error("witness alarm: a checkpoint was refused as inconsistent; newer checkpoints are not published "
                  "until it cosigns again", extra={"witness": client.verifier.name, "size": cp.size, "reason": why})
        at = self._now()
        # publish nothing beyond what this witness last cosigned (and never the refused checkpoint)
        cap = min(self._known[key] or 0, cp.size - 1)
        with self._writes.begin() as s:
            row = s.get(LogWitness, key)
            if row is None:
                s.add(LogWitness(witness=key, size=self._known[key] or 0, alarm=why, alarm_size=cap, updated_at=at))
            elif row.alarm is None:
                row.alarm, row.alarm_size, row.updated_at = why, cap, at
