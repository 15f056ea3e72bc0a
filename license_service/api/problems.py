"""The one place that turns errors into HTTP responses: RFC 9457 problem+json, always.

No stack trace, SQL or exception text from a library ever reaches a client; 5xx only for our own
faults (logged with a request id the client also sees).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from signing.errors import SigningPackageError

from ..domain.errors import DomainError, FieldError, InvalidInput
from ..domain.lifecycle import TransitionRefused
from ..errors import AuthError, RateLimited, ServiceError
from .observability import current_request_id

__all__ = ["install", "problem_response"]

log = logging.getLogger("elicense.api")
MEDIA_TYPE = "application/problem+json"


def problem_response(status: int, title: str, detail: str, code: str, request: Request | None = None, *,
                     errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail,
                            "code": code}
    if request is not None:
        body["instance"] = request.url.path
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _loc_to_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    # pydantic reports a union member's name in the location (e.g. 'constrained-str'); drop it
    parts = [p for p in parts if not p.endswith("-str") and p not in ("function-after", "decimal")]
    return ".".join(parts).replace("from_", "from") or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        seen = set()
        for e in exc.errors():
            field = _loc_to_field(tuple(e.get("loc", ())))
            rule = str(e.get("type", "invalid"))
            if (field, rule) in seen:
                continue
            seen.add((field, rule))
            errors.append({"field": field, "rule": rule, "detail": str(e.get("msg", "invalid"))})
        return problem_response(422, "Invalid input", f"{len(errors)} field(s) invalid: "
                                + ", ".join(sorted({e['field'] for e in errors})), "invalid_input", request,
                                errors=errors)

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        return problem_response(422, "Invalid input", exc.detail, exc.code, request,
                                errors=[e.as_dict() for e in exc.errors])

    @app.exception_handler(FieldError)
    async def _field(request: Request, exc: FieldError) -> JSONResponse:
        return problem_response(422, "Invalid input", f"{exc.field}: {exc.detail}", "invalid_input", request,
                                errors=[exc.as_dict()])

    @app.exception_handler(TransitionRefused)
    async def _refused(request: Request, exc: TransitionRefused) -> JSONResponse:
        return problem_response(409, "Conflict with the registry", exc.detail, exc.code, request)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        # RFC 6749 s.5.2: a bad grant or scope is 400; failed client or token authentication is 401
        status = 400 if exc.code in ("invalid_scope", "unsupported_grant_type", "invalid_request") else 401
        return problem_response(status, exc.title, exc.detail, exc.code, request,
                                headers={"WWW-Authenticate": 'Bearer realm="elicense"'} if status == 401 else None)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return problem_response(exc.status, exc.title, exc.detail, exc.code, request, headers=headers)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(422, "Invalid input", exc.detail, exc.code, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large", 415: "Unsupported media type"}
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), code,
                                request, headers=getattr(exc, "headers", None))

    @app.exception_handler(SigningPackageError)
    async def _signing(request: Request, exc: SigningPackageError) -> JSONResponse:
        # the keys, the TSA or the revocation data are out of reach: nothing was written; try again
        log.error("signing failed: %s (%s)", exc.detail, exc.code)
        return problem_response(503, "Signing unavailable", exc.detail, exc.code, request,
                                headers={"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        incident = current_request_id() or uuid.uuid4().hex
        log.exception("unhandled error, incident %s, %s %s", incident, request.method, request.url.path)
        return problem_response(500, "Internal error", f"an internal error occurred (incident {incident})",
                                "internal_error", request)
