"""The witness's durable state and key, in its own folder: ``witness.skey`` (its secret key, mode
0600), ``witness.vkey``, and ``state.db``, a SQLite database in WAL mode with ``synchronous=FULL``
holding the latest cosigned checkpoint per log origin.

Each decision runs in one ``BEGIN IMMEDIATE`` transaction (one writer at a time, across threads and
processes): read the latest, decide, and for an accepted checkpoint cosign it and record it, then
commit; the cosignature leaves the process only after the commit. So the check of the old size and
the update are atomic (tlog-witness s."add-checkpoint"'s race), and a SIGKILL at any point leaves
either the old record or the new one, never a cosignature for a root that was not recorded.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from signing.cosigning import Cosigner

from .check import Accept, Cosigned, Refuse

__all__ = ["WitnessState", "init_witness", "load_cosigner"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL)"""


def init_witness(folder: Path, name: str) -> Cosigner:
    """Create a witness's key and empty state in ``folder``; refuses when a key is there already
    (``FileExistsError``): a witness's key is its identity."""
    folder.mkdir(parents=True, exist_ok=True)
    skey = folder / "witness.skey"
    cosigner = Cosigner.generate(name)
    fd = os.open(skey, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(cosigner.skey + "\n")
    (folder / "witness.vkey").write_text(cosigner.verifier.vkey + "\n")
    WitnessState(folder).close()
    return cosigner


def load_cosigner(folder: Path) -> Cosigner:
    return Cosigner.from_skey((folder / "witness.skey").read_text())


class WitnessState:
    """``state.db`` in ``folder``. One connection, used under a lock (the server's threads share it)."""

    def __init__(self, folder: Path) -> None:
        self._db = sqlite3.connect(folder / "state.db", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def latest(self, origin: str) -> Cosigned | None:
        with self._lock:
            return self._read(origin)

    def _read(self, origin: str) -> Cosigned | None:
        row = self._db.execute("SELECT size, root, note FROM cosigned WHERE origin = ?", (origin,)).fetchone()
        return Cosigned(int(row[0]), bytes(row[1]), str(row[2])) if row else None

    def submit(self, origin: str, decide: Callable[[Cosigned | None], Accept | Refuse],
               cosigner: Cosigner, timestamp: int) -> Accept | Refuse | str:
        """Decide on a checkpoint for ``origin`` against its latest record, atomically; on accept,
        cosign it at ``timestamp`` and record it. Returns the cosignature line (committed), or the
        refusal."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcome = decide(self._read(origin))
                if isinstance(outcome, Refuse):
                    self._db.execute("ROLLBACK")
                    return outcome
                line = cosigner.cosign(outcome.body, timestamp)
                cp = outcome.checkpoint
                self._db.execute(
                    "INSERT INTO cosigned (origin, size, root, note, cosigned_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
                    "note = excluded.note, cosigned_at = excluded.cosigned_at",
                    (origin, cp.size, cp.root, outcome.note + line, timestamp))
                self._db.execute("COMMIT")
                return line
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
