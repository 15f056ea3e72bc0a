"""The auditor's page (scope audit): entries per day as a chart, and the latest checkpoints.
Server-rendered SVG and tables: no script, readable without styles, every value escaped."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from license_service.api.deps import ServicesDep, require_scope
from license_service.auth import Principal
from license_service.db.models import LogCheckpoint, LogLeaf

__all__ = ["router"]

router = APIRouter()
_DAYS = 60


@router.get("/audit", tags=["audit"], response_class=HTMLResponse)
def audit_page(request: Request, services: ServicesDep,
               _: Annotated[Principal, Depends(require_scope("audit"))]) -> HTMLResponse:
    """The issuance log at a glance for auditors: entries per day (last 60 days), latest checkpoints."""
    since = datetime.now(UTC) - timedelta(days=_DAYS)
    with services.sessions() as s:
        rows = s.execute(select(LogLeaf.created_at, LogLeaf.data).where(LogLeaf.created_at >= since)).all()
        cps = s.execute(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(10)).scalars().all()
        latest = services.log.latest(s)
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for created_at, data in rows:
        per_day[created_at.date().isoformat()][json.loads(data).get("action", "?")] += 1
    peak = max((sum(c.values()) for c in per_day.values()), default=1)
    bar = max(6, 900 // max(len(per_day), 1))
    days = [{"day": d, "count": sum(c.values()), "by_action": dict(c), "x": i * bar,
             "h": round(140 * sum(c.values()) / peak)} for i, (d, c) in enumerate(sorted(per_day.items()))]
    html = request.app.state.verify.page.render_audit(
        origin=services.log.origin, size=latest.size if latest else 0, vkey=services.keys.log_vkey(), days=days,
        peak=peak, bar=bar, width=max(bar * len(days), 1),
        actions=sorted({a for c in per_day.values() for a in c}),
        checkpoints=[{"size": c.size, "root": base64.b64encode(c.root).decode(), "at": c.created_at.isoformat()}
                     for c in cps])
    return HTMLResponse(html, headers={"Cache-Control": "no-store",
                                       "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
