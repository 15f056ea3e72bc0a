"""The window's console, ``/console/``: staff sign-in with passkeys, search, the entity's page,
print (正本 and 副本), 补发 with a supervisor's approval, a holder's invitation, verification for
people, activity. Server-rendered, Chinese first (``?lang=en``), the holder pages' one static script
for the passkey ceremonies, no inline script.

Every state-changing request must come from this origin (``Origin``) and carry the session's CSRF
token; every action is recorded (``staff.record``). Refusals are pages in the clerk's language
(``words.MESSAGES``); the passkey scripts' JSON calls get problem+json.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signing.errors import SigningPackageError

from ..db.models import (
    LicenseDocument,
    LicensePrint,
    LicenseVersion,
    MarketEntity,
    ReplacementRequest,
    StaffAction,
    StaffMember,
    StaffPasskey,
)
from ..domain.entity import EntityDetails
from ..domain.errors import FieldError, InputError
from ..domain.holding import HolderRefused, HolderRole
from ..domain.lifecycle import TransitionRefused
from ..domain.staff import StaffRefused, StaffRole
from ..errors import AuthError, Conflict, NotFound, RateLimited
from ..holders.passkeys import Passkeys, RelyingParty
from ..holders.proofing import WindowProofing, invitation_answer
from ..printed import printed_lines
from ..reasons import CHECK_LABELS, Reason
from ..registry import entity_view
from ..rendering.fonts import FontSet
from ..rendering.print_stock import FORMS, PrintJob, StockPrinter
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
from . import replacements
from .audit_pages import day_entries, issuance_summary
from .search import search
from .staff import SignedInStaff, StaffLedger, record
from .words import TEXT, message

__all__ = ["ConsolePages", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

_CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "Content-Security-Policy": _CSP,
            "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
_MAX_COPIES = 10


class ConsolePages:
    """What the console's routes need, kept on ``app.state.console``."""

    def __init__(self, runtime: IssuingRuntime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.rp = RelyingParty.of(settings.public_base_url)
        self.passkeys = Passkeys(self.rp)
        self.secure = not self.rp.origin.startswith("http://localhost")
        self.cookie = "__Host-elicense-staff" if self.secure else "elicense-staff"
        self.env = Environment(loader=FileSystemLoader(settings.templates_dir / "console"),
                               autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.env.filters["local_time"] = local_time
        self._printer: StockPrinter | None = None
        # the ceremonies before sign-in write a row each: limited per address, as the holder's are
        self.limit = TokenBucket(settings.rate_holder_per_second, settings.rate_holder_burst)

    @property
    def printer(self) -> StockPrinter:
        if self._printer is None:  # loads fonts: on first print, not at start
            self._printer = StockPrinter(FontSet(), self.runtime.settings.templates_dir)
        return self._printer


def _pages(request: Request) -> ConsolePages:
    pages: ConsolePages = request.app.state.console
    return pages


PagesDep = Annotated[ConsolePages, Depends(_pages)]


def _render(pages: ConsolePages, template: str, lang: str, *, status: int = 200, signed: SignedInStaff | None = None,
            **context: Any) -> HTMLResponse:
    html = pages.env.get_template(template).render(t=TEXT[lang], lang=lang, q="?lang=en" if lang == "en" else "",
                                                   amp="&lang=en" if lang == "en" else "", signed=signed, **context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _redirect(path: str, lang: str = "zh") -> RedirectResponse:
    sep = "&" if "?" in path else "?"
    return RedirectResponse(path + (f"{sep}lang=en" if lang == "en" else ""), status_code=303,
                            headers={"Cache-Control": "no-store"})


def _guarded(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Refusals as pages in the clerk's language."""
    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except SigningPackageError as e:  # a long-term form that cannot be made now (ltv.too_early...)
            return _render(kwargs["pages"], "message.html", kwargs.get("lang", "zh"), status=409, text=str(e),
                           code=getattr(e, "code", "signing"), field=None)
        except (StaffRefused, HolderRefused, TransitionRefused, AuthError, InputError, NotFound, Conflict) as e:
            pages: ConsolePages = kwargs["pages"]
            status = (401 if isinstance(e, AuthError) else 404 if isinstance(e, NotFound)
                      else 403 if isinstance(e, StaffRefused) else 409 if isinstance(e, TransitionRefused | Conflict)
                      else 422)
            lang = kwargs.get("lang", "zh")
            return _render(pages, "message.html", lang, status=status, text=message(e.code, e.detail, lang),
                           code=e.code, field=getattr(e, "field", None))
    return run


def _limited(pages: ConsolePages, request: Request) -> None:
    wait = pages.limit.take(request.client.host if request.client else "?")
    if wait is not None:
        raise RateLimited(wait)


def _same_origin(pages: ConsolePages, request: Request) -> None:
    same_origin(request, pages.rp.origin, code="staff.origin")


def _on_host(pages: ConsolePages, request: Request) -> RedirectResponse | None:
    return on_host(request, pages.rp.rp_id, pages.rp.origin)


def _signed(pages: ConsolePages, request: Request, s: Session) -> SignedInStaff | None:
    return StaffLedger.find(s, request.cookies.get(pages.cookie), now(), touch=True)


def _require(pages: ConsolePages, request: Request, s: Session, csrf: str | None = None) -> SignedInStaff:
    """The signed-in staff member, for a request that changes something: same origin and CSRF token."""
    _same_origin(pages, request)
    signed = _signed(pages, request, s)
    if signed is None:
        raise AuthError("sign in first", code="staff.signed_out")
    if not signed.csrf_ok(csrf if csrf is not None else request.headers.get("x-csrf-token")):
        raise AuthError("the form is out of date: reload the page", code="staff.csrf")
    return signed


def _session_response(pages: ConsolePages, cookie: str) -> JSONResponse:
    response = JSONResponse({"redirect": "/console/search"})
    set_session_cookie(response, pages.cookie, cookie, max_age=2 * 3600, secure=pages.secure)
    return response


# -- sign-in and enrolment -----------------------------------------------------------------------
@router.get("/")
def home(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _signed(pages, request, s)
    return _redirect("/console/search" if signed else "/console/sign-in", lang)


@router.get("/sign-in")
def sign_in_page(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    return _on_host(pages, request) or _render(pages, "sign_in.html", lang)


@router.post("/sign-in/options")
def sign_in_options(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    _limited(pages, request)
    with pages.runtime.write_sessions.begin() as s:
        return JSONResponse(pages.passkeys.authentication_options(s, purpose="staff_sign_in", holder=None, at=now()))


@router.post("/sign-in/verify")
async def sign_in_verify(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    body = json_object(await request.body())

    def work() -> str:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            c = pages.passkeys.take_ceremony(s, str(body.get("ceremony", "")), "staff_sign_in", at)
            credential = body.get("credential") or {}
            cid = credential.get("id") if isinstance(credential, dict) else None
            key = s.get(StaffPasskey, cid) if isinstance(cid, str) and len(cid) <= 1400 else None
            if key is None:
                raise AuthError("this passkey is not registered for the console", code="staff.passkey_unknown")
            member = s.get(StaffMember, key.staff_id)
            assert member is not None
            key.sign_count = pages.passkeys.check_assertion(c, credential, public_key=key.public_key,
                                                            sign_count=key.sign_count)
            key.last_used_at = at
            if member.status != "active":
                raise AuthError("this account is disabled", code="staff.disabled")
            record(s, member, "sign_in", None, at)
            return StaffLedger.start_session(s, member, at)

    return _session_response(pages, await run_in_threadpool(work))


@router.get("/enrol")
@_guarded
def enrol_page(request: Request, pages: PagesDep, lang: LangDep,
               t: Annotated[str, Query(max_length=64)] = "") -> Response:
    moved = _on_host(pages, request)
    if moved:
        return moved
    with pages.runtime.sessions() as s:
        member = StaffLedger.open_enrolment(s, t, now())
        return _render(pages, "enrol.html", lang, member=member, secret=t)


@router.post("/enrol/options")
async def enrol_options(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    _limited(pages, request)
    body = json_object(await request.body())

    def work() -> dict[str, Any]:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            member = StaffLedger.open_enrolment(s, str(body.get("secret") or ""), at)
            return pages.passkeys.registration_options(
                s, purpose="staff_enrol", subject=member.staff_id, user_name=f"{member.name} · 窗口",
                display_name=member.name, user_handle=secrets.token_urlsafe(16), exclude=[], at=at)

    return JSONResponse(await run_in_threadpool(work))


@router.post("/enrol/verify")
async def enrol_verify(request: Request, pages: PagesDep) -> JSONResponse:
    _same_origin(pages, request)
    body = json_object(await request.body())

    def work() -> str:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            reg = pages.passkeys.finish_registration(s, purpose="staff_enrol",
                                                     ceremony_id=str(body.get("ceremony", "")),
                                                     credential=body.get("credential") or {}, at=at)
            member = s.get(StaffMember, reg.invitation_id, with_for_update=True)
            if member is None or member.enrolled_at is not None or member.status != "invited":
                raise AuthError("this enrolment link has been used", code="staff.enrolment_used")
            if s.get(StaffPasskey, reg.credential_id) is not None:
                raise AuthError("this passkey is already registered", code="holders.passkey_known")
            member.enrolled_at, member.status, member.user_handle = at, "active", reg.user_handle
            member.status_changed_at = at
            s.add(StaffPasskey(credential_id=reg.credential_id, staff_id=member.staff_id, public_key=reg.public_key,
                               sign_count=reg.sign_count, created_at=at, last_used_at=at))
            record(s, member, "enrol", None, at)
            return StaffLedger.start_session(s, member, at)

    return _session_response(pages, await run_in_threadpool(work))


@router.post("/sign-out")
@_guarded
def sign_out(request: Request, pages: PagesDep, lang: LangDep, csrf: Annotated[str, Form()] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        _require(pages, request, s, csrf)
        StaffLedger.end(s, request.cookies.get(pages.cookie))
    response = _redirect("/console/sign-in", lang)
    end_session_cookie(response, pages.cookie, secure=pages.secure)
    return response


def _page_for(pages: ConsolePages, request: Request, s: Session) -> SignedInStaff | RedirectResponse:
    """A page's signed-in staff member, or where to go instead (the right host, or sign-in)."""
    moved = _on_host(pages, request)
    if moved:
        return moved
    signed = _signed(pages, request, s)
    if signed is None:
        return _redirect("/console/sign-in", page_lang(request))
    return signed


# -- search --------------------------------------------------------------------------------------
@router.get("/search")
@_guarded
def search_page(request: Request, pages: PagesDep, lang: LangDep,
                q: Annotated[str, Query(max_length=100)] = "", kind: Annotated[str, Query(max_length=32)] = "",
                status: Annotated[str, Query(max_length=16)] = "",
                after: Annotated[str, Query(max_length=18)] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        found = None
        if q.strip():
            found = search(s, q, division=signed.division, kind=kind or None, status=status or None,
                           after=after or None)
            record(s, signed.staff, "search", q.strip(), now(), kind=kind or None, status=status or None,
                   results=len(found.rows))
        return _render(pages, "search.html", lang, signed=signed, page="search", query=q, kind=kind,
                       status_filter=status, found=found, after=after)


# -- the entity ----------------------------------------------------------------------------------
def _entity(s: Session, signed: SignedInStaff, uscc: str) -> MarketEntity:
    uscc = uscc.strip().upper()
    signed.require_entity(uscc)
    entity = s.get(MarketEntity, uscc)
    if entity is None:
        raise NotFound("no such entity", code="entity.unknown")
    return entity


UsccPath = Annotated[str, Path(max_length=18, min_length=18)]


@router.get("/entity/{uscc}")
@_guarded
def entity_page(request: Request, pages: PagesDep, lang: LangDep, uscc: UsccPath) -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        entity = _entity(s, signed, uscc)
        view = entity_view(entity, pages.runtime.settings.public_base_url)
        current = next(lic for lic in entity.licenses if lic.version == entity.current_version)
        left, right = printed_lines(EntityDetails.from_record(json.loads(current.record)["entity"]),
                                    pages.runtime.settings.templates_dir / "license")
        requests = list(s.execute(select(ReplacementRequest).where(ReplacementRequest.uscc == entity.uscc)
                                  .order_by(ReplacementRequest.requested_at.desc()).limit(20)).scalars())
        prints = list(s.execute(select(LicensePrint).where(LicensePrint.license_id.in_(
            [lic.license_id for lic in entity.licenses])).order_by(LicensePrint.id.desc()).limit(20)).scalars())
        names = _staff_names(s, {r.requested_by for r in requests} | {r.decided_by or "" for r in requests}
                             | {p.staff_id for p in prints})
        record(s, signed.staff, "view", entity.uscc, now())
        checks = pages.runtime.registry.verifications(entity.uscc, 20)
        return _render(pages, "entity.html", lang, signed=signed, page="search", entity=view, lines=[*left, *right],
                       current=current, requests=requests, prints=prints, names=names, checks=checks,
                       forms=FORMS)


def _staff_names(s: Session, ids: set[str]) -> dict[str, str]:
    ids.discard("")
    if not ids:
        return {}
    return {m.staff_id: m.name for m in s.execute(select(StaffMember).where(StaffMember.staff_id.in_(ids))).scalars()}


@router.get("/entity/{uscc}/licenses/{license_id}.pdf")
@_guarded
def license_pdf(request: Request, pages: PagesDep, lang: LangDep, uscc: UsccPath,
                license_id: Annotated[str, Path(max_length=96)], form: str = "") -> Response:
    """The PDF as issued, or (``form=long-term``) its long-term form (PAdES B-LTA)."""
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        entity = _entity(s, signed, uscc)
        doc = s.get(LicenseDocument, license_id)
        if doc is None or all(lic.license_id != license_id for lic in entity.licenses):
            raise NotFound("no such license of this entity", code="license.unknown")
        pdf = doc.pdf
        record(s, signed.staff, "download", license_id, now(), form=form or "issued")
    if form == "long-term":
        pdf = pages.runtime.issuance.long_term(pdf, at=now())
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{license_id}{"-lta" if form else ""}.pdf"',
        "Cache-Control": "no-store"})


# -- print ---------------------------------------------------------------------------------------
@router.post("/entity/{uscc}/print")
@_guarded
def print_license(request: Request, pages: PagesDep, lang: LangDep, uscc: UsccPath,
                  csrf: Annotated[str, Form()] = "", form: Annotated[str, Form(max_length=16)] = "original",
                  copies: Annotated[int, Form(ge=1, le=_MAX_COPIES)] = 1, test: Annotated[str, Form()] = "",
                  offset_x: Annotated[float, Form(ge=-20, le=20)] = 0.0,
                  offset_y: Annotated[float, Form(ge=-20, le=20)] = 0.0) -> Response:
    """A print-ready PDF of the current version on the stock for ``form`` (正本: one page; 副本:
    ``copies`` pages numbered on from the last 副本 printed of this version). Recorded (a test print
    too, as such); a test print draws the stock's frame and takes no numbers."""
    if form not in FORMS:
        raise FieldError("form", "enum", "original or duplicate")
    at = now()
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf)
        signed.require(StaffRole.CLERK, StaffRole.SUPERVISOR)
        entity = _entity(s, signed, uscc)
        if entity.status != "active":
            raise StaffRefused("a license out of force is not printed", code="print.not_active")
        lic = s.execute(select(LicenseVersion).where(LicenseVersion.uscc == entity.uscc,
                                                     LicenseVersion.version == entity.current_version)).scalar_one()
        record_ = json.loads(lic.record)
        n = 1 if form == "original" else copies
        first = 0
        if form == "duplicate" and not test:
            last = s.execute(select(func.max(LicensePrint.first_number + LicensePrint.copies - 1)).where(
                LicensePrint.license_id == lic.license_id, LicensePrint.form == "duplicate")).scalar_one()
            first = (last or 0) + 1
        if not test:
            s.add(LicensePrint(license_id=lic.license_id, form=form, copies=n, first_number=first if first else 1,
                               staff_id=signed.staff.staff_id, printed_at=at))
        record(s, signed.staff, "print.test" if test else "print", lic.license_id, at, form=form, copies=n,
               numbers=[first + i for i in range(n)] if first else None)
        job = PrintJob(details=EntityDetails.from_record(record_["entity"]), uscc=lic.uscc, serial=lic.serial,
                       authority=record_["authority"]["name"], registered_on=lic.registered_on,
                       verify_url=entity_view(entity, pages.runtime.settings.public_base_url)["licenses"][
                           lic.version - 1]["verify_url"],
                       form=form, numbers=tuple(first + i for i in range(n)) if first else (0,) * n,
                       test=bool(test), offset_mm=(offset_x, offset_y))
    pdf = pages.printer.render(job)
    name = f"{lic.uscc}-v{lic.version}-{'zhengben' if form == 'original' else 'fuben'}{'-test' if test else ''}.pdf"
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


# -- 补发 --------------------------------------------------------------------------------------------
@router.post("/entity/{uscc}/replacement")
@_guarded
def request_replacement(request: Request, pages: PagesDep, lang: LangDep, uscc: UsccPath,
                        csrf: Annotated[str, Form()] = "",
                        reason: Annotated[str, Form(max_length=400)] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf)
        replacements.request_replacement(s, signed, uscc.strip().upper(), reason, now())
    return _redirect(f"/console/entity/{uscc}", lang)


@router.get("/replacements")
@_guarded
def replacements_page(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        prefix = signed.division.prefix
        rows = list(s.execute(select(ReplacementRequest, MarketEntity.name).join(
            MarketEntity, MarketEntity.uscc == ReplacementRequest.uscc).where(
            func.substr(ReplacementRequest.uscc, 3, len(prefix)) == prefix)
            .order_by(ReplacementRequest.requested_at.desc()).limit(100)).all())
        names = _staff_names(s, {r.requested_by for r, _ in rows} | {r.decided_by or "" for r, _ in rows})
        return _render(pages, "replacements.html", lang, signed=signed, page="replacements", rows=rows, names=names)


@router.post("/replacements/{request_id}")
@_guarded
def decide_replacement(request: Request, pages: PagesDep, lang: LangDep,
                       request_id: Annotated[str, Path(max_length=32)], csrf: Annotated[str, Form()] = "",
                       decision: Annotated[str, Form(max_length=8)] = "") -> Response:
    if decision not in ("approve", "reject"):
        raise FieldError("decision", "enum", "approve or reject")
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf)
        s.flush()  # the session's use (idle timeout) is kept before the rows leave this transaction
        s.expunge(signed.staff)
        s.expunge(signed.session)
    replacements.decide(pages.runtime.write_sessions, pages.runtime.issuance, signed, request_id,
                        approve=decision == "approve", at=now())
    return _redirect("/console/replacements", lang)


# -- a holder's invitation ---------------------------------------------------------------------------
@router.post("/entity/{uscc}/invitation")
@_guarded
def invite_holder(request: Request, pages: PagesDep, lang: LangDep, uscc: UsccPath,
                  csrf: Annotated[str, Form()] = "", name: Annotated[str, Form(max_length=200)] = "",
                  id_checked: Annotated[str, Form()] = "") -> Response:
    """After checking the legal representative's identity card in person: their single-use
    invitation, with its QR for their phone (``holders/proofing.py``, created by ``window:staff:<id>``)."""
    if id_checked != "yes":
        raise FieldError("id_checked", "required", "check the identity card in person first")
    at = now()
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf)
        signed.require(StaffRole.CLERK, StaffRole.SUPERVISOR)
        entity = _entity(s, signed, uscc)
        inv = WindowProofing(f"staff:{signed.staff.staff_id}").invite(
            s, pages.runtime.holders, uscc=entity.uscc, role=HolderRole.LEGAL_REPRESENTATIVE, name=name.strip(), at=at)
        record(s, signed.staff, "invite", entity.uscc, at, role="legal_representative")
        answer = invitation_answer(pages.runtime.settings.public_base_url, inv, uscc=entity.uscc,
                                   role=HolderRole.LEGAL_REPRESENTATIVE, name=name.strip())
        return _render(pages, "invitation.html", lang, signed=signed, page="search", answer=answer,
                       entity_name=entity.name, qr=qr_svg(answer["invitation_url"], label=TEXT[lang]["invitation"]))


# -- verify --------------------------------------------------------------------------------------
@router.get("/verify")
def verify_page(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        return _render(pages, "verify.html", lang, signed=signed, page="verify", report=None,
                       available=_verifier(request) is not None)


def _verifier(request: Request) -> Any:
    """The verification service, when this process serves it too (``--app all``): the console uses
    its service object (duck-typed: the issuing side does not import ``verify_app``)."""
    state = getattr(request.app.state, "verify", None)
    return getattr(state, "service", None)


@router.post("/verify")
async def verify(request: Request, pages: PagesDep, lang: LangDep, csrf: Annotated[str, Form()] = "",
                 token: Annotated[str, Form(max_length=8000)] = "",
                 pdf: Annotated[UploadFile | None, File()] = None) -> Response:
    data = await pdf.read(pages.runtime.settings.max_pdf_bytes + 1) if pdf is not None and pdf.filename else b""

    @_guarded
    def work(*, pages: ConsolePages, lang: str) -> Response:
        at = now()
        with pages.runtime.write_sessions.begin() as s:
            signed = _require(pages, request, s, csrf)
            service = _verifier(request)
            if service is None:
                raise NotFound("verification is served by the verification service", code="console.no_verifier")
            if len(data) > pages.runtime.settings.max_pdf_bytes:
                raise FieldError("pdf", "size", "the PDF is too large")
            if not data and not token.strip():
                raise FieldError("token", "required", "upload a PDF or paste a token")
            report = service.verify_pdf(data, at=at) if data else service.verify_token(token.strip(), at=at)
            body = json.loads(report.json_bytes())
            for check in body["checks"]:  # the check and what its code means, in the page's language
                meaning = Reason.of(check["reason"])
                zh, en = CHECK_LABELS.get(check["name"], (check["name"], check["name"]))
                check["label"], check["meaning"] = (en, meaning.en) if lang == "en" else (zh, meaning.zh)
            lic = body.get("license")
            record(s, signed.staff, "verify", lic.get("license_id") if isinstance(lic, dict) else None, at,
                   channel="pdf" if data else "token", verdict=body.get("verdict"))
            return _render(pages, "verify.html", lang, signed=signed, page="verify", report=body, available=True)

    return await run_in_threadpool(functools.partial(work, pages=pages, lang=lang))


# -- activity and staff -------------------------------------------------------------------------
@router.get("/activity")
@_guarded
def activity(request: Request, pages: PagesDep, lang: LangDep,
             scope: Annotated[str, Query(max_length=16)] = "mine") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        query = select(StaffAction, StaffMember.name).join(StaffMember, StaffMember.staff_id == StaffAction.staff_id)
        if scope == "division":
            signed.require(StaffRole.SUPERVISOR, StaffRole.AUDITOR)
            prefix = signed.division.prefix
            query = query.where(StaffAction.division_code.startswith(prefix, autoescape=True))
        else:
            query = query.where(StaffAction.staff_id == signed.staff.staff_id)
        rows = s.execute(query.order_by(StaffAction.id.desc()).limit(200)).all()
        staff = []
        if signed.role is StaffRole.SUPERVISOR:
            staff = list(s.execute(select(StaffMember).where(StaffMember.division_code.startswith(
                signed.division.prefix, autoescape=True)).order_by(StaffMember.created_at)).scalars())
        return _render(pages, "activity.html", lang, signed=signed, page="activity", rows=rows, scope=scope,
                       staff=staff)


@router.post("/staff/{staff_id}/disable")
@_guarded
def disable_staff(request: Request, pages: PagesDep, lang: LangDep, staff_id: Annotated[str, Path(max_length=32)],
                  csrf: Annotated[str, Form()] = "") -> Response:
    with pages.runtime.write_sessions.begin() as s:
        signed = _require(pages, request, s, csrf)
        StaffLedger.disable(s, signed, staff_id, now())
    return _redirect("/console/activity?scope=division", lang)


# -- the auditor's pages ----------------------------------------------------------------------------
@router.get("/audit")
@_guarded
def audit_page(request: Request, pages: PagesDep, lang: LangDep) -> Response:
    """Issuance per day (China time), per division and authority, the latest checkpoints."""
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        signed.require(StaffRole.AUDITOR, StaffRole.SUPERVISOR)
        summary = issuance_summary(s, pages.runtime.log, signed.division, at=now())
        record(s, signed.staff, "audit.view", None, now())
        return _render(pages, "audit.html", lang, signed=signed, page="audit", **summary)


@router.get("/audit/{day}")
@_guarded
def audit_day(request: Request, pages: PagesDep, lang: LangDep,
              day: Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$")]) -> Response:
    """One day's log entries (drill-down)."""
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise FieldError("day", "date", "a date, YYYY-MM-DD") from None
    with pages.runtime.write_sessions.begin() as s:
        signed = _page_for(pages, request, s)
        if not isinstance(signed, SignedInStaff):
            return signed
        signed.require(StaffRole.AUDITOR, StaffRole.SUPERVISOR)
        entries = day_entries(s, signed.division, on)
        record(s, signed.staff, "audit.day", day, now())
        return _render(pages, "audit_day.html", lang, signed=signed, page="audit", day=day, entries=entries)
