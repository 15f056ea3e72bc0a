"""The issuing service's ASGI app: ``create_app(settings)``; and the base every elicense app shares
(metadata, the one error mapping, body-size limits)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import Response

from .api import problems
from .api.routes import public_router, router
from .config import Settings
from .services import Services

__all__ = ["PDF_UPLOAD_PATH", "base_app", "create_app"]

#: The one route that takes large bodies (a PDF to verify); it has its own limit.
PDF_UPLOAD_PATH = "/api/v1/verify/pdf"


def base_app(settings: Settings) -> FastAPI:
    """A FastAPI app with elicense's metadata, problem+json error mapping and body-size limits."""
    app = FastAPI(
        title="elicense",
        version="1.0.0",
        summary="Issue and verify electronic business licenses (电子营业执照).",
        description="The v1 contract of DESIGN.md. Errors are RFC 9457 problem+json.",
    )
    problems.install(app)
    _document_problems(app)

    @app.middleware("http")
    async def _body_limit(request: Request, call_next: RequestResponseEndpoint) -> Response:
        limit = settings.max_pdf_bytes if request.url.path == PDF_UPLOAD_PATH else settings.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return problems.problem_response(
                413, "Content too large", f"request bodies here are limited to {limit} bytes", "too_large", request)
        return await call_next(request)

    return app


def _document_problems(app: FastAPI) -> None:
    """Every error response is problem+json (api/problems.py); say so in the OpenAPI document, for
    FastAPI's implicit 422s too, in place of its HTTPValidationError schema."""
    from fastapi.openapi.utils import get_openapi

    from .api.schemas import Problem

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
            schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schemas["Problem"].pop("$defs", {}).items():
                schemas[name] = sub
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The issuing service. ``services`` may be passed in (tests share one graph)."""
    settings = settings or Settings()
    app = base_app(settings)
    app.state.services = services or Services.build(settings)
    app.include_router(public_router)
    app.include_router(router)
    return app
