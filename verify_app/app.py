"""The verification service's ASGI apps.

``create_app`` serves verification alone (public page, platform API, public keys) with no private
key loaded; ``create_combined_app`` serves it beside the issuing service (development, one process).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

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
from .routes import VerifyState, router
from .service import VerificationService

__all__ = ["create_app", "create_combined_app", "served_openapi"]


def _attach(app: FastAPI, settings: Settings, services: Services) -> FastAPI:
    s = settings
    recorder = VerificationRecorder(services.write_sessions, s.verification_record_interval_ms / 1000)
    app.state.shutdown_hooks.append(recorder.close)  # a graceful stop writes every queued record
    app.state.verify = VerifyState(
        VerificationService(services.sessions, services.keys, s.public_base_url, recorder, services.log),
        PageRenderer(s.templates_dir),
        TokenBucket(s.rate_api_per_second, s.rate_api_burst),
        TokenBucket(s.rate_page_per_second, s.rate_page_burst),
        s.max_pdf_bytes,
    )
    app.include_router(router)
    app.include_router(log_router)
    app.include_router(audit_router)
    return app


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Verification alone: reads the registry (never migrates it) and public keys only."""
    settings = settings or Settings()
    services = services or Services.build(settings, may_migrate=False)
    app = issuing.base_app(settings)
    app.state.services = services
    app.include_router(public_router)
    return _attach(app, settings, services)


def create_combined_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The issuing service and verification in one app (``elicense serve --app all``)."""
    settings = settings or Settings()
    services = services or Services.build(settings)
    return _attach(issuing.create_app(settings, services), settings, services)


def served_openapi() -> dict[str, Any]:
    """The combined app's OpenAPI document (built without a database or keys): openapi.yaml."""
    app = issuing.base_app(Settings())
    for r in (public_router, issuing_router, router, log_router, audit_router):
        app.include_router(r)
    return app.openapi()
