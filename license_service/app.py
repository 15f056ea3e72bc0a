"""The issuing service's ASGI app: ``create_app(settings)``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import Response

from .api import problems
from .api.routes import router
from .config import Settings
from .services import Services

__all__ = ["create_app", "served_openapi"]


def _bare_app() -> FastAPI:
    """Routes, metadata and error mapping, without services: what the OpenAPI document describes."""
    app = FastAPI(
        title="elicense",
        version="1.0.0",
        summary="Issue and verify electronic business licenses (电子营业执照).",
        description="The v1 contract of DESIGN.md. Errors are RFC 9457 problem+json.",
    )
    problems.install(app)
    app.include_router(router)
    return app


def served_openapi() -> dict[str, Any]:
    """The OpenAPI document the app serves (built without a database or keys)."""
    return _bare_app().openapi()


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app. ``services`` may be passed in (tests share one graph); otherwise built here."""
    settings = settings or Settings()
    app = _bare_app()
    app.state.services = services or Services.build(settings)

    limit = settings.max_body_bytes

    @app.middleware("http")
    async def _body_limit(request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            resp: JSONResponse = problems.problem_response(
                413, "Content too large", f"request bodies are limited to {limit} bytes", "too_large", request)
            return resp
        return await call_next(request)

    return app
