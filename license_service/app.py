"""The issuing service's ASGI app: ``create_app(settings)``."""

from __future__ import annotations

from fastapi import FastAPI

from .api.routes import router
from .config import Settings
from .console.web import ConsolePages
from .console.web import router as console_router
from .holders.web import HolderPages
from .holders.web import router as holder_pages_router
from .login.web import TOKEN_ROUTE, LoginPages
from .login.web import router as login_router
from .oauth import TokenEndpoint
from .runtime.issuing import IssuingRuntime
from .web.app import base_app
from .web.deps import now
from .web.operations import router as operations_router
from .web.trust import router as trust_router
from .witness.collector import WitnessCollector

__all__ = ["create_app", "mount_issuing"]


def mount_issuing(app: FastAPI, runtime: IssuingRuntime) -> None:
    """Serve the issuing routes on ``app`` over ``runtime`` (warmed up before the app says it is ready)."""
    app.state.issuing = runtime
    s = runtime.settings
    app.state.token_endpoint = TokenEndpoint(  # its rate limits live as long as the app
        runtime.sessions, runtime.write_sessions, runtime.signers.access_signer, issuer=s.public_base_url,
        ttl=s.access_token_ttl_seconds, per_address=(s.rate_token_per_second, s.rate_token_burst),
        failures_per_client=(s.rate_token_failures_per_second, s.rate_token_failures_burst))
    app.state.startup_hooks.append(lambda: runtime.issuance.warm_up(at=now()))  # ready means ready
    if s.witnesses:  # cosignatures are collected in the background: issuance never waits on a witness
        collector = WitnessCollector(runtime.sessions, runtime.write_sessions, runtime.log, s.witnesses,
                                     interval=s.witness_interval_ms / 1000, now=now)
        app.state.startup_hooks.append(collector.start)
        app.state.shutdown_hooks.append(collector.stop)
    app.include_router(router)
    app.state.holder_pages = HolderPages(runtime)
    app.include_router(holder_pages_router)
    app.state.login_pages = LoginPages(runtime)  # the OpenID Provider (log in with the e-license)
    app.include_router(login_router)
    app.router.routes.insert(0, TOKEN_ROUTE)  # matched first: the provider's hot path
    app.state.console = ConsolePages(runtime)
    app.include_router(console_router)


def create_app(settings: Settings | None = None, runtime: IssuingRuntime | None = None) -> FastAPI:
    """The issuing service. ``runtime`` may be passed in (tests share one)."""
    settings = settings or Settings()
    runtime = runtime or IssuingRuntime.build(settings)
    app = base_app(settings)
    app.state.runtime = runtime
    app.include_router(operations_router)
    app.include_router(trust_router)
    mount_issuing(app, runtime)
    return app
