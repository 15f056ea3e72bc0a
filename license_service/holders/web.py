"""The holder's pages, ``/holder/``: enrolment from an invitation, passkey sign-in, the license and
its history, 亮照 (the dynamic QR), grants (授权), passkeys and activity. Server-rendered, Chinese
first (``?lang=en``), one static script for the passkey ceremonies, no inline script.

Every state-changing request must come from this origin (``Origin``) and, once signed in, carry the
session's CSRF token; grants, revocations and passkey removal also need a passkey assertion within
the last few minutes (``sessions.REAUTH_WINDOW``). Refusals are pages in the person's language
(``words.MESSAGES``) for browsers, problem+json for the scripts' JSON calls.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import ApiClient, Holder, HolderPasskey, Login, Platform, Presentation
from ..domain.china_time import CHINA
from ..domain.errors import Coded, FieldError
from ..domain.holding import MATTERS, HolderRefused, HolderRole, Scope, parse_scope, role_label
from ..domain.text import person_text
from ..errors import AuthError, NotFound, RateLimited
from ..rendering.qr import qr_svg
from ..runtime.issuing import IssuingRuntime
from ..web.deps import now
from ..web.pages import (
    LangDep,
    end_session_cookie,
    json_object,
    local_time,
    on_host,
    page_lang,
    same_origin,
    set_session_cookie,
)
from ..web.ratelimit import TokenBucket
from . import presentations
from .passkeys import Passkeys, RelyingParty
from .sessions import HolderSessions, SignedIn
from .standing import effective_status
from .words import TEXT, message

__all__ = ["HolderPages", "router"]

router = APIRouter(prefix="/holder", include_in_schema=False)

_CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on form posts, and the
# origin check needs the real one; an invitation's secret in a URL still never leaves for another site
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "Content-Security-Policy": _CSP,
            "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


class HolderPages:
    """What the holder routes need, kept on ``app.state.holder_pages``."""

    def __init__(self, runtime: IssuingRuntime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.rp = RelyingParty.of(settings.public_base_url)
        self.passkeys = Passkeys(self.rp)
        self.secure = not self.rp.origin.startswith("http://localhost")  # plain HTTP only on localhost
        self.cookie = "__Host-elicense-holder" if self.secure else "elicense-holder"
        self.limit = TokenBucket(settings.rate_holder_per_second, settings.rate_holder_burst)
        templates = settings.templates_dir / "holder"
        self.static = templates / "static"
        self.env = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["local_time"] = local_time

    def url(self, path: str) -> str:
        """An absolute URL on the origin the passkeys are bound to."""
        return f"{self.rp.origin}{path}"


def _pages(request: Request) -> HolderPages:
    pages: HolderPages = request.app.state.holder_pages
    return pages


PagesDep = Annotated[HolderPages, Depends(_pages)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _limited(pages: HolderPages, request: Request) -> None:
    wait = pages.limit.take(_address(request))
    if wait is not None:
        raise RateLimited(wait)


def _same_origin(pages: HolderPages, request: Request) -> None:
    same_origin(request, pages.rp.origin, code="holders.origin")


def _render(pages: HolderPages, template: str, lang: str, *, status: int = 200, signed: SignedIn | None = None,
            **context: Any) -> HTMLResponse:
    t = TEXT[lang]
    # every link and form keeps the page's language (``q``)
    html = pages.env.get_template(template).render(t=t, lang=lang, q="?lang=en" if lang == "en" else "",
                                                   signed=signed, matters=MATTERS, **context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _refusal(pages: HolderPages, e: Coded, lang: str, status: int = 422) -> HTMLResponse:
    return _render(pages, "message.html", lang, status=status, text=message(e.code, e.detail, lang), code=e.code)


def _q(request: Request) -> str:
    return "?lang=en" if page_lang(request) == "en" else ""


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


def _signed_in(pages: HolderPages, request: Request, s: Session) -> SignedIn | None:
    return HolderSessions.find(s, request.cookies.get(pages.cookie), now())


def _guarded(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Page handlers answer refusals as pages in the person's language."""
    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except (HolderRefused, AuthError, FieldError, NotFound) as e:
            pages: HolderPages = kwargs["pages"]
            status = 401 if isinstance(e, AuthError) else 404 if isinstance(e, NotFound) else 422
            return _refusal(pages, e, kwargs.get("lang", "zh"), status)
    return run


def _require(pages: HolderPages, request: Request, s: Session, *, csrf: str | None = None,
             fresh: bool = False) -> SignedIn:
    """The signed-in holder, for a request that changes something: same origin, CSRF token, and (for
    ``fresh``) a passkey assertion within the re-authentication window."""
    _same_origin(pages, request)
    signed = _signed_in(pages, request, s)
    if signed is None:
        raise AuthError("sign in first", code="holders.signed_out")
    if not signed.csrf_ok(csrf if csrf is not None else request.headers.get("x-csrf-token")):
        raise AuthError("the form is out of date: reload the page", code="holders.csrf")
    if fresh and not signed.fresh(now()):
        raise AuthError("confirm with your passkey first", code="holders.reauth_required")
    return signed


def _signed_page(pages: HolderPages, request: Request, s: Session) -> SignedIn | Response:
    """The signed-in holder for a page, or where to go instead (the passkeys' host, or sign-in)."""
    moved = _on_host(pages, request)
    if moved is not None:
        return moved
    signed = _signed_in(pages, request, s)
    return signed if signed is not None else _redirect("/holder/sign-in" + _q(request))


def _on_host(pages: HolderPages, request: Request) -> RedirectResponse | None:
    return on_host(request, pages.rp.rp_id, pages.rp.origin)


# -- static ----------------------------------------------------------------------------------
@router.get("/static/passkey.js")
def passkey_script(pages: PagesDep) -> Response:
    return Response((pages.static / "passkey.js").read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# -- sign-in ---------------------------------------------------------------------------------
@router.get("/sign-in")
def sign_in_page(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    return _on_host(pages, request) or _render(pages, "sign_in.html", lang)


@router.post("/sign-in/options")
def sign_in_options(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    _limited(pages, request)
    with pages.runtime.write_sessions.begin() as s:
        return JSONResponse(pages.passkeys.authentication_options(s, purpose="sign_in", holder=None, at=now()))


def _session_response(pages: HolderPages, cookie: str, redirect: str) -> JSONResponse:
    response = JSONResponse({"redirect": redirect})
    set_session_cookie(response, pages.cookie, cookie, max_age=30 * 60, secure=pages.secure)
    return response


@router.post("/sign-in/verify")
async def sign_in_verify(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    body = json_object(await request.body())

    def work() -> str:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            holder, key = pages.passkeys.finish_authentication(
                s, purpose="sign_in", ceremony_id=str(body.get("ceremony", "")),
                credential=body.get("credential") or {}, at=at)
            status = effective_status(holder, at)
            if status != "active":
                raise AuthError(f"this holding is {status}", code=f"holders.{status}")
            return HolderSessions.start(s, holder, key.credential_id, at)

    cookie = await run_in_threadpool(work)
    return _session_response(pages, cookie, "/holder/")


@router.post("/sign-out")
def sign_out(request: Request, pages: PagesDep, csrf: Annotated[str, Form()] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        _require(pages, request, s, csrf=csrf)
        HolderSessions.end(s, request.cookies.get(pages.cookie))
    response = _redirect("/holder/sign-in")
    end_session_cookie(response, pages.cookie, secure=pages.secure)
    return response


# -- enrolment -------------------------------------------------------------------------------
@router.get("/enrol")
@_guarded
def enrol_page(request: Request, pages: PagesDep, lang: LangDep,
               i: Annotated[str | None, Query(max_length=64)] = None,
               uscc: Annotated[str | None, Query(max_length=32)] = None,
               code: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    """The invitation's page (``?i=`` from its link or QR; or a USCC and typed code)."""
    moved = _on_host(pages, request)
    if moved:
        return moved
    if not i and not code:
        return _render(pages, "enrol_code.html", lang)
    if code:
        _limited(pages, request)
    with pages.runtime.sessions() as s:
        inv = pages.runtime.holders.open_invitation(s, secret=i, code=code, uscc=(uscc or "").strip().upper() or None,
                                                    at=now())
        entity, _ = pages.runtime.holders.registered_representative(s, inv.uscc)
        grantor = s.get(Holder, inv.granted_by) if inv.granted_by else None
        return _render(pages, "enrol.html", lang, inv=inv, entity=entity, secret=i or "", code=code or "",
                       uscc=inv.uscc, role=role_label(HolderRole(inv.role), entity.entity_kind, lang),
                       scope=_scope_words(inv.scope, lang), grantor=grantor)


@router.post("/enrol/options")
async def enrol_options(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    _limited(pages, request)
    body = json_object(await request.body())

    def work() -> dict[str, Any]:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            inv = pages.runtime.holders.open_invitation(
                s, secret=str(body.get("secret") or "") or None, code=str(body.get("code") or "") or None,
                uscc=str(body.get("uscc") or "") or None, at=at)
            entity, _ = pages.runtime.holders.registered_representative(s, inv.uscc)
            handle = secrets.token_urlsafe(16)
            return pages.passkeys.registration_options(
                s, purpose="enrol", subject=inv.invitation_id, user_name=f"{inv.name} · {entity.name or inv.uscc}",
                display_name=inv.name, user_handle=handle, exclude=[], at=at)

    return JSONResponse(await run_in_threadpool(work))


@router.post("/enrol/verify")
async def enrol_verify(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    body = json_object(await request.body())

    def work() -> str:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            reg = pages.passkeys.finish_registration(s, purpose="enrol", ceremony_id=str(body.get("ceremony", "")),
                                                     credential=body.get("credential") or {}, at=at)
            inv = pages.runtime.holders.open_invitation_by_id(s, reg.invitation_id, at=at)
            holder = pages.runtime.holders.bind(s, inv, credential_id=reg.credential_id, public_key=reg.public_key,
                                                sign_count=reg.sign_count, user_handle=reg.user_handle, at=at)
            return HolderSessions.start(s, holder, reg.credential_id, at)

    cookie = await run_in_threadpool(work)
    return _session_response(pages, cookie, "/holder/")


# -- re-authentication -------------------------------------------------------------------------
@router.post("/reauth/options")
def reauth_options(request: Request, pages: PagesDep) -> JSONResponse:
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s)
        return JSONResponse(pages.passkeys.authentication_options(s, purpose="reauth", holder=signed.holder,
                                                                  at=now()))


@router.post("/reauth/verify")
async def reauth_verify(request: Request, pages: PagesDep) -> JSONResponse:
    body = json_object(await request.body())

    def work() -> None:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            signed = _require(pages, request, s)
            pages.passkeys.finish_authentication(s, purpose="reauth", ceremony_id=str(body.get("ceremony", "")),
                                                 credential=body.get("credential") or {}, at=at)
            HolderSessions.reauthenticated(s, signed, at)

    await run_in_threadpool(work)
    return JSONResponse({"ok": True})


# -- the license -------------------------------------------------------------------------------
def _scope_words(scope: str, lang: str) -> str:
    parsed = parse_scope(scope)
    if parsed.matters is None:
        return str(TEXT[lang]["all_matters"])
    i = 1 if lang == "en" else 0
    return "、".join(MATTERS[m][i] if m in MATTERS else m for m in sorted(parsed.matters)) if lang != "en" else \
        ", ".join(MATTERS[m][i] if m in MATTERS else m for m in sorted(parsed.matters))


@router.get("/")
def home(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    with pages.runtime.sessions() as s:
        signed = _signed_page(pages, request, s)
        if not isinstance(signed, SignedIn):
            return signed
        entity = pages.runtime.registry.entity(signed.holder.uscc)
        assert entity is not None
        current = next((lic for lic in entity["licenses"] if lic["version"] == entity["current_version"]), None)
        return _render(pages, "home.html", lang, signed=signed, entity=entity, current=current,
                       licenses=sorted(entity["licenses"], key=lambda x: -x["version"]),
                       role=role_label(HolderRole(signed.holder.role), entity["entity_kind"], lang),
                       scope=_scope_words(signed.holder.scope, lang))


@router.get("/license.pdf")
def license_pdf(request: Request, pages: PagesDep,
                form: Annotated[str, Query(pattern="^(issued|long-term)$")] = "issued") -> Response:
    """The entity's current license PDF, as issued or in its long-term form, for its holder."""
    with pages.runtime.sessions() as s:
        signed = _signed_in(pages, request, s)
        if signed is None:
            return _redirect("/holder/sign-in" + _q(request))
        entity = pages.runtime.registry.entity(signed.holder.uscc)
    assert entity is not None
    current = next(lic for lic in entity["licenses"] if lic["version"] == entity["current_version"])
    stored = pages.runtime.registry.pdf(current["license_id"])
    assert stored is not None
    data = stored.pdf if form == "issued" else pages.runtime.issuance.long_term(stored.pdf, at=now())
    suffix = "" if form == "issued" else "-lta"
    return Response(data, media_type="application/pdf", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="license-{stored.uscc}-v{stored.version}{suffix}.pdf"'})


# -- 亮照 -------------------------------------------------------------------------------------------
@router.get("/show")
@_guarded
def show(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    """A new single-use QR of ``/p/{handle}``, valid for two minutes: opening the page again refreshes it."""
    at = now()
    with pages.runtime.write_sessions.begin() as s:
        signed = _signed_page(pages, request, s)
        if not isinstance(signed, SignedIn):
            return signed
        handle, expires = presentations.create(s, signed.holder, at)
    url = f"{pages.runtime.settings.public_base_url}{presentations.PRESENTATION_PATH}{handle}"
    seconds = int((expires - at).total_seconds())
    return _render(pages, "show.html", lang, signed=signed, qr=qr_svg(url, label=TEXT[lang]["show_title"]), url=url,
                   seconds=seconds, expires_at=expires.isoformat())


# -- grants ----------------------------------------------------------------------------------------
def _grant_rows(pages: HolderPages, s: Session, signed: SignedIn, lang: str) -> list[dict[str, Any]]:
    """The grants this holder manages (the legal representative: all of the entity's), with words."""
    ledger = pages.runtime.holders
    at = now()
    if signed.holder.role == HolderRole.LEGAL_REPRESENTATIVE.value:
        rows = list(s.execute(select(Holder).where(
            Holder.uscc == signed.holder.uscc, Holder.role != HolderRole.LEGAL_REPRESENTATIVE.value)
            .order_by(Holder.created_at)).scalars())
    else:
        rows = ledger.descendants(s, signed.holder)
    names = {h.holder_id: h.name for h in s.execute(select(Holder).where(Holder.uscc == signed.holder.uscc)).scalars()}
    kind = pages.runtime.registry.entity(signed.holder.uscc)["entity_kind"]  # type: ignore[index]
    return [{"row": h, "status": effective_status(h, at), "role": role_label(HolderRole(h.role), kind, lang),
             "scope": _scope_words(h.scope, lang), "granted_by": names.get(h.granted_by or "", "—"),
             "manageable": ledger.may_manage(s, signed.holder, h, at),
             "until": h.expires_at.astimezone(CHINA).date().isoformat() if h.expires_at else ""} for h in rows]


@router.get("/grants")
def grants_page(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    with pages.runtime.sessions() as s:
        signed = _signed_page(pages, request, s)
        if not isinstance(signed, SignedIn):
            return signed
        return _render(pages, "grants.html", lang, signed=signed, rows=_grant_rows(pages, s, signed, lang),
                       may_grant=signed.holder.role != HolderRole.HANDLER.value,
                       is_representative=signed.holder.role == HolderRole.LEGAL_REPRESENTATIVE.value,
                       default_end=(now().astimezone(CHINA).date() + timedelta(days=90)).isoformat())


def _end_of(day: str, field: str) -> datetime:
    """A date typed on the form as the end of that Beijing day."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise FieldError(field, "date", "give a date as YYYY-MM-DD") from None
    return datetime.combine(d, time(23, 59, 59), CHINA).astimezone(UTC)


@router.post("/grants")
@_guarded
def grant(request: Request, pages: PagesDep, lang: LangDep, csrf: Annotated[str, Form()] = "",
          role: Annotated[str, Form()] = "handler", name: Annotated[str, Form(max_length=100)] = "",
          matters: Annotated[list[str] | None, Form()] = None, all_matters: Annotated[str, Form()] = "",
          expires_on: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Invite an administrator or a handler: an invitation the person enrols with on their own phone."""
    at = now()
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf=csrf, fresh=True)
        try:
            grant_role = HolderRole(role)
        except ValueError:
            raise FieldError("role", "holders.role", "administrator or handler") from None
        person = person_text(name, field="name").strip()
        if not person:
            raise FieldError("name", "required", "name the person")
        scope = Scope(None) if all_matters else parse_scope(" ".join(matters or []), field="matters")
        inv = pages.runtime.holders.invite(
            s, uscc=signed.holder.uscc, role=grant_role, name=person, created_by=f"holder:{signed.holder.holder_id}",
            grantor=signed.holder, scope=scope, not_before=at, expires_at=_end_of(expires_on, "expires_on"), at=at)
    link = pages.url(f"/holder/enrol?i={inv.secret}")
    return _render(pages, "invitation.html", lang, signed=signed, link=link,
                   qr=qr_svg(link, label=TEXT[lang]["invitation_made"]),
                   code=inv.display_code, uscc=signed.holder.uscc, expires_at=inv.expires_at,
                   enrol_url=pages.url("/holder/enrol"), name=person)


HolderIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _target(s: Session, holder_id: str) -> Holder:
    h = s.get(Holder, holder_id)
    if h is None:
        raise NotFound("no such holder", code="holders.unknown")
    return h


@router.post("/grants/{holder_id}/revoke")
@_guarded
def revoke(holder_id: HolderIdPath, request: Request, pages: PagesDep, lang: LangDep,
           csrf: Annotated[str, Form()] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf=csrf, fresh=True)
        pages.runtime.holders.revoke(s, _target(s, holder_id), by=signed.holder, reason="revoked_by_grantor",
                                     at=now())
    return _redirect("/holder/grants" + _q(request))


@router.post("/grants/{holder_id}/confirm")
@_guarded
def confirm(holder_id: HolderIdPath, request: Request, pages: PagesDep, lang: LangDep,
            csrf: Annotated[str, Form()] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf=csrf, fresh=True)
        pages.runtime.holders.confirm(s, _target(s, holder_id), by=signed.holder, at=now())
    return _redirect("/holder/grants" + _q(request))


@router.post("/grants/{holder_id}/narrow")
@_guarded
def narrow(holder_id: HolderIdPath, request: Request, pages: PagesDep, lang: LangDep, csrf: Annotated[str, Form()] = "",
           matters: Annotated[list[str] | None, Form()] = None, all_matters: Annotated[str, Form()] = "",
           expires_on: Annotated[str, Form(max_length=10)] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf=csrf, fresh=True)
        scope = Scope(None) if all_matters else parse_scope(" ".join(matters or []), field="matters")
        pages.runtime.holders.narrow(s, _target(s, holder_id), by=signed.holder, scope=scope,
                                     expires_at=_end_of(expires_on, "expires_on"), at=now())
    return _redirect("/holder/grants" + _q(request))


# -- passkeys ------------------------------------------------------------------------------------
@router.get("/passkeys")
def passkeys_page(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    with pages.runtime.sessions() as s:
        signed = _signed_page(pages, request, s)
        if not isinstance(signed, SignedIn):
            return signed
        keys = list(s.execute(select(HolderPasskey).where(HolderPasskey.holder_id == signed.holder.holder_id)
                              .order_by(HolderPasskey.created_at)).scalars())
        return _render(pages, "passkeys.html", lang, signed=signed, keys=keys)


@router.post("/passkeys/options")
def add_passkey_options(request: Request, pages: PagesDep) -> JSONResponse:
    at = now()
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, fresh=True)
        h = signed.holder
        existing = list(s.execute(select(HolderPasskey.credential_id).where(HolderPasskey.holder_id == h.holder_id))
                        .scalars())
        return JSONResponse(pages.passkeys.registration_options(
            s, purpose="add_passkey", subject=h.holder_id, user_name=h.name, display_name=h.name,
            user_handle=h.user_handle, exclude=existing, at=at))


@router.post("/passkeys/verify")
async def add_passkey_verify(request: Request, pages: PagesDep) -> JSONResponse:
    body = json_object(await request.body())

    def work() -> None:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            signed = _require(pages, request, s, fresh=True)
            reg = pages.passkeys.finish_registration(s, purpose="add_passkey",
                                                     ceremony_id=str(body.get("ceremony", "")),
                                                     credential=body.get("credential") or {}, at=at)
            if reg.invitation_id != signed.holder.holder_id:
                raise AuthError("this request was for another holder", code="holders.passkey_other_holder")
            count = len(list(s.execute(select(HolderPasskey.credential_id).where(
                HolderPasskey.holder_id == signed.holder.holder_id)).scalars()))
            s.add(HolderPasskey(credential_id=reg.credential_id, holder_id=signed.holder.holder_id,
                                public_key=reg.public_key, sign_count=reg.sign_count, label=str(count + 1),
                                created_at=at, last_used_at=None))

    await run_in_threadpool(work)
    return JSONResponse({"redirect": "/holder/passkeys"})


@router.post("/passkeys/remove")
@_guarded
def remove_passkey(request: Request, pages: PagesDep, lang: LangDep, csrf: Annotated[str, Form()] = "",
                   credential_id: Annotated[str, Form(max_length=1400)] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf=csrf, fresh=True)
        keys = list(s.execute(select(HolderPasskey).where(HolderPasskey.holder_id == signed.holder.holder_id))
                    .scalars())
        key = next((k for k in keys if k.credential_id == credential_id), None)
        if key is None:
            raise NotFound("no such passkey of yours", code="holders.passkey_unknown")
        if len(keys) == 1:
            raise HolderRefused("keep at least one passkey", code="holders.last_passkey")
        s.delete(key)
    return _redirect("/holder/passkeys" + _q(request))


# -- activity --------------------------------------------------------------------------------------
@router.get("/activity")
def activity(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    with pages.runtime.sessions() as s:
        signed = _signed_page(pages, request, s)
        if not isinstance(signed, SignedIn):
            return signed
        shown = s.execute(select(Presentation, Holder.name, Holder.role).join(
            Holder, Holder.holder_id == Presentation.holder_id).where(Presentation.uscc == signed.holder.uscc)
            .order_by(Presentation.created_at.desc()).limit(100)).all()
        kind = pages.runtime.registry.entity(signed.holder.uscc)["entity_kind"]  # type: ignore[index]
        platforms = {f"client:{c.client_id}": c.name for c in s.execute(select(ApiClient).where(
            ApiClient.client_id.in_({p.redeemed_by.removeprefix("client:") for p, _, _ in shown
                                     if p.redeemed_by}))).scalars()}
        rows = [{"p": p, "name": name, "role": role_label(HolderRole(role), kind, lang),
                 "by": platforms.get(p.redeemed_by or "", p.redeemed_by)} for p, name, role in shown]
        # every log-in in the entity's name (扫码登录), success or refusal
        logins = [{"login": lg, "name": name, "platform": platform,
                   "role": role_label(HolderRole(role), kind, lang) if role else ""}
                  for lg, name, role, platform in s.execute(
                      select(Login, Holder.name, Holder.role, Platform.name)
                      .outerjoin(Holder, Holder.holder_id == Login.holder_id)
                      .outerjoin(Platform, Platform.client_id == Login.client_id)
                      .where(Login.uscc == signed.holder.uscc).order_by(Login.at.desc()).limit(100)).all()]
    checks = pages.runtime.registry.verifications(signed.holder.uscc, 100)
    return _render(pages, "activity.html", lang, signed=signed, presentations=rows, checks=checks, logins=logins)

