"""Plain SQL on a session's DB-API cursor, for the few statements where SQLAlchemy's per-statement
overhead dominates."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import UtcDateTime

__all__ = ["RawSql"]


class RawSql:
    """Plain SQL on the DB-API cursor of a session's connection (the session's transaction), with
    ``?`` placeholders turned into the driver's style (sqlite3: ``?``; psycopg: ``%s``). For a few
    fixed, hot statements only (the log's appends and proofs, batches of verification records):
    SQLAlchemy's per-statement overhead was 85% of a log append."""

    def __init__(self, s: Session) -> None:
        conn = s.connection()
        self._driver = conn.connection.driver_connection
        self._pipelines = conn.dialect.name == "postgresql"
        self._cursor = conn.connection.cursor()
        self._format = conn.dialect.paramstyle in ("format", "pyformat")
        self.for_update = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        self._ts = UtcDateTime().bind_processor(conn.dialect)

    def batch(self) -> AbstractContextManager[Any]:
        """Statements that need no answer, sent together: one round trip on PostgreSQL (psycopg's
        pipeline mode; errors surface at the end of the block); as they come on SQLite."""
        return self._driver.pipeline() if self._pipelines else nullcontext()  # type: ignore[union-attr]

    def _q(self, query: str) -> str:
        return query.replace("?", "%s") if self._format else query

    def timestamp(self, at: datetime) -> object:
        return self._ts(at) if self._ts else at

    def run(self, query: str, params: tuple[object, ...]) -> None:
        self._cursor.execute(self._q(query), params)

    def many(self, query: str, rows: Sequence[Sequence[object]]) -> None:
        self._cursor.executemany(self._q(query), rows)

    def one(self, query: str, params: tuple[object, ...]) -> Any:
        self._cursor.execute(self._q(query), params)
        return self._cursor.fetchone()

    def all(self, query: str, params: tuple[object, ...]) -> list[Any]:
        self._cursor.execute(self._q(query), params)
        return list(self._cursor.fetchall())
