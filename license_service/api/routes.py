"""v1 routes of the issuing service (DESIGN.md "The v1 contract"). Reads go through the registry
module; nothing here queries the database itself."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..access import Principal
from ..console.api import router as console_api_router
from ..errors import AuthError, GrantRefused, NotFound, RateLimited, TokenRequestRefused
from ..holders.api import router as holders_router
from ..intake import parse_registration
from ..oauth import TokenEndpoint, parse_token_request
from ..runtime.issuing import IssuingRuntime
from ..web import operations
from ..web.deps import UsccPath, now, require_scope
from .schemas import (
    AuditEntitiesOut,
    AuditEventsOut,
    AuditLicensesOut,
    EntityOut,
    IssuedOut,
    LicenseOut,
    Problem,
    RegistrationIn,
    StatusChangeOut,
    TokenOut,
    VerificationsOut,
)

__all__ = ["IssuingDep", "router"]

router = APIRouter()
#: License ids are GB/T 36904 identifiers: the pattern keeps anything else (NUL bytes, say, which
#: PostgreSQL refuses in text) away from the database with a 422.
_LICENSE_ID_PATTERN = r"^[0-9A-Za-z.]{1,96}$"
LicenseIdPath = Annotated[str, Path(pattern=_LICENSE_ID_PATTERN)]
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422)
}


async def _issuing(request: Request) -> IssuingRuntime:
    runtime: IssuingRuntime = request.app.state.issuing
    return runtime


IssuingDep = Annotated[IssuingRuntime, Depends(_issuing)]


@router.post("/trust/ocsp", tags=["keys"], response_class=Response,
             openapi_extra={"requestBody": {"required": True, "content": {"application/ocsp-request": {
                 "schema": {"type": "string", "format": "binary"}}}}},
             responses={200: {"content": {"application/ocsp-response": {}}, "description": "a DER OCSP response"},
                        404: _PROBLEMS[404]})
async def ocsp(request: Request, runtime: IssuingDep) -> Response:
    """The development PKI's OCSP responder (RFC 6960, HTTP POST): the status of a certificate its CAs
    issued, signed by the CA. With the authority's PKI its CA runs the responder, and this answers 404."""
    answer = runtime.ocsp.answer(await request.body(), at=now())
    if answer is None:
        raise NotFound("no OCSP responder here: the CA that issued the certificate runs it", code="keys.no_ocsp")
    return Response(answer, media_type="application/ocsp-response")


# -- OAuth -------------------------------------------------------------------------------------
class TokenErrorOut(BaseModel):
    """RFC 6749 s.5.2: the token endpoint's error response."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str


_TOKEN_FORM = {"type": "object", "required": ["grant_type"], "properties": {
    "grant_type": {"type": "string", "enum": ["client_credentials"]},
    "client_id": {"type": "string", "maxLength": 64, "description": "unless sent with HTTP Basic"},
    "client_secret": {"type": "string", "maxLength": 256, "description": "unless sent with HTTP Basic"},
    "scope": {"type": "string", "maxLength": 400, "description": "space-separated; default: all the client's"},
}}
#: RFC 6749 s.5.1 (and the same for errors): a token response is never cached
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: the longest a refusal for the source address's rate waits before it is answered (seconds)
_MAX_PAUSE = 1.0


def _token_endpoint(request: Request) -> TokenEndpoint:
    """The app's token endpoint (its rate limits live as long as the app: ``app.mount_issuing``)."""
    endpoint: TokenEndpoint = request.app.state.token_endpoint
    return endpoint


@router.post("/oauth/token", tags=["auth"], response_model=TokenOut,
             responses={413: _PROBLEMS[401], 429: _PROBLEMS[401], "default": {
                 "model": TokenErrorOut,
                 "description": "RFC 6749 s.5.2 error (application/json, not problem+json): 400 invalid_request, "
                                "unsupported_grant_type or invalid_scope; 401 invalid_client, with "
                                "WWW-Authenticate: Basic"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-www-form-urlencoded": {"schema": _TOKEN_FORM}}}})
async def token(request: Request) -> Response:
    """OAuth 2.0 client credentials grant (RFC 6749 s.4.4). The client authenticates with HTTP Basic
    (s.2.3.1: ``Authorization: Basic base64(urlencode(client_id):urlencode(client_secret))``) or with
    ``client_id`` and ``client_secret`` in the form. Rate-limited per source address, and failed
    authentications per client id (429 problem+json with Retry-After)."""
    endpoint = _token_endpoint(request)
    peer = request.scope.get("client")
    wait = endpoint.limit_address(peer[0] if peer else "")  # before a byte of the request is read
    if wait is not None:
        # the refusal waits (at most a second) for the address's next token: costs no CPU, and holds
        # a flood to a request per connection per pause instead of as many as our CPU can refuse
        await asyncio.sleep(min(wait, _MAX_PAUSE))
        raise RateLimited(wait)
    try:
        asked = parse_token_request(await request.body(), request.headers.get("content-type"),
                                    request.headers.get("authorization"))
        at = now()
        body = await run_in_threadpool(lambda: endpoint.grant(asked, at=at))
    except (AuthError, GrantRefused) as e:  # answered in RFC 6749 s.5.2's form by the error map
        raise TokenRequestRefused(e.detail, code=e.code) from None
    return JSONResponse(body, headers=_NO_STORE)


# -- registrations -----------------------------------------------------------------------------
@router.post(
    "/api/v1/registrations", tags=["registrations"], status_code=201,
    responses={200: {"model": IssuedOut | StatusChangeOut, "description": "replay, cancellation or revocation"},
               201: {"model": IssuedOut, "description": "a license was issued"}, **_PROBLEMS},
)
def register(
    body: RegistrationIn, runtime: IssuingDep,
    _: Annotated[Principal, Depends(require_scope("registrations:write"))],
) -> JSONResponse:
    """Apply an approved registration result (设立, 变更, 注销, 吊销, 补发). Idempotent by ``event_id``."""
    ev = parse_registration(body, runtime.settings.uscc_legacy_allowlist, at=now())
    runtime.issuance.check_renderable(ev)
    with operations.ISSUANCE_SECONDS.labels(ev.kind.value).time():
        outcome = runtime.issuance.apply(ev, at=now())
    if outcome.status == 201:
        operations.LICENSES_ISSUED.labels(ev.kind.value).inc()
    return JSONResponse(outcome.body, status_code=outcome.status)


# -- registry reads ----------------------------------------------------------------------------
@router.get("/api/v1/licenses/{license_id}", tags=["licenses"], response_model=LicenseOut, responses=_PROBLEMS)
def get_license(license_id: LicenseIdPath, runtime: IssuingDep,
                _: Annotated[Principal, Depends(require_scope("licenses:read"))]) -> dict[str, Any]:
    lic = runtime.registry.license(license_id)
    if lic is None:
        raise NotFound("no license with this id", code="license.unknown")
    return lic


@router.get("/api/v1/licenses/{license_id}/pdf", tags=["licenses"],
            responses={200: {"content": {"application/pdf": {}}}, **_PROBLEMS}, response_class=Response)
def get_license_pdf(license_id: LicenseIdPath, runtime: IssuingDep,
                    _: Annotated[Principal, Depends(require_scope("licenses:read"))],
                    form: Annotated[Literal["issued", "long-term"], Query(
                        description="issued: the license as sealed (PAdES B-T, one signature over the whole "
                                    "file); long-term: the same with its validation data and a document "
                                    "timestamp added (PAdES B-LTA), verifiable after the signer's certificate "
                                    "has expired")] = "issued") -> Response:
    """The license PDF, as issued or in its long-term (archival) form."""
    stored = runtime.registry.pdf(license_id)
    if stored is None:
        raise NotFound("no license with this id", code="license.unknown")
    filename = f"license-{stored.uscc}-v{stored.version}.pdf"
    if form == "issued":
        return Response(stored.pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{filename}"',
                                 "ETag": f'"{stored.sha256}"'})
    long_term = runtime.issuance.long_term(stored.pdf, at=now())  # a new document timestamp each time: no ETag
    return Response(long_term, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename.removesuffix(".pdf")}-lta.pdf"'})


@router.get("/api/v1/entities/{uscc}", tags=["licenses"], response_model=EntityOut, responses=_PROBLEMS)
def get_entity(uscc: UsccPath, runtime: IssuingDep,
               _: Annotated[Principal, Depends(require_scope("licenses:read"))]) -> dict[str, Any]:
    entity = runtime.registry.entity(uscc.value)
    if entity is None:
        raise NotFound("no entity is registered with this USCC", code="entity.unknown")
    return entity


@router.get("/api/v1/entities/{uscc}/verifications", tags=["licenses"], response_model=VerificationsOut,
            responses=_PROBLEMS)
def get_verifications(uscc: UsccPath, runtime: IssuingDep,
                      principal: Annotated[Principal, Depends(require_scope("licenses:read"))],
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Who checked this entity's license, and when (newest first). With scope ``audit`` every check;
    a platform sees only its own (which platforms look at an entity is the entity's business)."""
    by = None if "audit" in principal.scopes else principal.client_id
    return {"uscc": uscc.value, "verifications": runtime.registry.verifications(uscc.value, limit, by=by)}


@router.get("/api/v1/audit/licenses", tags=["audit"], response_model=AuditLicensesOut, responses=_PROBLEMS)
def audit_licenses(runtime: IssuingDep, _: Annotated[Principal, Depends(require_scope("audit"))],
                   after: Annotated[str | None, Query(pattern=_LICENSE_ID_PATTERN)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict[str, Any]:
    """Every license version as stored (canonical record, digests, both tokens, status with since when and
    why, leaf index), for reconciling the registry with the issuance log. Paged by ``license_id``
    (``next``)."""
    out = runtime.registry.audit_licenses(after, limit)
    return {"licenses": out, "next": out[-1]["license_id"] if len(out) == limit else None}


@router.get("/api/v1/audit/licenses/{license_id}/pdf", tags=["audit"],
            responses={200: {"content": {"application/pdf": {}}}, **_PROBLEMS}, response_class=Response)
def audit_license_pdf(license_id: LicenseIdPath, runtime: IssuingDep,
                      _: Annotated[Principal, Depends(require_scope("audit"))]) -> Response:
    """The license PDF's bytes as stored, for the auditor to hash against the log."""
    stored = runtime.registry.pdf(license_id)
    if stored is None:
        raise NotFound("no license with this id", code="license.unknown")
    return Response(stored.pdf, media_type="application/pdf")


@router.get("/api/v1/audit/entities", tags=["audit"], response_model=AuditEntitiesOut, responses=_PROBLEMS)
def audit_entities(runtime: IssuingDep, _: Annotated[Principal, Depends(require_scope("audit"))],
                   after: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{1,32}$")] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict[str, Any]:
    """Every market entity's row as stored, for reconciling with the issuance log. Paged by USCC
    (``next``)."""
    out = runtime.registry.audit_entities(after, limit)
    return {"entities": out, "next": out[-1]["uscc"] if len(out) == limit else None}


@router.get("/api/v1/audit/events", tags=["audit"], response_model=AuditEventsOut, responses=_PROBLEMS)
def audit_events(runtime: IssuingDep, _: Annotated[Principal, Depends(require_scope("audit"))],
                 after: Annotated[str | None, Query(pattern=r"^[^\x00]{1,128}$")] = None,  # PostgreSQL refuses NUL
                 limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict[str, Any]:
    """Every registration result accepted (kind, USCC, body digest, the answer stored for replays),
    for reconciling with the issuance log. Paged by ``event_id`` (``next``)."""
    out = runtime.registry.audit_events(after, limit)
    return {"events": out, "next": out[-1]["event_id"] if len(out) == limit else None}


router.include_router(holders_router)  # the holders' v1 routes are the issuing service's too
router.include_router(console_api_router)  # and the console's auditor summary
