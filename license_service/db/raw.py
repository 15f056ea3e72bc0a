"""Plain SQL on a session's DB-API cursor, or in a transaction of its own on a pooled connection, for
the few statements where SQLAlchemy's per-statement overhead dominates."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from .models import UtcDateTime

__all__ = ["RawSql"]


@lru_cache(maxsize=8)  # one entry an engine's dialect; building them costs more than a statement
def _timestamps(dialect: Dialect) -> tuple[Callable[[Any], Any] | None, Callable[[Any], Any] | None]:
    """``UtcDateTime``'s bind and result processors in the dialect's own form (on SQLite: the text the ORM
    writes, so that stored values compare as text with what is bound here; sqlite3's default adapter
    would add "+00:00")."""
    stamp = UtcDateTime().dialect_impl(dialect)
    return stamp.bind_processor(dialect), stamp.result_processor(dialect, None)


class RawSql:
    """Plain SQL on the DB-API cursor of a session's connection (the session's transaction), with
    ``?`` placeholders turned into the driver's style (sqlite3: ``?``; psycopg: ``%s``). For a few
    fixed, hot statements only (the log's appends and proofs, batches of verification records):
    SQLAlchemy's per-statement overhead was 85% of a log append."""

    def __init__(self, s: Session) -> None:
        conn = s.connection()
        self._bind(conn.connection, conn.dialect)

    def _bind(self, pooled: PoolProxiedConnection, dialect: Dialect) -> None:
        self._driver = pooled.driver_connection
        self._pipelines = dialect.name == "postgresql"
        self._cursor = pooled.cursor()
        self._format = dialect.paramstyle in ("format", "pyformat")
        self.for_update = " FOR UPDATE" if dialect.name == "postgresql" else ""
        self._ts, self._read_ts = _timestamps(dialect)

    @classmethod
    @contextmanager
    def transaction(cls, engine: Engine, *, connection: PoolProxiedConnection | None = None) -> Iterator[RawSql]:
        """A write transaction of its own on one of ``engine``'s pooled connections, with no Session or
        Connection around it: committed when the block ends, rolled back if it raises. On SQLite it
        begins IMMEDIATE, as the write sessions do (``db.engine``: the write lock at BEGIN, so a read
        followed by a write never fails on the upgrade); elsewhere the driver begins it. For a hot
        endpoint whose whole transaction is a few fixed statements (the OpenID token exchange), where
        the Session's begin and commit machinery cost more than the statements.

        ``connection``: one of ``engine``'s connections that the caller keeps checked out for a single
        thread of its own (an event loop's), used in place of a checkout and kept afterwards."""
        pooled = connection or engine.raw_connection()
        try:
            sql = cls.__new__(cls)
            sql._bind(pooled, engine.dialect)
            if engine.dialect.name == "sqlite":  # autocommit driver (db.engine): BEGIN is ours to send
                sql._cursor.execute("BEGIN IMMEDIATE")
            try:
                yield sql
            except BaseException:
                pooled.rollback()
                raise
            pooled.commit()
        finally:
            if connection is None:
                pooled.close()  # back to the pool

    def batch(self) -> AbstractContextManager[Any]:
        """Statements that need no answer, sent together: one round trip on PostgreSQL (psycopg's
        pipeline mode; errors surface at the end of the block); as they come on SQLite."""
        return self._driver.pipeline() if self._pipelines else nullcontext()  # type: ignore[union-attr]

    def _q(self, query: str) -> str:
        return query.replace("?", "%s") if self._format else query

    def timestamp(self, at: datetime) -> object:
        return self._ts(at) if self._ts else at

    def read_timestamp(self, value: Any) -> datetime | None:
        """A ``UtcDateTime`` column's value as a statement returned it, as the ORM would give it: aware, UTC."""
        read: datetime | None = self._read_ts(value) if self._read_ts else value
        return read

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
