"""The one place that turns errors into HTTP responses: RFC 9457 problem+json, always.

HTTP statuses are decided here and nowhere else (:data:`_STATUS`, by error class): refusals by the
registry's rules, bad input, access refusals and our own faults are separate roots. No stack trace,
SQL or exception text from a library ever reaches a client; 5xx only for our own faults (logged with
a request id the client also sees).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from signing.errors import SigningPackageError

from ..domain.errors import DomainError, FieldError, InputError, InvalidInput
from ..domain.lifecycle import TransitionRefused
from ..errors import (
    AccessError,
    AuthError,
    Conflict,
    Fault,
    Forbidden,
    GrantRefused,
    NotFound,
    RateLimited,
    TooLarge,
    Unavailable,
)
from .observability import current_request_id

__all__ = ["MEDIA_TYPE", "FieldProblem", "Problem", "install", "problem_response", "response_for"]

log = logging.getLogger("elicense.api")
MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    rule: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details; ``code`` is stable, ``errors`` lists each field and rule broken."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None


#: error class -> (HTTP status, title); the first class an error is an instance of decides
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (TooLarge, 413, "Content too large"),
    (InputError, 422, "Invalid input"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (TransitionRefused, 409, "Conflict with the registry"),
    (DomainError, 422, "Refused by the registry's rules"),
    (GrantRefused, 400, "Bad request"),  # RFC 6749 s.5.2: a refused grant or scope is 400
    (AuthError, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (RateLimited, 429, "Too many requests"),
    (AccessError, 403, "Forbidden"),
    (Unavailable, 503, "Service unavailable"),
    (SigningPackageError, 503, "Signing unavailable"),  # keys, TSA or revocation data out of reach
    (Fault, 500, "Internal error"),
)
_HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 413: "Content too large", 415: "Unsupported media type"}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def problem_response(status: int, title: str, detail: str, code: str, request: Request | None = None, *,
                     errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail,
                            "code": code}
    if request is not None:
        body["instance"] = request.url.path
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def response_for(exc: Exception, request: Request | None = None) -> JSONResponse:
    """The problem+json response for one of our errors (any root); anything else is a 500."""
    status, title = next(((s, t) for cls, s, t in _STATUS if isinstance(exc, cls)), (500, "Internal error"))
    if status == 500 or not hasattr(exc, "code"):
        incident = current_request_id() or uuid.uuid4().hex
        log.error("internal error, incident %s: %r", incident, exc, exc_info=exc)
        return problem_response(500, "Internal error", f"an internal error occurred (incident {incident})",
                                "internal_error", request)
    code: str = exc.code
    detail: str = getattr(exc, "detail", str(exc))
    headers: dict[str, str] | None = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="elicense"'}
    elif status == 429:
        headers = {"Retry-After": str(getattr(exc, "retry_after", 1))}
    elif status == 503:
        log.error("unavailable: %s (%s)", detail, code)
        headers = {"Retry-After": "30"}
    errors = None
    if isinstance(exc, InvalidInput):
        errors = [e.as_dict() for e in exc.errors]
    elif isinstance(exc, FieldError):
        errors, detail, code = [exc.as_dict()], f"{exc.field}: {exc.detail}", "invalid_input"
    return problem_response(status, title, detail, code, request, errors=errors, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    # pydantic reports a union member's name in the location (e.g. 'constrained-str'); drop it
    parts = [p for p in parts if not p.endswith("-str") and p not in ("function-after", "decimal")]
    return ".".join(parts).replace("from_", "from") or "body"


def _request_validation(exc: RequestValidationError) -> InvalidInput:
    """FastAPI's own validation errors as ours: one FieldError per (field, rule)."""
    errors: dict[tuple[str, str], FieldError] = {}
    for e in exc.errors():
        field, rule = _field_of(tuple(e.get("loc", ()))), str(e.get("type", "invalid"))
        errors.setdefault((field, rule), FieldError(field, rule, str(e.get("msg", "invalid"))))
    invalid = InvalidInput(list(errors.values()))
    invalid.detail = f"{len(errors)} field(s) invalid: " + ", ".join(sorted({f for f, _ in errors}))
    return invalid


def install(app: FastAPI) -> None:
    """Register the handlers: every error becomes problem+json through :func:`response_for`."""

    async def ours(request: Request, exc: Exception) -> JSONResponse:
        return response_for(exc, request)

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return response_for(_request_validation(exc), request)

    async def http(request: Request, exc: Exception) -> JSONResponse:
        """The framework's own (an unknown path, a wrong method)."""
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        return problem_response(status, _HTTP_TITLES.get(status, "Error"), str(exc.detail),
                                _HTTP_CODES.get(status, "http_error"), request, headers=getattr(exc, "headers", None))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    for root in (InputError, DomainError, AccessError, Fault, SigningPackageError, Exception):
        app.add_exception_handler(root, ours)
