"""The verification service's ASGI app, built from the read-only runtime and public keys alone: the
public page, the platform verification API, the public keys, status lists and the log's read API.
It holds no private key and its import closure holds nothing that can sign (a structure test checks)."""

from __future__ import annotations

from fastapi import FastAPI

from license_service.config import Settings
from license_service.runtime.read import ReadRuntime
from license_service.web.app import base_app
from license_service.web.operations import router as operations_router
from license_service.web.ratelimit import TokenBucket
from license_service.web.trust import router as trust_router

from .audit_page import router as audit_router
from .log_routes import router as log_router
from .page import PageRenderer
from .presentation import PresentationVerifier
from .recorder import VerificationRecorder
from .routes import HOT_ROUTE, PRESENTATION_ROUTE, VerifyState, hot_router, router
from .service import VerificationService

__all__ = ["ROUTERS", "create_app", "mount_verification"]

#: in the order Starlette tries them: the hot path first, then operations and trust material, then the rest
ROUTERS = (hot_router, operations_router, trust_router, router, log_router, audit_router)


def mount_verification(app: FastAPI, runtime: ReadRuntime, settings: Settings | None = None) -> None:
    """Serve verification on ``app`` (a ``base_app``) over ``runtime``, with the limits of ``settings``
    (default: the runtime's)."""
    s = settings or runtime.settings
    app.state.runtime = runtime
    inline = runtime.engine.dialect.name == "sqlite"
    recorder = VerificationRecorder(runtime.write_sessions, s.verification_record_interval_ms / 1000,
                                    serialize_writes=inline)
    app.state.shutdown_hooks.append(recorder.close)  # a graceful stop writes every queued record
    service = VerificationService(runtime.engine, runtime.sessions, runtime.keys, s.public_base_url, recorder,
                                  runtime.log, runtime.witness_policy, s.witness_grace_seconds)
    app.state.verify = VerifyState(
        service,
        PageRenderer(s.templates_dir),
        TokenBucket(s.rate_api_per_second, s.rate_api_burst),
        TokenBucket(s.rate_page_per_second, s.rate_page_burst),
        s.max_pdf_bytes,
        inline=inline,
        presentations=PresentationVerifier(service, runtime.write_sessions, recorder.write_lock,
                                           keep_connection=inline),
        redeem_limit=TokenBucket(s.rate_redeem_per_second, s.rate_redeem_burst),
    )
    app.router.routes += [HOT_ROUTE, PRESENTATION_ROUTE]  # first: they serve what hot_router documents
    for r in ROUTERS:
        app.include_router(r)


def create_app(settings: Settings | None = None, runtime: ReadRuntime | None = None) -> FastAPI:
    """Verification alone: reads the registry (never migrates it) with public keys only."""
    settings = settings or Settings()
    app = base_app(settings)
    mount_verification(app, runtime or ReadRuntime.build(settings), settings)
    return app
