"""The holders' v1 routes: the window's invitation (scope ``holders:invite``) and the auditor's
listing of holder rows (scope ``audit``), to reconcile with the log's holder leaves."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from ..access import Principal
from ..db.models import Holder
from ..domain.holding import HolderRole
from ..errors import RateLimited
from ..intake import person_field
from ..runtime.issuing import IssuingRuntime
from ..web.deps import UsccPath, now, require_scope
from ..web.problems import Problem
from .leaves import holder_facts
from .proofing import WindowProofing, invitation_answer

__all__ = ["router"]

router = APIRouter()
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422, 429)
}


class InvitationIn(BaseModel):
    """Who the window invites: the role (the window invites the legal representative; administrators
    and handlers are invited by their grantor from the holder's pages) and the name as the registry
    holds it for that role (checked)."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["legal_representative", "administrator", "handler"]
    name: person_field(100)  # type: ignore[valid-type]


class InvitationOut(BaseModel):
    invitation_url: str
    code: str
    expires_at: str
    uscc: str
    role: str
    name: str
    enrol_url: str


class AuditHolder(BaseModel):
    holder_id: str
    uscc: str
    role: str
    name: str
    name_salt: str
    granted_by: str | None
    scope: str
    not_before: str
    expires_at: str | None
    status: str
    status_reason: str | None
    status_changed_at: str
    leaf_index: int | None
    person_sha256: str


class AuditHoldersOut(BaseModel):
    holders: list[AuditHolder]
    next: str | None


def _issuing(request: Request) -> IssuingRuntime:
    runtime: IssuingRuntime = request.app.state.issuing
    return runtime


@router.post("/api/v1/entities/{uscc}/holder-invitations", tags=["holders"], status_code=201,
             response_model=InvitationOut, responses=_PROBLEMS)
async def invite_holder(uscc: UsccPath, body: InvitationIn, request: Request,
                        principal: Annotated[Principal, Depends(require_scope("holders:invite"))]) -> dict[str, Any]:
    """A single-use invitation for the person the registry names as the entity's legal representative,
    after a clerk checked their identity card in person. Shown once: the link (also as a QR on the
    printed slip) and a short code; valid 24 h by default."""
    runtime = _issuing(request)
    wait = request.app.state.holder_pages.limit.take(f"invite:{principal.client_id}")
    if wait is not None:
        raise RateLimited(wait)
    role = HolderRole(body.role)

    def work() -> dict[str, Any]:
        with runtime.write_sessions.begin() as s:
            inv = WindowProofing(principal.client_id).invite(s, runtime.holders, uscc=uscc.value, role=role,
                                                             name=body.name, at=now())
        return invitation_answer(runtime.settings.public_base_url, inv, uscc=uscc.value, role=role, name=body.name)

    return await run_in_threadpool(work)


@router.get("/api/v1/audit/holders", tags=["audit"], response_model=AuditHoldersOut, responses=_PROBLEMS)
def audit_holders(request: Request, _: Annotated[Principal, Depends(require_scope("audit"))],
                  after: Annotated[str | None, Query(pattern=r"^[0-9a-f]{1,32}$")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict[str, Any]:
    """Every holder row as stored (with the salt that makes ``person_sha256``), for reconciling with
    the log's holder leaves. Paged by ``holder_id`` (``next``)."""
    runtime = _issuing(request)
    q = select(Holder).order_by(Holder.holder_id).limit(limit)
    if after:
        q = q.where(Holder.holder_id > after)
    with runtime.sessions() as s:
        rows = list(s.execute(q).scalars())
        out = [{**holder_facts(h), "name": h.name, "name_salt": h.name_salt, "status_reason": h.status_reason,
                "status_changed_at": h.status_changed_at.isoformat(), "leaf_index": h.leaf_index} for h in rows]
    return {"holders": out, "next": out[-1]["holder_id"] if len(out) == limit else None}
