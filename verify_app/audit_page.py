"""The auditor's page (scope audit): entries per day as a chart, and the latest checkpoints.
Server-rendered SVG and tables: no script, readable without styles, every value escaped."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from license_service.access import Principal
from license_service.log.reader import LogReader
from license_service.runtime.read import ReadRuntime
from license_service.web.deps import RuntimeDep, now, require_scope

__all__ = ["audit_summary", "router"]

router = APIRouter()
_DAYS = 60


def audit_summary(runtime: ReadRuntime, log: LogReader, *, at: datetime) -> dict[str, Any]:
    """What the page shows as of ``at``: entries per day by action over the last 60 days (the day of
    each entry as stored, UTC), the log's size and the latest ten checkpoints."""
    with runtime.sessions() as s:
        rows = log.leaves_since(s, at - timedelta(days=_DAYS))
        cps = log.recent_checkpoints(s, 10)
        latest = log.latest(s)
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for created_at, data in rows:
        per_day[created_at.date().isoformat()][json.loads(data).get("action", "?")] += 1
    peak = max((sum(c.values()) for c in per_day.values()), default=1)
    bar = max(6, 900 // max(len(per_day), 1))
    days = [{"day": d, "count": sum(c.values()), "by_action": dict(c), "x": i * bar,
             "h": round(140 * sum(c.values()) / peak)} for i, (d, c) in enumerate(sorted(per_day.items()))]
    return {"origin": log.origin, "size": latest.size if latest else 0, "days": days, "peak": peak, "bar": bar,
            "width": max(bar * len(days), 1), "actions": sorted({a for c in per_day.values() for a in c}),
            "checkpoints": [{"size": c.size, "root": base64.b64encode(c.root).decode(), "at": c.created_at.isoformat()}
                            for c in cps]}


@router.get("/audit", tags=["audit"], response_class=HTMLResponse)
def audit_page(request: Request, runtime: RuntimeDep,
               _: Annotated[Principal, Depends(require_scope("audit"))]) -> HTMLResponse:
    """The issuance log at a glance for auditors: entries per day (last 60 days), latest checkpoints."""
    html = request.app.state.verify.page.render_audit(vkey=runtime.keys.log_vkey(),
                                                      **audit_summary(runtime, runtime.log, at=now()))
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                       "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                  "frame-ancestors 'none'",
                                       "X-Frame-Options": "DENY"})  # framed by no one
