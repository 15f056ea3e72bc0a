"""Registry reads cached exactly: the issuance log is the registry's change feed.

Every change to the registry (a new version, a supersession, a revocation, a cancellation) appends a
log leaf naming the USCC in the same transaction (``license_service.issuance``). So the log's size is
the registry's generation: while it has not moved, nothing a verification reads has changed; when it
moves from G to G', the leaves G..G'-1 name exactly the entities that changed.

:class:`RegistryCache` keeps what verification read about an entity until a leaf names it. Each use
reads the generation first, one primary-key read on a connection of its own (sqlite3 or psycopg,
autocommit, without SQLAlchemy: a few microseconds on SQLite), so a verification never answers from
a state older than the last committed change, in any process. What it saves is the join, its row
mapping and the public view built from it, which were most of the cost of a token verification.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from license_service.log.reader import SIZE_SQL

__all__ = ["Generation", "RegistryCache", "usccs_of_leaves"]

log = logging.getLogger("elicense.verify")


class Generation:
    """Reads the log's size on a per-thread DB-API connection of its own (not from the pool: a
    pool checkout costs more than the read). ``None`` when it cannot tell (in-memory SQLite, or the
    database is away): callers then read the registry as if nothing were cached."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        self._connect: Callable[[], Any] | None = None
        if url.get_backend_name() == "sqlite":
            path = url.database
            if path and path != ":memory:" and not path.startswith("file::memory:"):
                self._connect = lambda: sqlite3.connect(path, isolation_level=None, timeout=5)
        elif url.get_backend_name() == "postgresql":
            import psycopg

            conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._connect = lambda: psycopg.connect(conninfo, autocommit=True)
        self._local = threading.local()

    def current(self) -> int | None:
        if self._connect is None:
            return None
        conn = getattr(self._local, "conn", None)
        try:
            if conn is None:
                conn = self._local.conn = self._connect()
            row = conn.execute(SIZE_SQL).fetchone()
        except Exception:
            log.warning("could not read the registry generation; reading uncached", exc_info=True)
            self._local.conn = None
            return None
        return int(row[0]) if row else 0


class RegistryCache:
    """Values read from the registry, per USCC, valid while no log leaf names that USCC.

    ``get(uscc, key, load)`` returns the cached value or calls ``load()`` (which reads the database);
    ``changed(start, end)`` names the USCCs of leaves ``start..end-1`` (one read, only when the log
    has grown). Bounded: least recently used entities go first.
    """

    def __init__(self, generation: Generation, changed: Callable[[int, int], set[str] | None],
                 max_entities: int = 20_000) -> None:
        self._generation = generation
        self._changed = changed
        self._max = max_entities
        self._at: int | None = None  # the generation the cached values are valid at
        self._values: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, uscc: str, key: str, load: Callable[[], Any]) -> Any:
        gen = self._generation.current()
        if gen is None:
            return load()
        with self._lock:
            at = self._at
        if at is not None and gen < at:  # read before another thread saw the log grow: don't file it
            return load()
        if gen != at:
            self._advance(at, gen)
        with self._lock:
            values = self._values.get(uscc)
            if values is not None and key in values and self._at == gen:
                self._values.move_to_end(uscc)
                self.hits += 1
                return values[key]
            self.misses += 1
        value = load()  # read after ``gen``: at least as new as the generation it is filed under
        with self._lock:
            if self._at == gen:  # else the log moved meanwhile: the read may predate a change
                self._values.setdefault(uscc, {})[key] = value
                self._values.move_to_end(uscc)
                while len(self._values) > self._max:
                    self._values.popitem(last=False)
        return value

    def _advance(self, at: int | None, gen: int) -> None:
        """Move the cache from ``at`` to the newer generation ``gen``: forget the entities the new
        leaves name (all of them on the first move, or when ``changed`` will not say)."""
        changed = self._changed(at, gen) if at is not None else None
        with self._lock:
            if self._at != at:  # another thread advanced first
                return
            if changed is None:
                self._values.clear()
            else:
                for uscc in changed:
                    self._values.pop(uscc, None)
            self._at = gen


def usccs_of_leaves(entries: list[tuple[int, bytes]]) -> set[str] | None:
    """The USCCs that log leaves name (canonical JSON with a ``uscc`` member); None when a leaf names
    none (not JSON, or no ``uscc``): it cannot say what changed, so the caller forgets everything."""
    usccs = set()
    for _, data in entries:
        try:
            uscc = json.loads(data).get("uscc")
        except (ValueError, AttributeError):
            return None
        if not isinstance(uscc, str):
            return None
        usccs.add(uscc)
    return usccs
