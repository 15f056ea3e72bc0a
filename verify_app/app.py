"""The verification service's ASGI apps.

``create_app`` serves verification alone (public page, platform API, public keys) with no private
key loaded; ``create_combined_app`` serves it beside the issuing service (development, one process).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from license_service import app as issuing
from license_service.api.routes import public_router
from license_service.api.routes import router as issuing_router
from license_service.config import Settings
from license_service.services import Services

from .audit_page import router as audit_router
from .log_routes import router as log_router
from .page import PageRenderer
from .ratelimit import TokenBucket
from .recorder import VerificationRecorder
from .routes import VerifyState, hot_router, router
from .service import VerificationService

__all__ = ["create_app", "create_combined_app", "served_openapi"]


# Starlette tries routes in order: verification, the hot path, goes before the issuing routes
_VERIFY_ROUTERS = (hot_router, public_router, router, log_router, audit_router)
_COMBINED_ROUTERS = (*_VERIFY_ROUTERS, issuing_router)


def _build(settings: Settings, services: Services, routers: tuple[APIRouter, ...]) -> FastAPI:
    s = settings
    app = issuing.base_app(settings)
    app.state.services = services
    recorder = VerificationRecorder(services.write_sessions, s.verification_record_interval_ms / 1000)
    app.state.shutdown_hooks.append(recorder.close)  # a graceful stop writes every queued record
    app.state.verify = VerifyState(
        VerificationService(services.engine, services.sessions, services.keys, s.public_base_url, recorder,
                            services.log),
        PageRenderer(s.templates_dir),
        TokenBucket(s.rate_api_per_second, s.rate_api_burst),
        TokenBucket(s.rate_page_per_second, s.rate_page_burst),
        s.max_pdf_bytes,
        inline=services.engine.dialect.name == "sqlite",
    )
    for r in routers:
        app.include_router(r)
    return app


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Verification alone: reads the registry (never migrates it) and public keys only."""
    settings = settings or Settings()
    return _build(settings, services or Services.build(settings, may_migrate=False), _VERIFY_ROUTERS)


def create_combined_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The issuing service and verification in one app (``elicense serve --app all``)."""
    settings = settings or Settings()
    app = _build(settings, services or Services.build(settings), _COMBINED_ROUTERS)
    app.state.startup_hooks.append(lambda: app.state.services.issuance.warm_up())  # ready means ready
    return app


def served_openapi() -> dict[str, Any]:
    """The combined app's OpenAPI document (built without a database or keys): openapi.yaml."""
    app = issuing.base_app(Settings())
    for r in _COMBINED_ROUTERS:
        app.include_router(r)
    return app.openapi()
