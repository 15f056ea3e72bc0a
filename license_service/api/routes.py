"""v1 routes of the issuing service (DESIGN.md "The v1 contract"). Reads go through the registry
module; nothing here queries the database itself."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from ..access import Principal
from ..errors import GrantRefused, NotFound
from ..intake import parse_registration
from ..oauth import issue_access_token
from ..runtime.issuing import IssuingRuntime
from ..web import operations
from ..web.deps import UsccPath, now, require_scope
from .schemas import (
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
@router.post("/oauth/token", tags=["auth"], response_model=TokenOut,
             responses={400: _PROBLEMS[422], 401: _PROBLEMS[401]})
def token(
    runtime: IssuingDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str, Form(max_length=64)],
    client_secret: Annotated[str, Form(max_length=256)],
    scope: Annotated[str | None, Form(max_length=400)] = None,
) -> JSONResponse:
    """OAuth 2.0 client credentials grant (RFC 6749 s.4.4)."""
    if grant_type != "client_credentials":
        raise GrantRefused("only grant_type=client_credentials is supported", code="unsupported_grant_type")
    body = issue_access_token(runtime.sessions, runtime.signers.access_signer(), client_id, client_secret, scope,
                              issuer=runtime.settings.public_base_url,
                              ttl=runtime.settings.access_token_ttl_seconds, at=now())
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


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
                      _: Annotated[Principal, Depends(require_scope("licenses:read"))],
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Who checked this entity's license, and when (newest first): the holder's view."""
    return {"uscc": uscc.value, "verifications": runtime.registry.verifications(uscc.value, limit)}


@router.get("/api/v1/audit/licenses", tags=["audit"], response_model=AuditLicensesOut, responses=_PROBLEMS)
def audit_licenses(runtime: IssuingDep, _: Annotated[Principal, Depends(require_scope("audit"))],
                   after: Annotated[str | None, Query(pattern=_LICENSE_ID_PATTERN)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict[str, Any]:
    """Every license version with its canonical record, digests, status and leaf index, for
    reconciling the registry with the issuance log. Paged by ``license_id`` (``next``)."""
    out = runtime.registry.audit_licenses(after, limit)
    return {"licenses": out, "next": out[-1]["license_id"] if len(out) == limit else None}
