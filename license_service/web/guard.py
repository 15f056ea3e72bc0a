"""What every request passes before a route reads a byte of it (DESIGN.md: "Limits hold on the bytes
received, whatever the framing; nothing is read before authentication").

:class:`RequestGuard` is one plain-ASGI middleware that, in this order:

1. refuses a request head (the target plus every header field's name and value) over
   ``Settings.max_header_bytes`` with 431;
2. refuses a declared ``Content-Length`` over the path's body limit with 413, reading nothing;
3. authenticates the paths that take a bearer token (every ``/api/`` path; in production
   ``/metrics`` too, with scope ``audit``) with the routes' own :func:`~.deps.authenticate` before
   the app runs: a request without a valid token gets 401 and its body is never read nor parsed, so
   nothing of it reaches memory or disk (a malformed body is a 401 there, not a 422);
4. counts the body bytes actually received against the path's limit, whatever the framing (chunked,
   a Content-Length the server does not police, HTTP/2 frames), and answers 413 the moment the
   count passes it, without reading further.

Body limits: the PDF upload ``max_pdf_bytes`` (plus room for the multipart framing), the
client-credentials form and OCSP requests a few KiB, everything else ``max_body_bytes``. A refusal
while a body may still be on its way says ``Connection: close``, so the server stops reading the
connection instead of draining it. Every refusal is problem+json from :mod:`.problems`.

The principal authenticated in step 3 rides in ``scope["state"]``; ``deps.authenticate`` returns it,
so a route never checks the same token twice.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..errors import HeadTooLarge, TooLarge
from . import problems
from .deps import PRINCIPAL_KEY, authenticate

__all__ = ["PDF_UPLOAD_PATH", "RequestGuard"]

#: The one route that takes large bodies (a PDF to verify, as multipart/form-data).
PDF_UPLOAD_PATH = "/api/v1/verify/pdf"
#: Room for the multipart framing around a PDF of ``max_pdf_bytes`` (boundaries, part headers).
_MULTIPART_ROOM = 16 * 1024
#: Routes with small bodies: the client-credentials form (RFC 6749 s.4.4: an id, a secret and a scope,
#: well under 1 KiB) and an OCSP request (RFC 6960 s.4.1: a few hundred bytes of DER).
_SMALL_BODIES = {"/oauth/token": 4 * 1024, "/trust/ocsp": 8 * 1024}
#: A Content-Length with more digits is over any limit (and ``int()`` refuses over 4300 digits).
_MAX_DIGITS = 18


def _body_limits(settings: Settings) -> dict[str, int]:
    """The body limit (bytes) of each path that does not take ``settings.max_body_bytes``."""
    return {PDF_UPLOAD_PATH: settings.max_pdf_bytes + _MULTIPART_ROOM, **_SMALL_BODIES}


class RequestGuard:
    """The checks above, before the app runs. Plain ASGI: Starlette's BaseHTTPMiddleware costs more
    per request than a trivial endpoint itself."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self._max_head = settings.max_header_bytes
        self._default_limit = settings.max_body_bytes
        self._limits = _body_limits(settings)
        #: paths outside /api/ that take a bearer token, with the scope each needs
        self._bearer_paths: dict[str, str] = {} if settings.is_dev else {"/metrics": "audit"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        limit = self._limits.get(path, self._default_limit)
        head = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            head += len(name) + len(value)
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        may_have_body = chunked or (declared is not None and declared != b"0")
        if head > self._max_head:
            await _answer(problems.response_for(HeadTooLarge(
                f"request heads (target and header fields) are limited to {self._max_head} bytes"), Request(scope)),
                scope, receive, send, close=True)
            return
        if declared is not None and (len(declared) > _MAX_DIGITS or not declared.isdigit() or int(declared) > limit):
            await _answer(problems.response_for(_too_large(limit), Request(scope)), scope, receive, send, close=True)
            return
        if path.startswith("/api/") or path in self._bearer_paths:
            request = Request(scope)
            try:
                principal = authenticate(request)
                if path in self._bearer_paths:
                    principal.require(self._bearer_paths[path])
            except Exception as exc:  # every refusal (and our own fault) is answered by the one error map
                await _answer(problems.response_for(exc, request), scope, receive, send, close=may_have_body)
                return
            scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app with its body counted: past ``limit`` bytes, 413 (if no response has started),
        and the app's next read raises :class:`TooLarge`; whatever it answers after is dropped."""
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _answer(problems.response_for(_too_large(limit), Request(scope)), scope, receive,
                                      send, close=True)
                    raise _too_large(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:  # the 413 is the answer
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"request bodies here are limited to {limit} bytes")


def _route_path(scope: Scope) -> str:
    """The path the router matches (without the root path a proxy may add)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root + "/") else path


async def _answer(response: Response, scope: Scope, receive: Receive, send: Send, *, close: bool) -> None:
    """Send a refusal; with ``close``, the connection ends with it (a body may still be coming: the
    server stops reading instead of draining it)."""
    if close:
        response.headers["connection"] = "close"
    await response(scope, receive, send)
