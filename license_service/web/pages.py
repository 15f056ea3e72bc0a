"""What the pages people use share (the holder's pages, the window's console, the log-in pages): the
page's language, times as people read them, a JSON object from a script's request, the origin check
every state-changing request passes, the one host name passkeys are bound to, and the session cookie."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ..domain.china_time import CHINA
from ..domain.errors import FieldError
from ..errors import AuthError

__all__ = ["LangDep", "end_session_cookie", "json_object", "local_time", "on_host", "page_lang", "same_origin",
           "set_session_cookie"]


def page_lang(request: Request) -> str:
    """Chinese unless ``?lang=en``."""
    return "en" if request.query_params.get("lang") == "en" else "zh"


LangDep = Annotated[str, Depends(page_lang)]


def local_time(v: datetime | str | None) -> str:
    """A time as people read it: Beijing time, to the minute (``—`` for none)."""
    if v is None:
        return "—"
    at = datetime.fromisoformat(v) if isinstance(v, str) else v
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def json_object(body: bytes) -> dict[str, Any]:
    """A script's request body: a JSON object, or a 422 naming ``body``."""
    try:
        value = json.loads(body)
    except ValueError:
        raise FieldError("body", "json", "send a JSON object") from None
    if not isinstance(value, dict):
        raise FieldError("body", "json", "send a JSON object")
    return value


def same_origin(request: Request, origin: str, *, code: str) -> None:
    """A state-changing request from another site (or none named) is refused (``code``): with the CSRF
    token on signed-in requests and the one-time ceremony challenges, this closes cross-site requests."""
    if request.headers.get("origin") != origin:
        raise AuthError("the request did not come from this site", code=code)


def on_host(request: Request, rp_id: str, origin: str) -> RedirectResponse | None:
    """Passkeys are bound to one host name (``localhost`` for 127.0.0.1 in development): a page asked
    for on another is sent to the same path on that one."""
    if request.url.hostname != rp_id:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{origin}{request.url.path}{query}", status_code=303,
                                headers={"Cache-Control": "no-store"})
    return None


def set_session_cookie(response: Response, name: str, value: str, *, max_age: int, secure: bool) -> None:
    """A signed-in session's cookie: HttpOnly, SameSite=Strict, path / (a ``__Host-`` name must have
    it: RFC 6265bis s.4.1.3.2; each site's own name keeps the holder's and the console's apart)."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/")


def end_session_cookie(response: Response, name: str, *, secure: bool) -> None:
    """Sign-out: the session cookie removed with the attributes it was set with."""
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")
