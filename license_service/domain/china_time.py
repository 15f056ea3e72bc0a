"""China Standard Time (UTC+8, no daylight saving since 1991): registration dates, serial days and
every date a person reads are Beijing dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

__all__ = ["CHINA", "china_date"]

CHINA = timezone(timedelta(hours=8), "CST")


def china_date(at: datetime) -> date:
    """The Beijing date of the timezone-aware instant ``at``."""
    return at.astimezone(CHINA).date()
