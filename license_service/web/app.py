"""The base every elicense app shares: metadata, the one error mapping, the request guard (head and
body limits, authentication before any body is read), request ids."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from ..config import Settings
from . import problems
from .deps import REQUIRED_SCOPE
from .guard import RequestGuard
from .observability import RequestIdMiddleware

__all__ = ["DOCS_ASSETS", "base_app"]

#: where the API docs' scripts and styles are served from (development only)
DOCS_ASSETS = "/docs-assets"


def base_app(settings: Settings) -> FastAPI:
    """A FastAPI app with elicense's metadata, problem+json error mapping and request guard
    (:mod:`.guard`). In production it serves no API documentation (``/docs``, ``/redoc``,
    ``/openapi.json``): ``openapi.yaml`` is the published contract.
    ``app.state.startup_hooks`` / ``shutdown_hooks`` run (in a thread) when the app starts and stops."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        for hook in app.state.startup_hooks:  # e.g. the issuing side's warm-up
            await anyio.to_thread.run_sync(hook)
        # what is loaded by now (modules, keys, fonts, templates) lives as long as the process: keep
        # it out of the garbage collector's sweeps, which otherwise rescan it in every full collection
        gc.collect()
        gc.freeze()
        yield
        for hook in app.state.shutdown_hooks:  # e.g. the verification recorder's last flush
            hook()

    meta: dict[str, Any] = {
        "lifespan": lifespan, "title": "elicense", "version": "1.0.0",
        "summary": "Issue and verify electronic business licenses (电子营业执照).",
        "description": "The v1 contract of DESIGN.md. Errors are RFC 9457 problem+json."}
    if settings.is_dev:  # /docs and /redoc with their scripts served from here: no CDN (offline, mainland China)
        app = FastAPIOffline(**meta, static_url=DOCS_ASSETS)
    else:  # production serves no /docs, /redoc or /openapi.json: openapi.yaml is the contract
        app = FastAPI(**meta, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    app.state.templates_dir = settings.templates_dir  # error pages for browsers (web/problems.py)
    problems.install(app)
    _document_problems(app)

    app.add_middleware(RequestGuard, settings=settings)
    app.add_middleware(RequestIdMiddleware)  # outermost: even a 401, 413 or 431 carries its request id

    return app


_SCOPE_DOCS = {"registrations:write": "apply registration results (the registration system)",
               "licenses:read": "read licenses and entities, and the checks a client made itself",
               "verify": "verify tokens, PDFs and entities (platforms)",
               "audit": "the auditor's registry reads, every verification record, the auditor's page",
               "holders:invite": "invite an entity's legal representative to hold its license (the window, "
                                 "after checking their identity in person)"}


def _required_scope(route: APIRoute) -> str | None:
    """The scope an operation requires: named on its endpoint or on one of its dependencies."""
    found: str | None = getattr(route.endpoint, REQUIRED_SCOPE, None)
    pending = list(route.dependant.dependencies)
    while found is None and pending:
        dep = pending.pop()
        found = getattr(dep.call, REQUIRED_SCOPE, None)
        pending.extend(dep.dependencies)
    return found


def _document_security(app: FastAPI, doc: dict[str, Any]) -> None:
    """OAuth 2.0 client credentials (RFC 6749 s.4.4) as the security scheme, and on each operation that
    needs a bearer token the scope it needs (how a platform obtains a client: the README)."""
    doc["components"]["securitySchemes"] = {"oauth2": {
        "type": "oauth2", "description": "client credentials; the token endpoint also takes HTTP Basic",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": _SCOPE_DOCS}}}}
    scopes = {route.unique_id: scope for route in _api_routes(app.routes)
              if (scope := _required_scope(route)) is not None}
    for ops in doc["paths"].values():
        for op in ops.values():
            if op.get("operationId") in scopes:
                op["security"] = [{"oauth2": [scopes[op["operationId"]]]}]


def _api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, through included routers (this FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(included.routes)


def _document_problems(app: FastAPI) -> None:
    """Every error response is problem+json (web/problems.py); say so in the OpenAPI document, for
    FastAPI's implicit 422s too, in place of its HTTPValidationError schema."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, summary=app.summary,
                              description=app.description, routes=app.routes)
            problem_ref = {"$ref": "#/components/schemas/Problem"}
            for ops in doc.get("paths", {}).values():
                for op in ops.values():
                    for code, resp in op.get("responses", {}).items():
                        if code.isdigit() and int(code) >= 400:
                            resp["content"] = {"application/problem+json": {"schema": problem_ref}}
                            if resp.get("description") in ("Validation Error", "Successful Response"):
                                resp["description"] = "Problem details (RFC 9457)"
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            schemas["Problem"] = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schemas["Problem"].pop("$defs", {}).items():
                schemas[name] = sub
            _document_security(app, doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
