"""FastAPI dependencies both services use: the runtime, the clock, the authenticated client, scope checks.

All ``async def``: none blocks for long (access tokens are checked from memory; a client's status is
one indexed read of two columns per client every few seconds), and FastAPI would run a sync
dependency in the thread pool, a thread hop per dependency per request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from ..access import Principal, verify_access_token
from ..domain.uscc import Uscc
from ..errors import AuthError
from ..runtime.read import ReadRuntime

M = TypeVar("M", bound=BaseModel)

__all__ = ["PRINCIPAL_KEY", "REQUIRED_SCOPE", "CurrentClient", "RuntimeDep", "UsccPath", "authenticate", "json_body",
           "json_body_spec", "now", "require_scope"]


async def _runtime(request: Request) -> ReadRuntime:
    runtime: ReadRuntime = request.app.state.runtime
    return runtime


#: the app's runtime as the read-only interface (an issuing app's routes take their own, richer one)
RuntimeDep = Annotated[ReadRuntime, Depends(_runtime)]


def now() -> datetime:
    """The API's clock: every service function takes ``at``; this is where "now" comes from."""
    return datetime.now(UTC)


#: Where the request guard (``guard.py``) keeps the principal it authenticated, in ``scope["state"]``
PRINCIPAL_KEY = "elicense.principal"


def authenticate(request: Request) -> Principal:
    """The client a request's bearer access token names: the token checked from memory, the client's
    status from what was read of it in the last few seconds (``access.ClientStatus``: a registry read
    when that is older). Checked once per request: what the guard found is reused. Raises
    AuthError, or Unavailable when the registry cannot be read."""
    known: Principal | None = request.scope.get("state", {}).get(PRINCIPAL_KEY)
    if known is not None:
        return known
    # the raw header, not ``request.headers``: building that mapping cost more than the token check
    header = next((v for k, v in request.scope["headers"] if k == b"authorization"), b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("send Authorization: Bearer <access token> (POST /oauth/token)", code="auth.missing")
    runtime: ReadRuntime = request.app.state.runtime
    return verify_access_token(token.strip(), runtime.access_tokens, runtime.api_clients, at=now())


async def _principal(request: Request) -> Principal:
    return authenticate(request)


CurrentClient = Annotated[Principal, Depends(_principal)]


#: the attribute that names the scope a dependency or an endpoint requires (read by the OpenAPI
#: document, ``web/app.py``, which declares each operation's security requirement from it)
REQUIRED_SCOPE = "elicense_required_scope"


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentClient) -> Principal:
        principal.require(scope)
        return principal

    setattr(check, REQUIRED_SCOPE, scope)
    return check


async def _uscc_path(uscc: str, runtime: RuntimeDep) -> Uscc:
    """A USCC path parameter, validated with the configured legacy allow-list; an invalid one is a
    422 naming ``uscc`` and the rule (UsccError is a FieldError)."""
    return Uscc.parse(uscc, legacy_allow=runtime.settings.uscc_legacy_allowlist)


UsccPath = Annotated[Uscc, Depends(_uscc_path)]


async def json_body(request: Request, model: type[M]) -> M:
    """A JSON request body parsed straight into ``model``, for hot routes where FastAPI's parameter
    machinery costs more than the work (declare the body with :func:`json_body_spec`). Errors are
    the same 422 problem+json as FastAPI's own."""
    try:
        return model.model_validate_json(await _body(request))
    except ValidationError as e:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in e.errors()]) from None


async def _body(request: Request) -> bytes:
    """The request's whole body, read straight from ``receive`` (``Request.body`` goes through an
    async generator, 8 us against 2: a twentieth of a token verification). A client that goes away
    is :class:`ClientDisconnect`, as there."""
    chunks = []
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def json_body_spec(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body read with :func:`json_body`."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}
