"""The development composition root: the issuing service and verification in one process
(``elicense serve --app all``). Nothing imports it (a structure test checks); uvicorn names it by
string. In production the two run as separate processes (``--app issuing`` and ``--app verify``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from license_service.api.routes import router as issuing_router
from license_service.app import mount_issuing
from license_service.config import Settings
from license_service.runtime.issuing import IssuingRuntime
from license_service.web.app import base_app
from verify_app.app import ROUTERS, mount_verification

__all__ = ["create_app", "served_openapi"]


def create_app(settings: Settings | None = None, runtime: IssuingRuntime | None = None) -> FastAPI:
    """Both services in one app over one runtime: verification's routes first (the hot path), then
    the issuing routes."""
    settings = settings or Settings()
    runtime = runtime or IssuingRuntime.build(settings)
    app = base_app(settings)
    mount_verification(app, runtime, settings)
    mount_issuing(app, runtime)
    return app


def served_openapi() -> dict[str, Any]:
    """The combined app's OpenAPI document, built without a database or keys: ``openapi.yaml``."""
    app = base_app(Settings())
    for r in (*ROUTERS, issuing_router):
        app.include_router(r)
    return app.openapi()
