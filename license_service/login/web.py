"""The OpenID Provider's routes: discovery (``/.well-known/openid-configuration``), the ID-token JWKS,
the authorization endpoint and its desktop page (QR, short code, number; it polls and then completes
the redirect), the phone's pages under ``/oidc/scan`` (what the platform asks, the number, the passkey),
the token endpoint (``/oidc/token``, distinct from the API clients' ``/oauth/token``) and userinfo.

Pages share the holder pages' look, CSP and rules (Origin check on every state-changing request,
passkeys on the RP host); refusals are pages for browsers and problem+json for the script's calls.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.routing import Route

from ..db.models import AuthorizationCode, Holder, LoginRequest, Platform
from ..domain.errors import Coded, FieldError
from ..domain.holding import HolderRefused
from ..errors import AuthError, NotFound, RateLimited
from ..holders.passkeys import Passkeys, RelyingParty
from ..holders.standing import secret_digest
from ..holders.words import TEXT, message
from ..rendering.qr import qr_svg
from ..runtime.issuing import IssuingRuntime
from ..web.deps import now
from ..web.pages import json_object, on_host, same_origin
from ..web.ratelimit import TokenBucket
from . import requests as login_requests
from .exchange import CodeExchange, ExchangeBatches, code_of_access_token, token_form
from .provider import ACR, ASSERTION_ALGORITHMS, SCOPES, TOKEN_TTL, JwksFetcher, Provider, claims_for
from .words import LOGIN_MESSAGES, LOGIN_TEXT

__all__ = ["TOKEN_ROUTE", "LoginPages", "router"]

router = APIRouter(include_in_schema=False)

_CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "Content-Security-Policy": _CSP,
            "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_COOKIE = "elicense-login"


class LoginPages:
    """What the login routes need, kept on ``app.state.login_pages``."""

    def __init__(self, runtime: IssuingRuntime, jwks_fetcher: JwksFetcher | None = None) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.issuer = settings.public_base_url.rstrip("/")
        self.rp = RelyingParty.of(settings.public_base_url)
        self.passkeys = Passkeys(self.rp)
        self.secure = not self.rp.origin.startswith("http://localhost")
        self.provider = Provider(issuer=self.issuer)
        self.limit = TokenBucket(settings.rate_holder_per_second, settings.rate_holder_burst)
        # as the verifier does: on SQLite the token exchange runs inline (less than a hop to the thread
        # pool); with a database across the network, in the pool, so the event loop never waits on it
        self.inline = settings.database_url.startswith("sqlite")
        self.exchange = CodeExchange(runtime.engine, issuer=self.issuer,
                                     id_token_signer=runtime.signers.id_token_signer,
                                     jwks_fetcher=jwks_fetcher or JwksFetcher(), one_thread=self.inline)
        # inline, the exchanges that arrive together share one transaction (one commit)
        self.batches = ExchangeBatches(self.exchange, now) if self.inline else None
        root = settings.templates_dir
        self.static = root / "login" / "static"
        loader = ChoiceLoader([FileSystemLoader(root / "login"), FileSystemLoader(root / "holder")])
        self.env = Environment(loader=loader,
                               autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

    def url(self, path: str) -> str:
        return f"{self.rp.origin}{path}"


def _pages(request: Request) -> LoginPages:
    pages: LoginPages = request.app.state.login_pages
    return pages


PagesDep = Annotated[LoginPages, Depends(_pages)]


def _lang(request: Request) -> str:
    """``?lang=en``, or (on the authorization endpoint) the platform's ``ui_locales`` (OIDC Core s.3.1.2.1)."""
    if request.query_params.get("lang") == "en":
        return "en"
    locales = request.query_params.get("ui_locales", "").split()
    return "en" if locales and locales[0].lower().startswith("en") else "zh"


LangDep = Annotated[str, Depends(_lang)]


def _render(pages: LoginPages, template: str, lang: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    t = {**TEXT[lang], **LOGIN_TEXT[lang]}
    html = pages.env.get_template(template).render(t=t, lang=lang, q="?lang=en" if lang == "en" else "", signed=None,
                                                   **context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _words(code: str, detail: str, lang: str) -> str:
    pair = LOGIN_MESSAGES.get(code)
    if pair is not None:
        return pair[1] if lang == "en" else pair[0]
    return message(code, detail, lang)


def _refusal(pages: LoginPages, e: Coded, lang: str, status: int) -> HTMLResponse:
    return _render(pages, "message.html", lang, status=status, text=_words(e.code, e.detail, lang), code=e.code)


def _same_origin(pages: LoginPages, request: Request) -> None:
    same_origin(request, pages.rp.origin, code="holders.origin")


def _on_host(pages: LoginPages, request: Request) -> RedirectResponse | None:
    return on_host(request, pages.rp.rp_id, pages.rp.origin)


# -- discovery and keys --------------------------------------------------------------------------
@router.get("/.well-known/openid-configuration")
def discovery(pages: PagesDep) -> JSONResponse:
    """OpenID Connect Discovery 1.0 s.3: what a stock client needs to log holders in."""
    i = pages.issuer
    return JSONResponse({
        "issuer": i, "authorization_endpoint": pages.url("/oidc/authorize"), "token_endpoint": f"{i}/oidc/token",
        "userinfo_endpoint": f"{i}/oidc/userinfo", "jwks_uri": f"{i}/oidc/jwks.json",
        "scopes_supported": list(SCOPES), "response_types_supported": ["code"], "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"], "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"], "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash",
                             "uscc", "entity_name", "entity_kind", "role", "grant", "name"],
        "acr_values_supported": [ACR], "claims_parameter_supported": False, "request_parameter_supported": False,
        "request_uri_parameter_supported": False, "ui_locales_supported": ["zh-CN", "en"],
    }, headers={"Cache-Control": "public, max-age=300"})


@router.get("/oidc/jwks.json")
def id_token_jwks(pages: PagesDep) -> JSONResponse:
    """The ID-token keys, current and retired (``elicense keys rotate --purpose idtoken``)."""
    return JSONResponse(pages.runtime.keys.id_token_keyring().jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/oidc/static/login.js")
def login_script(pages: PagesDep) -> Response:
    return Response((pages.static / "login.js").read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# -- the authorization endpoint (the desktop, or the phone itself) -----------------------------------
def _platform_view(s: Session, client_id: str) -> Platform:
    p = s.get(Platform, client_id)
    assert p is not None
    return p


def _asks(query: str, lang: str) -> list[str]:
    scope = dict(parse_qsl(query)).get("scope", "")
    t = LOGIN_TEXT[lang]
    asks = [t["asks_entity"], t["asks_role"]]
    if "profile" in scope.split():
        asks.append(t["asks_name"])
    return asks


@router.get("/oidc/authorize")
def authorize(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    """OIDC Core s.3.1.2: check the request; answer errors by redirect once the redirect URI is known
    good (s.3.1.2.6), as a page before. A valid one opens a login request and shows its QR."""
    moved = _on_host(pages, request)
    if moved:
        return moved
    at = now()
    try:
        with pages.runtime.write_sessions.begin() as s:
            opened, platform = login_requests.open_request(s, pages.provider, request.url.query, str(request.url),
                                                           at=at)
            name, asks = platform.name, _asks(request.url.query, lang)
    except OAuth2Error as e:
        if e.redirect_uri:
            _, _, headers = e()
            return RedirectResponse(dict(headers)["Location"], status_code=302, headers={"Cache-Control": "no-store"})
        return _render(pages, "message.html", lang, status=400, text=f"{e.error}: {e.description or ''}",
                       code=e.error)
    scan_url = pages.url(f"/oidc/scan/{opened.handle}")
    # no language switch here: reloading would replay the request (its nonce); ui_locales chooses
    response = _render(pages, "authorize.html", lang, fixed_lang=True, platform=name, asks=asks,
                       request_id=opened.request_id,
                       qr=qr_svg(scan_url, label=LOGIN_TEXT[lang]["scan_title"]), scan_url=scan_url,
                       code=opened.display_code, number=opened.number, code_url=pages.url("/oidc/scan"),
                       expires_at=opened.expires_at.isoformat())
    response.set_cookie(_COOKIE, opened.desktop, max_age=int(login_requests.REQUEST_TTL.total_seconds()),
                        path=f"/oidc/requests/{opened.request_id}", httponly=True, samesite="strict",
                        secure=pages.secure)
    return response


RequestIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.get("/oidc/requests/{request_id}/status")
def request_status(request_id: RequestIdPath, request: Request, pages: PagesDep) -> JSONResponse:
    """Where the desktop's request stands (the page polls this)."""
    with pages.runtime.sessions() as s:
        req = login_requests.for_desktop(s, request_id, request.cookies.get(_COOKIE))
        return JSONResponse({"state": login_requests.request_state(req, now())}, headers=_NO_STORE)


@router.get("/oidc/requests/{request_id}/finish")
def request_finish(request_id: RequestIdPath, request: Request, pages: PagesDep, lang: LangDep) -> Response:
    """Back to the platform: a code, or ``access_denied`` with the reason."""
    at = now()
    try:
        with pages.runtime.write_sessions.begin() as s:
            req = login_requests.for_desktop(s, request_id, request.cookies.get(_COOKIE), lock=True)
            location = login_requests.finish(s, pages.provider, req, str(request.url), at=at)
    except (HolderRefused, NotFound) as e:
        return _refusal(pages, e, lang, 404 if isinstance(e, NotFound) else 409)
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


@router.post("/oidc/requests/{request_id}/options")
def same_device_options(request_id: RequestIdPath, request: Request, pages: PagesDep) -> JSONResponse:
    """The same-device flow: a passkey ceremony on the authorize page itself."""
    _same_origin(pages, request)
    at = now()
    with pages.runtime.write_sessions.begin() as s:
        req = login_requests.for_desktop(s, request_id, request.cookies.get(_COOKIE))
        _pending(req, at)
        return JSONResponse(pages.passkeys.authentication_options(s, purpose="login", holder=None, at=at))


def _pending(req: LoginRequest, at: Any) -> None:
    state = login_requests.request_state(req, at)
    if state != "pending":
        raise HolderRefused(f"this login request is {state}", code=f"login.{'used' if state == 'approved' else state}")


async def _approve(pages: LoginPages, request: Request, find: Any, *, number_required: bool) -> JSONResponse:
    body = json_object(await request.body())

    def work() -> tuple[str | None, str]:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            req = find(s, body, at)
            _pending(req, at)
            holder, _ = pages.passkeys.finish_authentication(
                s, purpose="login", ceremony_id=str(body.get("ceremony", "")),
                credential=body.get("credential") or {}, at=at)
            number = str(body.get("number", "")) if number_required else None
            refusal = login_requests.approve(s, pages.runtime.log, req, holder, number=number,
                                             share_name=bool(body.get("share_name")), at=at)
            return refusal, req.request_id

    refusal, request_id = await run_in_threadpool(work)
    if refusal:  # recorded and committed: now say so
        raise HolderRefused(_words(refusal, refusal, "en"), code=refusal)
    return JSONResponse({"redirect": f"/oidc/requests/{request_id}/finish" if not number_required
                         else "/oidc/scan/done"})


@router.post("/oidc/requests/{request_id}/approve")
async def same_device_approve(request_id: RequestIdPath, request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    desktop = request.cookies.get(_COOKIE)
    return await _approve(pages, request, lambda s, body, at: login_requests.for_desktop(s, request_id, desktop,
                                                                                        lock=True),
                          number_required=False)


# -- the phone ----------------------------------------------------------------------------------
def _limited(pages: LoginPages, request: Request) -> None:
    wait = pages.limit.take(request.client.host if request.client else "?")
    if wait is not None:
        raise RateLimited(wait)


def _phone_request(s: Any, ref: dict[str, Any], at: Any, *, lock: bool = False) -> LoginRequest:
    handle, code = ref.get("handle"), ref.get("code")
    if not isinstance(handle, str | None) or not isinstance(code, str | None) or len(handle or code or "") > 64:
        raise FieldError("handle", "login.ref", "name the request by its handle or code")
    return login_requests.for_phone(s, handle=handle or None, code=code or None, at=at, lock=lock)


def _scan_page(pages: LoginPages, request: Request, lang: str, *, handle: str = "", code: str = "") -> Response:
    moved = _on_host(pages, request)
    if moved:
        return moved
    try:
        with pages.runtime.sessions() as s:
            req = _phone_request(s, {"handle": handle, "code": code}, now())
            platform = _platform_view(s, req.client_id).name
            asks = _asks(req.query, lang)
            wants_name = "profile" in dict(parse_qsl(req.query)).get("scope", "").split()
    except (HolderRefused, NotFound, FieldError) as e:
        return _refusal(pages, e, lang, 404 if isinstance(e, NotFound) else 409)
    return _render(pages, "scan.html", lang, platform=platform, asks=asks, handle=handle, code=code,
                   wants_name=wants_name)


@router.get("/oidc/scan")
def scan_code(request: Request, pages: PagesDep, lang: LangDep,
              code: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    """Type the short code the computer shows (when the QR cannot be scanned)."""
    if not code:
        moved = _on_host(pages, request)
        return moved or _render(pages, "scan_code.html", lang)
    _limited(pages, request)
    return _scan_page(pages, request, lang, code=code)


@router.get("/oidc/scan/done")
def scan_done(pages: PagesDep, lang: LangDep) -> Response:
    return _render(pages, "done.html", lang, text=LOGIN_TEXT[lang]["approved"])


@router.get("/oidc/scan/{handle}")
def scan(handle: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$")], request: Request, pages: PagesDep,
         lang: LangDep) -> Response:
    """The phone's page: which platform, what it asks, the number, approve or decline."""
    return _scan_page(pages, request, lang, handle=handle)


@router.post("/oidc/scan/options")
async def scan_options(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    _limited(pages, request)
    body = json_object(await request.body())
    at = now()
    with pages.runtime.write_sessions.begin() as s:
        _phone_request(s, body, at)
        return JSONResponse(pages.passkeys.authentication_options(s, purpose="login", holder=None, at=at))


@router.post("/oidc/scan/approve")
async def scan_approve(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    return await _approve(pages, request, lambda s, body, at: _phone_request(s, body, at, lock=True),
                          number_required=True)


@router.post("/oidc/scan/deny")
def scan_deny(request: Request, pages: PagesDep, lang: LangDep, handle: Annotated[str, Form(max_length=64)] = "",
              code: Annotated[str, Form(max_length=16)] = "") -> Response:
    """The holder declines: the desktop returns to the platform with ``access_denied``."""
    try:
        _same_origin(pages, request)
        with pages.runtime.write_sessions.begin() as s:
            login_requests.deny(_phone_request(s, {"handle": handle, "code": code}, now(), lock=True))
    except (HolderRefused, NotFound, FieldError, AuthError) as e:
        return _refusal(pages, e, lang, 409)
    return _render(pages, "done.html", lang, text=LOGIN_TEXT[lang]["declined"])


# -- token and userinfo ---------------------------------------------------------------------------
async def token(request: Request) -> Response:
    """RFC 6749 s.4.1.3 / OIDC Core s.3.1.3: a code (with its PKCE verifier) for an ID token and an
    access token for userinfo (``login.exchange``). Errors in RFC 6749 s.5.2's form, never cached."""
    pages: LoginPages = request.app.state.login_pages
    form = token_form(await request.body(), request.headers.get("content-type"))
    authorization = request.headers.get("authorization")

    if pages.batches is not None:
        body = await pages.batches.exchange(form, authorization)
    else:
        body = await run_in_threadpool(lambda: pages.exchange.exchange(form, authorization, at=now()))
    return Response(orjson.dumps(body), media_type="application/json", headers=_NO_STORE)


#: the token endpoint as a plain Starlette route, put before every other route (``app.mount_issuing``):
#: it reads its form and credentials by hand anyway, and FastAPI's per-request machinery and the
#: linear route match were a large share of an exchange (bench/login.py), as for the verifier's token route
TOKEN_ROUTE = Route("/oidc/token", token, methods=["POST"])


@router.api_route("/oidc/userinfo", methods=["GET", "POST"])
def userinfo(request: Request, pages: PagesDep) -> JSONResponse:
    """OIDC Core s.5.3: the claims the access token's scope allows (the same as the ID token's), while
    the token lives (``TOKEN_TTL`` from the exchange) and its code was not replayed."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value or len(value) > 100:
        raise AuthError("send the access token as a Bearer credential", code="login.token_missing")
    at = now()
    token = value.strip()
    code = code_of_access_token(token)
    with pages.runtime.sessions() as s:
        row = s.get(AuthorizationCode, code) if code is not None else None
        if (row is None or row.token_sha256 is None or row.used_at is None or at >= row.used_at + TOKEN_TTL
                or not hmac.compare_digest(row.token_sha256, secret_digest(token))):
            raise AuthError("the access token is unknown or expired", code="login.token_invalid")
        holder, platform = s.get(Holder, row.holder_id), s.get(Platform, row.client_id)
        assert holder is not None and platform is not None
        return JSONResponse(claims_for(s, platform, holder, row.scope, share_name=bool(row.share_name)),
                            headers=_NO_STORE)
