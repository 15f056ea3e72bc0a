"""The verification service's routes: the public page and the platform verification API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from email.utils import format_datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.routing import Route

from license_service.access import Principal
from license_service.domain.errors import FieldError, InvalidInput
from license_service.errors import NotFound, RateLimited, TooLarge
from license_service.web.deps import REQUIRED_SCOPE, RuntimeDep, UsccPath, authenticate, json_body, json_body_spec, now
from license_service.web.operations import VERIFICATIONS
from license_service.web.problems import Problem
from license_service.web.ratelimit import TokenBucket

from .page import PageRenderer
from .presentation import PresentationVerifier
from .report import VerificationReport
from .service import VerificationService

__all__ = ["HOT_ROUTE", "PRESENTATION_ROUTE", "VerifyState", "hot_router", "router"]

router = APIRouter()
#: the busiest route alone, documented here (OpenAPI) and served by :data:`HOT_ROUTE`
hot_router = APIRouter()
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 413, 422, 429)
}
_PAGE_HEADERS = {
    "Cache-Control": "no-store",  # the status may change at any moment
    "Referrer-Policy": "no-referrer",  # the URL carries the token
    # no framing by anyone (frame-ancestors; X-Frame-Options for browsers that predate it): a verdict
    # shown inside someone else's page is theirs to dress up
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


class VerifyState:
    """What the verification routes need, kept on ``app.state.verify``."""

    def __init__(self, service: VerificationService, page: PageRenderer, api_limit: TokenBucket,
                 page_limit: TokenBucket, max_pdf_bytes: int, *, inline: bool,
                 presentations: PresentationVerifier, redeem_limit: TokenBucket) -> None:
        self.service = service
        self.presentations = presentations
        self.redeem_limit = redeem_limit
        self.inline = inline
        self.page = page
        self.api_limit = api_limit
        self.page_limit = page_limit
        self.max_pdf_bytes = max_pdf_bytes


async def _state(request: Request) -> VerifyState:
    state: VerifyState = request.app.state.verify
    return state


StateDep = Annotated[VerifyState, Depends(_state)]


async def _platform(request: Request) -> Principal:
    """A client with scope ``verify``, within its rate limit. One dependency, not a chain: FastAPI's
    dependency resolution was a third of the cost of a token verification. The request guard has
    authenticated the client already (before any body was read): its principal is reused."""
    principal = authenticate(request)
    principal.require("verify")
    wait = request.app.state.verify.api_limit.take(principal.client_id)
    if wait is not None:
        raise RateLimited(wait)
    return principal


setattr(_platform, REQUIRED_SCOPE, "verify")
Platform = Annotated[Principal, Depends(_platform)]


class CheckOut(BaseModel):
    name: str = Field(description="the check (key_known, token_signature, claims, registry_status, ...)")
    ok: bool = Field(description="true only when the check passed: a license no longer in force fails its "
                                 "registry_status check, and the verdict is not_in_force")
    reason: str = Field(description="a stable reason code; every code, its check, its effect on the verdict "
                                    "and its meaning: docs/reason-codes.md")
    detail: str = Field(description="what was found, for people (dates, versions, expected and found values); "
                                    "its wording may change: program against reason")


class LogEvidenceOut(BaseModel):
    leaf_index: int
    tree_size: int
    leaf: str = Field(description="base64 of the leaf's bytes: canonical JSON naming this license's id, version, "
                                  "record digest and PDF digest")
    inclusion_proof: list[str]
    checkpoint: str = Field(description="the checkpoint the proof is against: the log's signed note with the "
                                        "witnesses' cosignatures (C2SP tlog-cosignature)")


class PresentationOut(BaseModel):
    """Who showed the license (亮照), in which role and scope, and when."""

    uscc: str
    role: Literal["legal_representative", "administrator", "handler"]
    role_label: dict[str, str]
    name: str
    scope: str = Field(description="'all', or the named matters (space-separated)")
    presented_at: str
    expires_at: str
    redeemed_at: str | None


class ReportOut(BaseModel):
    verdict: Literal["valid", "not_in_force", "invalid", "indeterminate"]
    status: Literal["current", "superseded", "revoked", "cancelled"] | None
    checks: list[CheckOut]
    license: dict[str, Any] | None
    checked_at: str
    status_as_of: str | None = Field(None, description="the time the registry state the status was read "
                                                       "from was current (live: the time of the check)")
    log: LogEvidenceOut | None = None
    presentation: PresentationOut | None = Field(None, description="for a presentation (亮照): who showed it")
    pdf_validation: Literal["issued_copy", "full"] | None = Field(
        None, description="for a PDF, how its seal was checked: issued_copy = byte for byte the document issued (its "
                          "SHA-256 is the one the registry recorded), so only what can change since issuance was "
                          "checked again (the signer's and timestamp authority's chains, the signer's revocation); "
                          "full = pyHanko's full validation")


class HandleIn(BaseModel):
    handle: Annotated[str, Field(min_length=1, max_length=200, description="the handle in the presented QR code "
                                                                           "(/p/{handle}), or that whole URL")]

    model_config = {"extra": "forbid"}


class TokenIn(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=8192)]

    model_config = {"extra": "forbid"}


def _json(report: VerificationReport, headers: dict[str, str] | None = None) -> Response:
    """A REPORT as JSON. Built directly (orjson, the unchanging part once per remembered report):
    re-validating it through the response model would cost more than the verification (the model
    documents it in OpenAPI)."""
    return Response(report.json_bytes(), media_type="application/json", headers=headers)


def _answer(state: VerifyState, principal: Principal, channel: str, report: VerificationReport) -> Response:
    """Record the verification and answer the REPORT."""
    state.service.record(principal.client_id, channel, report)
    _counter(channel, report.verdict.value).inc()
    return _json(report)


@functools.cache
def _counter(channel: str, verdict: str) -> Any:
    """The labelled counter (prometheus_client's ``labels`` takes a lock and builds a key each call)."""
    return VERIFICATIONS.labels(channel, verdict)


async def _run(state: VerifyState, fn: Callable[..., VerificationReport], *args: Any) -> VerificationReport:
    """A token or entity verification: on SQLite inline (a cached registry read is microseconds of
    in-process work, less than a hop to the thread pool); with a database across the network, in
    the thread pool, so the event loop never waits on a socket."""
    if state.inline:
        return fn(*args, at=now())
    return await run_in_threadpool(lambda: fn(*args, at=now()))


@router.get("/v/{token}", tags=["public"], response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {},
                                         "application/json": {"schema": ReportOut.model_json_schema()}},
                             "description": "the public page, or the REPORT with Accept: application/json"},
                       429: _PROBLEMS[429]})
async def public_page(token: str, request: Request, state: StateDep,
                      lang: Annotated[Literal["zh", "en"], Query()] = "zh") -> Response:
    """What a phone camera opens: the verdict in one glance, and the license's public items."""
    wait = state.page_limit.take(request.client.host if request.client else "?")
    if wait is not None:
        raise RateLimited(wait)
    report = await _run(state, state.service.verify_token, token)
    _counter("page", report.verdict.value).inc()
    if "application/json" in request.headers.get("accept", ""):
        return _json(report, headers={"Cache-Control": "no-store", "Vary": "Accept"})
    return HTMLResponse(state.page.render(report, lang), headers={**_PAGE_HEADERS, "Vary": "Accept"})


@hot_router.post("/api/v1/verify/token", tags=["verification"], responses={200: {"model": ReportOut}, **_PROBLEMS},
             openapi_extra=json_body_spec(TokenIn))
async def verify_token(request: Request) -> Response:
    """Verify a QR token: signature, key, claims, registry agreement and status."""
    # the busiest route: its parameters are read by hand (FastAPI's machinery was a fifth of its cost)
    principal = await _platform(request)
    body = await json_body(request, TokenIn)
    state: VerifyState = request.app.state.verify
    return _answer(state, principal, "token", await _run(state, state.service.verify_token, body.token))


setattr(verify_token, REQUIRED_SCOPE, "verify")  # it authenticates by hand (no dependency to read)


#: The token route as a plain Starlette route, put before every other route: it is matched first
#: (each miss on the way cost ~2 us), and it skips FastAPI's per-request machinery (dependency
#: solving, its endpoint wrapper), a sixth of a token verification, for an endpoint that reads its
#: credentials and body by hand anyway. The APIRoute above documents it and is never reached.
HOT_ROUTE = Route("/api/v1/verify/token", verify_token, methods=["POST"])


def _handle(scanned: str) -> str:
    """The handle in what a scanner gives: the whole ``/p/{handle}`` URL, or the handle alone."""
    _, found, rest = scanned.strip().partition("/p/")
    return (rest if found else scanned.strip()).split("?", 1)[0].split("#", 1)[0]


@router.get("/p/{handle}", tags=["public"], response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {},
                                         "application/json": {"schema": ReportOut.model_json_schema()}},
                             "description": "the live presentation's page, or its REPORT with Accept: "
                                            "application/json"},
                       429: _PROBLEMS[429]})
async def presented(handle: Annotated[str, Path(max_length=200)], request: Request, state: StateDep,
                    lang: Annotated[Literal["zh", "en"], Query()] = "zh") -> Response:
    """What a phone camera opens when a holder shows the license (亮照): the license and who is showing
    it, live. The code works once: a second scan, or one after two minutes, says so."""
    wait = state.redeem_limit.take(request.client.host if request.client else "?")
    if wait is not None:
        raise RateLimited(wait)
    verify = state.presentations.verify
    report = await _run(state, lambda *, at: verify(handle, by="public", at=at))
    _counter("presentation_page", report.verdict.value).inc()
    if "application/json" in request.headers.get("accept", ""):
        return _json(report, headers={"Cache-Control": "no-store", "Vary": "Accept"})
    return HTMLResponse(state.page.render(report, lang), headers={**_PAGE_HEADERS, "Vary": "Accept"})


@hot_router.post("/api/v1/verify/presentation", tags=["verification"],
             responses={200: {"model": ReportOut}, **_PROBLEMS}, openapi_extra=json_body_spec(HandleIn))
async def verify_presentation(request: Request) -> Response:
    """Redeem a presented QR code (亮照): the REPORT of the entity's current license plus who presented it,
    in which role and with which scope. Redeemed once; the redemption is recorded (the holder sees it)."""
    principal = await _platform(request)  # by hand, as the token route: the same hot-path reasons
    state: VerifyState = request.app.state.verify
    wait = state.redeem_limit.take(principal.client_id)
    if wait is not None:
        raise RateLimited(wait)
    body = await json_body(request, HandleIn)
    verify = state.presentations.verify
    report = await _run(state, lambda *, at: verify(_handle(body.handle), by=f"client:{principal.client_id}", at=at))
    return _answer(state, principal, "presentation", report)


setattr(verify_presentation, REQUIRED_SCOPE, "verify")
#: like the token route, served by a plain Starlette route tried before the long list of pages
PRESENTATION_ROUTE = Route("/api/v1/verify/presentation", verify_presentation, methods=["POST"])


@router.get("/status/jwks.json", tags=["public"])
def status_jwks(runtime: RuntimeDep) -> dict[str, Any]:
    """The status lists' verification keys (ES256, a purpose of their own: no key signs two kinds)."""
    return runtime.keys.status_keyring().jwks()


@router.get("/status/{purpose}/{list_no}", tags=["public"], response_class=Response,
            responses={200: {"content": {"application/vc+jwt": {}},
                             "description": "the signed status list (W3C Bitstring Status List, as a JWS)"},
                       404: _PROBLEMS[422] | {"description": "no such list"}})
def status_list(purpose: Literal["revocation", "suspension"],
                list_no: Annotated[int, Path(ge=0, le=1_000_000)], runtime: RuntimeDep) -> Response:
    """A status list, for checking a token's status offline: its ``status.idx`` bit is set when the
    license is no longer in force (revocation) or suspended (suspension). Valid 7 days; re-signed on
    every lifecycle change."""
    row = runtime.registry.status_list(purpose, list_no)
    if row is None:
        raise NotFound("no status list with this number", code="status.unknown_list")
    return Response(row.token, media_type="application/vc+jwt",
                    headers={"Cache-Control": "public, max-age=300", "Last-Modified": format_datetime(
                        row.updated_at, usegmt=True)})


@router.post("/api/v1/verify/pdf", tags=["verification"], responses={200: {"model": ReportOut}, **_PROBLEMS})
def verify_pdf(state: StateDep, principal: Platform,
               file: Annotated[UploadFile, File(description="the license PDF")]) -> Response:
    """Verify a license PDF: pyHanko's checks (intact, valid, trusted, whole file, unmodified, timestamp),
    its embedded token, and agreement of token, PDF and registry."""
    data = file.file.read(state.max_pdf_bytes + 1)
    if len(data) > state.max_pdf_bytes:
        raise TooLarge(f"PDF uploads are limited to {state.max_pdf_bytes} bytes")
    if not data.startswith(b"%PDF-"):
        raise InvalidInput([FieldError("file", "pdf.not_pdf", "the file is not a PDF (no %PDF- header)")])
    return _answer(state, principal, "pdf", state.service.verify_pdf(data, at=now()))


@router.get("/api/v1/verify/entity/{uscc}", tags=["verification"], responses={200: {"model": ReportOut}, **_PROBLEMS})
async def verify_entity(uscc: UsccPath, state: StateDep, principal: Platform,
                        name: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Is this USCC a registered entity in good standing; does ``name`` match; which license is current."""
    return _answer(state, principal, "entity", await _run(state, state.service.verify_entity, uscc, name))
