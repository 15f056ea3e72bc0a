"""The one place that turns errors into HTTP responses: RFC 9457 problem+json, always.

HTTP statuses are decided here and nowhere else (:data:`_STATUS`, by error class): refusals by the
registry's rules, bad input, access refusals and our own faults are separate roots. No stack trace,
SQL or exception text from a library ever reaches a client; 5xx only for our own faults (logged with
a request id the client also sees).
"""

from __future__ import annotations

import logging
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
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
    HeadTooLarge,
    NotFound,
    RateLimited,
    TokenRequestRefused,
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
    (HeadTooLarge, 431, "Request header fields too large"),
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
                     errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> Response:
    """The problem+json response; for a browser (``Accept`` names text/html), a page in its words."""
    if request is not None and "text/html" in request.headers.get("accept", ""):
        return _page(status, code, request, headers)
    body: dict[str, Any] = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail,
                            "code": code}
    if request is not None:
        body["instance"] = request.url.path
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _token_error(exc: TokenRequestRefused) -> JSONResponse:
    """RFC 6749 s.5.2: ``{"error", "error_description"}`` as application/json, 400; ``invalid_client``
    401 with ``WWW-Authenticate: Basic`` (s.5.2 lets any invalid_client be 401, and requires it when
    the client used HTTP Basic), so a client learns which scheme to use. Never cached."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if exc.code == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="elicense", charset="UTF-8"'
    return JSONResponse({"error": exc.code, "error_description": exc.detail},
                        status_code=401 if exc.code == "invalid_client" else 400, headers=headers)


def response_for(exc: Exception, request: Request | None = None) -> Response:
    """The problem+json response for one of our errors (any root); anything else is a 500. The one
    exception to problem+json: the token endpoint's refusals, in RFC 6749 s.5.2's form."""
    if isinstance(exc, TokenRequestRefused):
        return _token_error(exc)
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


#: what a person reads for each status: (headline, explanation), in Chinese and in English
_PAGE_TEXT: dict[str, dict[int, tuple[str, str]]] = {
    "zh": {400: ("请求有误", "请求的格式不正确。"), 401: ("需要凭证", "该地址需要有效的访问凭证。"),
           403: ("无权访问", "所持凭证无权进行此操作。"), 404: ("未找到", "没有这个页面。请核对扫描或输入的地址。"),
           405: ("不支持的请求方式", "该地址不支持此请求方式。"),
           409: ("与登记状态冲突", "登记簿的当前状态不允许此操作。"),
           413: ("内容过大", "提交的内容超过了允许的大小。"), 422: ("提交的内容有误", "提交的内容不符合要求。"),
           429: ("请求过于频繁", "请在 {retry} 秒后重试。"), 431: ("请求头过大", "请求头超过了允许的大小。"),
           500: ("服务器内部错误", "服务暂时出错，请稍后再试。"),
           503: ("服务暂不可用", "服务暂时不可用，请稍后再试。")},
    "en": {400: ("Bad request", "The request is not well formed."),
           401: ("Credentials needed", "This address needs a valid access credential."),
           403: ("Not allowed", "The credential does not allow this."),
           404: ("Not found", "There is no such page. Check the address you scanned or typed."),
           405: ("Method not allowed", "This address does not take this kind of request."),
           409: ("Conflicts with the registry", "The registry's current state does not allow this."),
           413: ("Too large", "What was sent is larger than allowed."),
           422: ("Invalid input", "What was sent does not meet the rules."),
           429: ("Too many requests", "Please try again in {retry} s."),
           431: ("Headers too large", "The request headers are larger than allowed."),
           500: ("Internal error", "Something went wrong on our side; please try again later."),
           503: ("Unavailable", "The service is unavailable for now; please try again later.")},
}
_SITE = {"zh": ("电子营业执照", "en", "en", "English"), "en": ("Electronic business licenses", "zh", "zh-CN", "中文")}
_PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                                            "form-action 'none'; frame-ancestors 'none'"}


@cache
def _pages(templates_dir: Path) -> Environment:
    return Environment(loader=FileSystemLoader(templates_dir / "errors"), autoescape=select_autoescape(["html"]))


def _page(status: int, code: str, request: Request, headers: dict[str, str] | None) -> HTMLResponse:
    """An error as a page for people: Chinese unless ``?lang=en``, the status and code for support."""
    lang = "en" if request.query_params.get("lang") == "en" else "zh"
    headline, explain = _PAGE_TEXT[lang].get(status, _PAGE_TEXT[lang][400 if status < 500 else 500])
    site, other_lang, other_html_lang, switch = _SITE[lang]
    templates_dir = getattr(request.app.state, "templates_dir", None) or Path(__file__).parents[2] / "templates"
    html = _pages(templates_dir).get_template("problem.html").render(
        html_lang="zh-CN" if lang == "zh" else "en", site=site, other_lang=other_lang,
        other_html_lang=other_html_lang, switch=switch, headline=headline, status=status, code=code,
        explain=explain.format(retry=(headers or {}).get("Retry-After", "?")))
    return HTMLResponse(html, status_code=status, headers={**_PAGE_HEADERS, **(headers or {}), "Vary": "Accept"})


def _field_of(loc: tuple[Any, ...]) -> str:
    """The field a validation error names: its location less where it came from (the first element:
    body, query, path, header...; a parameter may itself be called ``form``)."""
    where = ("body", "query", "path", "form", "header", "cookie")
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in where else loc)]
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

    async def ours(request: Request, exc: Exception) -> Response:
        return response_for(exc, request)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return response_for(_request_validation(exc), request)

    async def http(request: Request, exc: Exception) -> Response:
        """The framework's own (an unknown path, a wrong method)."""
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        return problem_response(status, _HTTP_TITLES.get(status, "Error"), str(exc.detail),
                                _HTTP_CODES.get(status, "http_error"), request, headers=getattr(exc, "headers", None))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    for root in (InputError, DomainError, AccessError, Fault, SigningPackageError, Exception):
        app.add_exception_handler(root, ours)
