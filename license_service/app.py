"""The issuing service's ASGI app: ``create_app(settings)``; and the base every elicense app shares
(metadata, the one error mapping, body-size limits)."""

from __future__ import annotations

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

    @app.middleware("http")
    async def _body_limit(request: Request, call_next: RequestResponseEndpoint) -> Response:
        limit = settings.max_pdf_bytes if request.url.path == PDF_UPLOAD_PATH else settings.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return problems.problem_response(
                413, "Content too large", f"request bodies here are limited to {limit} bytes", "too_large", request)
        return await call_next(request)

    return app


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The issuing service. ``services`` may be passed in (tests share one graph)."""
    settings = settings or Settings()
    app = base_app(settings)
    app.state.services = services or Services.build(settings)
    app.include_router(public_router)
    app.include_router(router)
    return app
