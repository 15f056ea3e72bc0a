"""The per-(division, day) serial counters behind license serials (证照编号)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from .engine import dialect_insert
from .models import SerialCounter

__all__ = ["SerialCounters"]


class SerialCounters:
    """Hands out each (division, day)'s next sequence number with one upsert.

    On PostgreSQL the increment commits at once, in its own transaction on a small pool of its own
    (so it never waits for a connection an issuing transaction holds): the counter row is locked for
    the increment alone, not across the issuing transaction's render and seal, and issuances in one
    division run side by side. The price is that a sequence whose issuance then fails (a crash, a
    lost race on a new USCC) stays unused: serials are unique and rising per division and day, not
    gapless. Refusals never cost one: the issuing side allocates only after every check has passed.

    On SQLite the one writer holds the database for the whole issuing transaction anyway, and a second
    write transaction would wait on it: the increment runs in that transaction, with no gaps.
    """

    def __init__(self, engine: Engine) -> None:
        self._own: Engine | None = None
        self._insert = dialect_insert(engine)
        if engine.dialect.name == "postgresql":
            self._own = create_engine(engine.url, pool_pre_ping=True, pool_size=2, max_overflow=8,
                                      isolation_level="AUTOCOMMIT")  # the upsert is its own transaction

    def next(self, s: Session, division: str, day: date) -> int:
        """The next sequence for ``division`` on ``day`` (1 for the first)."""
        upsert = (self._insert(SerialCounter).values(division_code=division, day=day, last=1)
                  .on_conflict_do_update(index_elements=[SerialCounter.division_code, SerialCounter.day],
                                         set_={"last": SerialCounter.last + 1})
                  .returning(SerialCounter.last))
        if self._own is None:
            return int(s.execute(upsert).scalar_one())
        with self._own.connect() as c:
            return int(c.execute(upsert).scalar_one())
