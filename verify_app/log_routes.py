"""The issuance log's read API (DESIGN.md), served by the verification service: public, no key."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from license_service.errors import NotFound
from license_service.log.witnessed import published
from license_service.web.deps import RuntimeDep
from license_service.web.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/log", tags=["log"])
_PROBLEMS: dict[int | str, dict[str, Any]] = {c: {"model": Problem} for c in (404, 422)}
_TEXT = {200: {"content": {"text/plain": {}}}, **_PROBLEMS}


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


class Entry(BaseModel):
    index: int
    data: str


class EntriesOut(BaseModel):
    entries: list[Entry]


class InclusionOut(BaseModel):
    index: int
    tree_size: int
    hashes: list[str]


class ConsistencyOut(BaseModel):
    first: int
    second: int
    hashes: list[str]


@router.get("/checkpoint", response_class=PlainTextResponse, responses=_TEXT)
def checkpoint(runtime: RuntimeDep) -> PlainTextResponse:
    """The latest published checkpoint: a C2SP tlog-checkpoint in a C2SP signed note (Ed25519), signed
    by the log and, when witnesses are configured, cosigned by them (C2SP tlog-cosignature: one line
    each); then it is the newest that the witness policy's number of witnesses cosigned."""
    with runtime.sessions() as s:
        latest = published(s, runtime.witness_policy)
    if latest is None:
        raise NotFound("the log has no checkpoint that meets the witness policy yet", code="log.empty")
    return PlainTextResponse(latest.note, headers={"Cache-Control": "no-cache"})


class HandoversOut(BaseModel):
    handovers: list[str]


@router.get("/key/handovers", response_model=HandoversOut)
def key_handovers(runtime: RuntimeDep) -> dict[str, list[str]]:
    """Every change of the checkpoint key, oldest first: signed notes naming the old and the new
    verifier key, each signed by both, so an auditor who pinned a key can follow it to the current one."""
    return {"handovers": runtime.keys.log_handovers()}


@router.get("/key", response_class=PlainTextResponse, responses=_TEXT)
def key(runtime: RuntimeDep) -> PlainTextResponse:
    """The checkpoint verifier key, ``name+keyid+base64`` (C2SP signed-note)."""
    return PlainTextResponse(runtime.keys.log_vkey() + "\n")


@router.get("/entries", response_model=EntriesOut, responses=_PROBLEMS)
def entries(runtime: RuntimeDep, start: Annotated[int, Query(ge=0)],
            end: Annotated[int, Query(ge=1)]) -> dict[str, Any]:
    """Leaves ``[start, end)`` (at most 1000 a call); ``data`` is base64 of the leaf bytes."""
    with runtime.sessions() as s:
        rows = runtime.log.entries(s, start, end)
    return {"entries": [{"index": i, "data": _b64(d)} for i, d in rows]}


@router.get("/proof/inclusion", response_model=InclusionOut, responses=_PROBLEMS)
def inclusion(runtime: RuntimeDep, index: Annotated[int, Query(ge=0)],
              tree_size: Annotated[int, Query(ge=1)]) -> dict[str, Any]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``tree_size`` leaves."""
    with runtime.sessions() as s:
        hashes = runtime.log.inclusion(s, index, tree_size)
    return {"index": index, "tree_size": tree_size, "hashes": [_b64(h) for h in hashes]}


@router.get("/proof/consistency", response_model=ConsistencyOut, responses=_PROBLEMS)
def consistency(runtime: RuntimeDep, first: Annotated[int, Query(ge=1)],
                second: Annotated[int, Query(ge=1)]) -> dict[str, Any]:
    """RFC 9162 consistency proof between the trees of ``first`` and ``second`` leaves."""
    with runtime.sessions() as s:
        hashes = runtime.log.consistency(s, first, second)
    return {"first": first, "second": second, "hashes": [_b64(h) for h in hashes]}


