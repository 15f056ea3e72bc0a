"""The console's search: by USCC (full or a prefix) or by name (a substring), with entity kind and
status filters, within the searcher's division, a page at a time in USCC order (keyset: ``after``).

Both ways use a B-tree the same way on SQLite and PostgreSQL (``bench/console.py`` measures them on
100,000 entities; the tests show the plans): a USCC prefix is a range of the primary key; a name
substring of two or more characters is a range of ``entity_name_grams`` (``db/name_index.py``) for
its rarest bigram, in USCC order, each candidate then checked against the whole substring and the
filters. A single character has no bigram: it is looked for in the names themselves. Either way one
request checks :data:`SCAN` candidates at most: a page that ends there, short of full, says so and
continues from where it stopped (``partial``), so no query costs more than that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from ..db.models import EntityNameGram, MarketEntity
from ..db.name_index import bigrams
from ..domain.errors import FieldError
from ..domain.staff import Division

__all__ = ["PAGE", "SCAN", "Found", "SearchPage", "is_uscc_prefix", "search"]

PAGE = 20
#: the most names one request checks: a substring whose every bigram is common, with filters few
#: entities meet, would otherwise walk most of the index; the page then offers to continue from there
SCAN = 4000
_USCC_PREFIX = re.compile(r"[0-9A-Z][0-9A-Z]{0,17}")
_KINDS = {"company", "branch", "partnership", "sole_proprietorship", "individual_business", "cooperative"}
_STATUSES = {"active", "revoked", "cancelled"}
_COUNT_CAP = 2000  # a bigram this common is as good as any other to drive the scan


def is_uscc_prefix(q: str) -> bool:
    """A query that starts with a digit and is all USCC characters is read as a USCC (or its start)."""
    return bool(_USCC_PREFIX.fullmatch(q)) and q[0].isdigit()


@dataclass(frozen=True)
class Found:
    uscc: str
    name: str | None
    entity_kind: str
    status: str
    current_version: int


@dataclass(frozen=True)
class SearchPage:
    rows: list[Found]
    next_after: str | None  # the ``after`` of the next page; None on the last
    #: the page ended with a run of :data:`SCAN` candidates, not a full page: "continue searching"
    partial: bool = False


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _within(prefix: str, division: Division | None) -> str | None:
    """The USCC range to scan for ``prefix`` within ``division``: the division's code is the USCC's
    characters 3-8, so once the first two are typed the range narrows to the division's part of it
    (None: the prefix names another division)."""
    if division is None or len(prefix) < 2:
        return prefix
    typed, wanted = prefix[2:8], division.prefix
    if typed.startswith(wanted):
        return prefix
    return prefix[:2] + wanted if wanted.startswith(typed) else None


def search(s: Session, q: str, *, division: Division | None, kind: str | None = None, status: str | None = None,
           after: str | None = None, limit: int = PAGE, scan: int = SCAN) -> SearchPage:
    """One page of entities matching ``q``. Raises FieldError (``q``, ``kind``, ``status``) for a query
    that is empty or too long, or an unknown filter."""
    q = q.strip()
    if not 1 <= len(q) <= 100:
        raise FieldError("q", "length", "type a USCC (or its start) or part of a name (100 characters at most)")
    if kind and kind not in _KINDS:
        raise FieldError("kind", "enum", "an entity kind")
    if status and status not in _STATUSES:
        raise FieldError("status", "enum", "active, revoked or cancelled")
    e = MarketEntity
    cols: tuple[Any, ...] = (e.uscc, e.name, e.entity_kind, e.status, e.current_version)
    row: Any = e  # where the filters read the entity's columns
    upper = q.upper()
    scanned: Any = None  # the name path's bounded run of candidates, in USCC order
    if is_uscc_prefix(upper):
        start = _within(upper, division)
        if start is None:  # a USCC of another division: nothing to scan
            return SearchPage([], None)
        query = select(*cols).where(e.uscc >= start, e.uscc <= start + "Z" * (18 - len(start)))
        if after:
            query = query.where(e.uscc > after)
        key = e.uscc
    else:
        grams = sorted(bigrams(q))
        if grams:
            g = EntityNameGram
            rarest = min(grams, key=lambda gram: s.execute(select(func.count()).select_from(
                select(g.uscc).where(g.gram == gram).limit(_COUNT_CAP).subquery())).scalar_one())
            run = select(g.uscc).where(g.gram == rarest)
            if after:
                run = run.where(g.uscc > after)
            run = run.order_by(g.uscc)
        else:  # one character: the names themselves, in USCC order
            run = select(e.uscc).order_by(e.uscc).where(e.uscc > after) if after else select(e.uscc).order_by(e.uscc)
        scanned = run.limit(scan).subquery()
        if s.get_bind().dialect.name == "postgresql":
            # each candidate's row by its key, in order, stopping at a full page: as a plain join the
            # planner misjudges the LIKE as matching one row and hashes a scan of the whole table
            # (LIMIT 1 keeps the lateral subquery from being pulled up into such a join)
            row = select(*cols).where(e.uscc == scanned.c.uscc).limit(1).lateral("entity")
            query = select(*row.c).select_from(scanned).join(row, true())
        else:
            query = select(*cols).select_from(scanned).join(e, e.uscc == scanned.c.uscc)
        query = query.where(func.lower(row.name if row is e else row.c.name).like(
            f"%{_escape(q.casefold())}%", escape="\\"))
        key = scanned.c.uscc

    def cols_of(name: str) -> Any:
        return getattr(e, name) if row is e else row.c[name]

    if division is not None:
        query = query.where(func.substr(cols_of("uscc"), 3, len(division.prefix)) == division.prefix)
    if kind:
        query = query.where(cols_of("entity_kind") == kind)
    if status:
        query = query.where(cols_of("status") == status)
    rows = [Found(*r) for r in s.execute(query.order_by(key).limit(limit + 1))]
    if len(rows) > limit:
        return SearchPage(rows[:limit], rows[limit - 1].uscc)
    if scanned is not None:  # the page is not full: were there more candidates than one run?
        n, last = s.execute(select(func.count(), func.max(scanned.c.uscc)).select_from(scanned)).one()
        if n == scan:
            return SearchPage(rows, last, partial=True)
    return SearchPage(rows, None)
