"""The auditor's pages in the console (``/console/audit``): what ``/audit`` shows to a Bearer
credential, for people in a browser and in both languages — issuance per day (China time) as a chart
with one bar a day, per division and registration authority, a day's log entries (drill-down), and
the latest checkpoints. Within the auditor's (or supervisor's) division: leaves are counted by the
division their USCC names. Pure summaries of log leaves here; the routes are in ``web.py``."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import LogLeaf
from ..domain.china_time import CHINA, china_date
from ..domain.staff import Division
from ..log.reader import LogReader

__all__ = ["DAYS", "day_entries", "issuance_summary"]

DAYS = 60


def _leaves(s: Session, division: Division, since: datetime, until: datetime | None = None
            ) -> list[tuple[int, datetime, dict[str, Any]]]:
    q = select(LogLeaf.idx, LogLeaf.created_at, LogLeaf.data).where(LogLeaf.created_at >= since)
    if until is not None:
        q = q.where(LogLeaf.created_at < until)
    out = []
    for idx, created_at, data in s.execute(q.order_by(LogLeaf.idx)):
        leaf = json.loads(data)
        uscc = leaf.get("uscc")
        if isinstance(uscc, str) and division.covers(uscc):
            out.append((idx, created_at, leaf))
    return out


def _authority(leaf: dict[str, Any]) -> str | None:
    """The registration authority a registration result's leaf names (holder leaves name none)."""
    authority = leaf.get("authority")
    return str(authority.get("name")) if isinstance(authority, dict) and authority.get("name") else None


def issuance_summary(s: Session, log: LogReader, division: Division, *, at: datetime) -> dict[str, Any]:
    """Entries per day (China time) by action over the last :data:`DAYS` days, per division and
    authority, and the latest ten checkpoints, as of ``at``."""
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    per_authority: Counter[tuple[str, str]] = Counter()
    for _, created_at, leaf in _leaves(s, division, at - timedelta(days=DAYS)):
        per_day[china_date(created_at).isoformat()][str(leaf.get("action", "?"))] += 1
        per_authority[(str(leaf["uscc"])[2:8], _authority(leaf) or "—")] += 1
    peak = max((sum(c.values()) for c in per_day.values()), default=1)
    days = [{"day": d, "count": sum(c.values()), "by_action": dict(sorted(c.items())),
             "width": round(100 * sum(c.values()) / peak)} for d, c in sorted(per_day.items(), reverse=True)]
    latest = log.latest(s)
    return {"days": days, "size": latest.size if latest else 0, "origin": log.origin,
            "authorities": [{"division": d, "authority": a, "count": n}
                            for (d, a), n in sorted(per_authority.items())],
            "checkpoints": [{"size": c.size, "root": base64.b64encode(c.root).decode(), "at": c.created_at}
                            for c in log.recent_checkpoints(s, 10)]}


def day_entries(s: Session, division: Division, day: date) -> list[dict[str, Any]]:
    """The log entries of one day (China time) in the division: index, time, action, USCC, license,
    authority, and the staff ids a console decision names."""
    start = datetime(day.year, day.month, day.day, tzinfo=CHINA)
    return [{"idx": idx, "at": created_at, "action": leaf.get("action"), "uscc": leaf.get("uscc"),
             "license_id": leaf.get("license_id") or leaf.get("holder_id"),
             "authority": _authority(leaf),
             "staff": leaf.get("staff")}
            for idx, created_at, leaf in _leaves(s, division, start, start + timedelta(days=1))]
