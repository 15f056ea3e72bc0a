"""A login request (扫码登录), from the platform's redirect to the holder's decision.

The desktop's authorize page opens one (:func:`open_request`): a QR of ``/oidc/scan/{handle}`` and a
short code to type at ``/oidc/scan`` instead, a two-digit number, and a cookie that binds the request
to that browser (only it may collect the result). The phone that scans it shows the platform's name
and what it asks, the holder types the number the desktop shows (the cross-device countermeasure of
RFC 8628 s.5.4 and the IETF cross-device flows BCP: a QR relayed to a victim by a phishing site
carries no number the victim can see) and approves with a passkey. A wrong number ends the request.
On the same device the holder approves on the authorize page itself, with no number.

Every decision is recorded (:class:`Login`), refusals too; a successful one is a log leaf. Every
function takes ``at``.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from authlib.common.urls import add_params_to_uri
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db.models import Holder, Login, LoginRequest, MarketEntity
from ..domain.holding import HolderRefused, HolderRole, check_login, parse_scope
from ..errors import NotFound
from ..holders.ledger import normalize_code
from ..holders.standing import effective_status, secret_digest
from ..log.writer import IssuanceLog
from .leaves import login_leaf
from .provider import Approval, PlatformFacts, Provider

__all__ = ["REQUEST_TTL", "OpenedRequest", "approve", "deny", "finish", "for_desktop", "for_phone", "open_request",
           "request_state"]

REQUEST_TTL = timedelta(minutes=5)
_KEEP = timedelta(days=1)  # spent requests are kept this long: their nonces count as used
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class OpenedRequest:
    request_id: str
    handle: str  # in the QR's URL; shown once, stored hashed
    code: str  # typed at /oidc/scan; shown once, stored hashed
    desktop: str  # the desktop browser's cookie; stored hashed
    number: str
    expires_at: datetime

    @property
    def display_code(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}"


def open_request(s: Session, provider: Provider, query: str, uri: str, *, at: datetime
                 ) -> tuple[OpenedRequest, PlatformFacts]:
    """A new pending request for a valid authorization request. Raises authlib's ``OAuth2Error``
    (``Provider.validate_authorization``) for an invalid one."""
    s.execute(delete(LoginRequest).where(LoginRequest.expires_at < at - _KEEP))
    client, data = provider.validate_authorization(query, uri, s, at)
    opened = OpenedRequest(uuid.uuid4().hex, secrets.token_urlsafe(24),
                           "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)), secrets.token_urlsafe(24),
                           f"{secrets.randbelow(90) + 10}", at + REQUEST_TTL)
    s.add(LoginRequest(request_id=opened.request_id, client_id=client.get_client_id(), query=query,
                       nonce_sha256=secret_digest(data["nonce"]) if data.get("nonce") else None,
                       handle_sha256=secret_digest(opened.handle), code_sha256=secret_digest(opened.code),
                       desktop_sha256=secret_digest(opened.desktop), match_number=opened.number, status="pending",
                       refusal=None, holder_id=None, share_name=0, auth_time=None, login_id=None, created_at=at,
                       expires_at=opened.expires_at))
    return opened, client.row


def request_state(req: LoginRequest, at: datetime) -> str:
    """``pending``, ``approved``, ``refused``, ``denied``, ``used``, or ``expired`` (pending or approved
    past its time)."""
    if req.status in ("pending", "approved") and at >= req.expires_at:
        return "expired"
    return req.status


def for_desktop(s: Session, request_id: str, desktop: str | None, *, lock: bool = False) -> LoginRequest:
    """The request, for the browser that opened it (its cookie). Raises ``NotFound``
    (``login.unknown``) otherwise."""
    q = select(LoginRequest).where(LoginRequest.request_id == request_id)
    req = s.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if req is None or not desktop or not hmac.compare_digest(req.desktop_sha256, secret_digest(desktop)):
        raise NotFound("no such login request in this browser", code="login.unknown")
    return req


def for_phone(s: Session, *, handle: str | None = None, code: str | None = None, at: datetime,
              lock: bool = False) -> LoginRequest:
    """The pending request a scanned QR (``handle``) or typed code names. Raises ``NotFound``
    (``login.unknown``), or ``HolderRefused``: ``login.expired``, ``login.used`` (approved or
    collected already), ``login.denied``, ``login.refused``."""
    digest = secret_digest(handle) if handle else secret_digest(normalize_code(code or "")) if code else None
    column = LoginRequest.handle_sha256 if handle else LoginRequest.code_sha256
    q = select(LoginRequest).where(column == digest)
    req = s.execute(q.with_for_update() if lock else q).scalar_one_or_none() if digest else None
    if req is None:
        raise NotFound("no such login request: scan the code again", code="login.unknown")
    state = request_state(req, at)
    if state == "expired":
        raise HolderRefused("this login request has expired: start again on the computer", code="login.expired")
    if state in ("approved", "used"):
        raise HolderRefused("this login request was already used", code="login.used")
    if state == "denied":
        raise HolderRefused("this login request was declined", code="login.denied")
    if state == "refused":
        raise HolderRefused("this login request was refused", code="login.refused")
    return req


def _record(s: Session, log: IssuanceLog, req: LoginRequest, holder: Holder, outcome: str, at: datetime) -> str:
    login_id = uuid.uuid4().hex
    leaf = None
    if outcome == "ok":
        leaf = log.append(s, login_leaf(login_id=login_id, holder_id=holder.holder_id, uscc=holder.uscc,
                                        client_id=req.client_id, at=at), at=at)
    s.add(Login(login_id=login_id, uscc=holder.uscc, holder_id=holder.holder_id, client_id=req.client_id,
                outcome=outcome, at=at, leaf_index=leaf))
    return login_id


def approve(s: Session, log: IssuanceLog, req: LoginRequest, holder: Holder, *, number: str | None,
            share_name: bool, at: datetime) -> str | None:
    """The holder (proven with a passkey just now) approves ``req``: ``number`` is what they typed
    (None on the same device). Returns None when approved, else the refusal's code (the request is
    then over, and the refusal recorded): ``login.wrong_number``, or ``check_login``'s."""
    refusal: str | None = None
    if number is not None and not hmac.compare_digest(number.strip().encode(), req.match_number.encode()):
        refusal = "login.wrong_number"
    else:
        entity = s.get(MarketEntity, holder.uscc)
        try:
            check_login(effective_status(holder, at), HolderRole(holder.role), parse_scope(holder.scope),
                        req.client_id, entity_status=entity.status if entity else "cancelled")
        except HolderRefused as e:
            refusal = e.code
    login_id = _record(s, log, req, holder, refusal or "ok", at)
    req.holder_id = holder.holder_id
    req.login_id = login_id
    if refusal:
        req.status, req.refusal = "refused", refusal
        return refusal
    req.status, req.share_name, req.auth_time = "approved", int(share_name), at
    return None


def deny(req: LoginRequest) -> None:
    """The holder declined."""
    req.status, req.refusal = "denied", "login.denied"


def finish(s: Session, provider: Provider, req: LoginRequest, uri: str, *, at: datetime) -> str:
    """Where the desktop goes once the holder decided: the platform's redirect URI with a new code
    (approved), or with ``error=access_denied`` and the reason (declined, refused, expired). Raises
    ``HolderRefused`` (``login.used``) for a request already collected, ``login.pending`` for one
    still waiting."""
    state = request_state(req, at)
    if state == "used":
        raise HolderRefused("this login request was already used", code="login.used")
    if state == "pending":
        raise HolderRefused("the holder has not decided yet", code="login.pending")
    if state == "approved":
        assert req.holder_id and req.auth_time and req.login_id
        location = provider.authorize(req.query, uri, s, at, Approval(req.holder_id, req.auth_time,
                                                                      bool(req.share_name), req.login_id),
                                      request_id=req.request_id)
        req.status = "used"
        return location
    data = dict(parse_qsl(req.query))
    reason = {"expired": "login.expired"}.get(state, req.refusal or "login.denied")
    if state == "expired":
        req.status, req.refusal = "refused", reason
    params = [("error", "access_denied"), ("error_description", reason)]
    if data.get("state"):
        params.append(("state", data["state"]))
    denied: str = add_params_to_uri(data["redirect_uri"], params)
    return denied
