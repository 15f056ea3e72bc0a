"""v1 routes of the issuing service (DESIGN.md "The v1 contract")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import select

from ..auth import Principal, issue_access_token
from ..db.models import ApiClient, LicenseDocument, LicenseVersion, MarketEntity, VerificationRecord
from ..errors import AuthError, NotFound
from ..intake import parse_registration
from ..views import entity_view, license_view
from . import operations
from .deps import ServicesDep, UsccPath, now, require_scope
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

__all__ = ["public_router", "router"]

#: Routes both services serve (no secrets, no writes).
public_router = APIRouter()
public_router.include_router(operations.router)
#: The issuing service's routes.
router = APIRouter()
#: License ids are GB/T 36904 identifiers: the pattern keeps anything else (NUL bytes, say, which
#: PostgreSQL refuses in text) away from the database with a 422.
_LICENSE_ID_PATTERN = r"^[0-9A-Za-z.]{1,96}$"
LicenseIdPath = Annotated[str, Path(pattern=_LICENSE_ID_PATTERN)]
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422)
}


# -- public ------------------------------------------------------------------------------------
@public_router.get("/healthz", tags=["operations"], response_class=PlainTextResponse)
async def healthz() -> str:
    return "ok"


@public_router.get("/.well-known/jwks.json", tags=["keys"])
def jwks(services: ServicesDep) -> dict[str, Any]:
    """The QR-token verification keys (ES256, ``kid`` = RFC 7638 thumbprint)."""
    return services.keys.token_keyring().jwks()


@public_router.get("/trust/roots.pem", tags=["keys"], response_class=Response,
                   responses={200: {"content": {"application/x-pem-file": {}}, "description": "PEM certificates"}})
def roots(services: ServicesDep) -> Response:
    """The root certificate(s) that license signatures chain to."""
    return Response(services.keys.roots_pem(), media_type="application/x-pem-file")


@public_router.get("/trust/crl/{ca}.crl", tags=["keys"], response_class=Response,
                   responses={200: {"content": {"application/pkix-crl": {}}, "description": "a DER CRL"},
                              404: _PROBLEMS[404]})
def crl(ca: Literal["root-ca", "issuing-ca"], services: ServicesDep) -> Response:
    """A CA's current certificate revocation list (RFC 5280), as the keys folder holds it: the
    revocation data a license's long-term form embeds."""
    der = services.keys.crl(ca)
    if der is None:
        raise NotFound("no CRL for this CA in the keys folder", code="keys.no_crl")
    return Response(der, media_type="application/pkix-crl",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.post("/trust/ocsp", tags=["keys"], response_class=Response,
             openapi_extra={"requestBody": {"required": True, "content": {"application/ocsp-request": {
                 "schema": {"type": "string", "format": "binary"}}}}},
             responses={200: {"content": {"application/ocsp-response": {}}, "description": "a DER OCSP response"},
                        404: _PROBLEMS[404]})
async def ocsp(request: Request, services: ServicesDep) -> Response:
    """The development PKI's OCSP responder (RFC 6960, HTTP POST): the status of a certificate its CAs
    issued, signed by the CA. With the authority's PKI its CA runs the responder, and this answers 404."""
    answer = services.keys.ocsp(await request.body())
    if answer is None:
        raise NotFound("no OCSP responder here: the CA that issued the certificate runs it", code="keys.no_ocsp")
    return Response(answer, media_type="application/ocsp-response")


# -- OAuth -------------------------------------------------------------------------------------
@router.post("/oauth/token", tags=["auth"], response_model=TokenOut,
             responses={400: _PROBLEMS[422], 401: _PROBLEMS[401]})
def token(
    services: ServicesDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str, Form(max_length=64)],
    client_secret: Annotated[str, Form(max_length=256)],
    scope: Annotated[str | None, Form(max_length=400)] = None,
) -> JSONResponse:
    """OAuth 2.0 client credentials grant (RFC 6749 s.4.4)."""
    if grant_type != "client_credentials":
        raise AuthError("only grant_type=client_credentials is supported", code="unsupported_grant_type")
    body = issue_access_token(services.sessions, services.keys.access_signing_key(), client_id, client_secret, scope,
                              issuer=services.settings.public_base_url,
                              ttl=services.settings.access_token_ttl_seconds, at=now())
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# -- registrations -----------------------------------------------------------------------------
@router.post(
    "/api/v1/registrations", tags=["registrations"], status_code=201,
    responses={200: {"model": IssuedOut | StatusChangeOut, "description": "replay, cancellation or revocation"},
               201: {"model": IssuedOut, "description": "a license was issued"}, **_PROBLEMS},
)
def register(
    body: RegistrationIn, services: ServicesDep,
    _: Annotated[Principal, Depends(require_scope("registrations:write"))],
) -> JSONResponse:
    """Apply an approved registration result (设立, 变更, 注销, 吊销, 补发). Idempotent by ``event_id``."""
    ev = parse_registration(body, services.settings.uscc_legacy_allowlist, at=now())
    services.issuance.check_renderable(ev)
    with operations.ISSUANCE_SECONDS.labels(ev.kind.value).time():
        outcome = services.issuance.apply(ev, at=now())
    if outcome.status == 201:
        operations.LICENSES_ISSUED.labels(ev.kind.value).inc()
    return JSONResponse(outcome.body, status_code=outcome.status)


# -- registry reads ----------------------------------------------------------------------------
@router.get("/api/v1/licenses/{license_id}", tags=["licenses"], response_model=LicenseOut, responses=_PROBLEMS)
def get_license(license_id: LicenseIdPath, services: ServicesDep,
                _: Annotated[Principal, Depends(require_scope("licenses:read"))]) -> dict[str, Any]:
    with services.sessions() as s:
        lic = s.get(LicenseVersion, license_id)
        if lic is None:
            raise NotFound("no license with this id", code="license.unknown")
        return license_view(lic, services.settings.public_base_url)


@router.get("/api/v1/licenses/{license_id}/pdf", tags=["licenses"],
            responses={200: {"content": {"application/pdf": {}}}, **_PROBLEMS}, response_class=Response)
def get_license_pdf(license_id: LicenseIdPath, services: ServicesDep,
                    _: Annotated[Principal, Depends(require_scope("licenses:read"))],
                    form: Annotated[Literal["issued", "long-term"], Query(
                        description="issued: the license as sealed (PAdES B-T, one signature over the whole "
                                    "file); long-term: the same with its validation data and a document "
                                    "timestamp added (PAdES B-LTA), verifiable after the signer's certificate "
                                    "has expired")] = "issued") -> Response:
    """The license PDF, as issued or in its long-term (archival) form."""
    with services.sessions() as s:
        doc = s.get(LicenseDocument, license_id)
        if doc is None:
            raise NotFound("no license with this id", code="license.unknown")
        lic = s.get(LicenseVersion, license_id)
        assert lic is not None
        pdf = doc.pdf
    filename = f"license-{lic.uscc}-v{lic.version}.pdf"
    if form == "issued":
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{filename}"',
                                 "ETag": f'"{lic.pdf_sha256}"'})
    long_term = services.issuance.long_term(pdf)  # a new document timestamp each time: no ETag
    return Response(long_term, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename.removesuffix(".pdf")}-lta.pdf"'})


@router.get("/api/v1/entities/{uscc}", tags=["licenses"], response_model=EntityOut, responses=_PROBLEMS)
def get_entity(uscc: UsccPath, services: ServicesDep,
               _: Annotated[Principal, Depends(require_scope("licenses:read"))]) -> dict[str, Any]:
    with services.sessions() as s:
        entity = s.execute(select(MarketEntity).where(MarketEntity.uscc == uscc.value)).scalar_one_or_none()
        if entity is None:
            raise NotFound("no entity is registered with this USCC", code="entity.unknown")
        return entity_view(entity, services.settings.public_base_url)


@router.get("/api/v1/entities/{uscc}/verifications", tags=["licenses"], response_model=VerificationsOut,
            responses=_PROBLEMS)
def get_verifications(uscc: UsccPath, services: ServicesDep,
                      _: Annotated[Principal, Depends(require_scope("licenses:read"))],
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Who checked this entity's license, and when (newest first): the holder's view."""
    code = uscc.value
    with services.sessions() as s:
        rows = s.execute(select(VerificationRecord).where(VerificationRecord.subject_uscc == code)
                         .order_by(VerificationRecord.id.desc()).limit(limit)).scalars().all()
        clients = {c.client_id: c.name for c in s.execute(
            select(ApiClient).where(ApiClient.client_id.in_({r.client_id for r in rows}))).scalars()}
        return {"uscc": code, "verifications": [
            {"client_id": r.client_id, "client_name": clients.get(r.client_id), "checked_at": r.checked_at.isoformat(),
             "channel": r.channel, "license_id": r.license_id, "verdict": r.verdict} for r in rows]}


@router.get("/api/v1/audit/licenses", tags=["audit"], response_model=AuditLicensesOut, responses=_PROBLEMS)
def audit_licenses(services: ServicesDep, _: Annotated[Principal, Depends(require_scope("audit"))],
                   after: Annotated[str | None, Query(pattern=_LICENSE_ID_PATTERN)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict[str, Any]:
    """Every license version with its canonical record, digests, status and leaf index, for
    reconciling the registry with the issuance log. Paged by ``license_id`` (``next``)."""
    with services.sessions() as s:
        q = select(LicenseVersion).order_by(LicenseVersion.license_id).limit(limit)
        if after is not None:
            q = q.where(LicenseVersion.license_id > after)
        rows = s.execute(q).scalars().all()
        out = [{"license_id": r.license_id, "uscc": r.uscc, "version": r.version, "status": r.status,
                "record": r.record, "record_digest": r.record_digest, "pdf_sha256": r.pdf_sha256,
                "leaf_index": r.leaf_index, "superseded_by": r.superseded_by} for r in rows]
    return {"licenses": out, "next": out[-1]["license_id"] if len(out) == limit else None}
