"""The console's v1 route: the auditor's summary of staff actions (scope ``audit``), which
``elicense audit`` prints per staff member and per day (China time)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from ..access import Principal
from ..db.models import StaffAction, StaffMember
from ..domain.china_time import china_date
from ..runtime.issuing import IssuingRuntime
from ..web.deps import now, require_scope
from ..web.problems import Problem

__all__ = ["router"]

router = APIRouter()
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 422, 429)
}


class StaffActionCount(BaseModel):
    """How many times one staff member did one action on one day (China time)."""

    staff_id: str
    role: str
    division_code: str
    day: str
    action: str
    count: int


class StaffActionsOut(BaseModel):
    since: str
    counts: list[StaffActionCount]


@router.get("/api/v1/audit/staff-actions", tags=["audit"], response_model=StaffActionsOut, responses=_PROBLEMS)
def audit_staff_actions(request: Request, _: Annotated[Principal, Depends(require_scope("audit"))],
                        days: Annotated[int, Query(ge=1, le=366)] = 31) -> dict[str, Any]:
    """Staff actions at the window's console (sign-in, search, view, print, replacement request and
    decision, invitation, verification...) counted per staff member, day (China time) and action,
    over the last ``days`` days. Staff ids only: names stay with the registry."""
    runtime: IssuingRuntime = request.app.state.issuing
    since = now() - timedelta(days=days)
    with runtime.sessions() as s:
        members = {m.staff_id: m for m in s.execute(select(StaffMember)).scalars()}
        counts: Counter[tuple[str, str, str]] = Counter(
            (staff_id, china_date(at).isoformat(), action) for staff_id, at, action in s.execute(
                select(StaffAction.staff_id, StaffAction.at, StaffAction.action).where(StaffAction.at >= since)))
    out = []
    for (staff_id, day, action), n in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        m = members.get(staff_id)
        out.append({"staff_id": staff_id, "role": m.role if m else "?", "division_code": m.division_code if m else "?",
                    "day": day, "action": action, "count": n})
    return {"since": since.isoformat(), "counts": out}
