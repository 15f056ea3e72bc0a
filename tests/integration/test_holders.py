"""Holders over HTTP through the real app, on SQLite and PostgreSQL: the window's invitation, enrolment
and sign-in with passkeys (a software authenticator: ``tests/passkey_device.py``), 亮照 and its
redemption, grants and revocation, and what a change of legal representative or the end of the entity
does. Each refusal is asserted with its reason code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from devapp import create_app as create_combined_app
from license_service.db.models import Holder, HolderInvitation, LogLeaf, Presentation
from license_service.domain.holding import HolderRole
from license_service.oauth import create_client
from license_service.runtime.issuing import IssuingRuntime
from tests.conftest import entity, event
from tests.integration.helpers import problem
from tests.passkey_device import PasskeyDevice

ORIGIN = "http://localhost"


@pytest.fixture(scope="module")
def holder_runtime(runtime: IssuingRuntime) -> Iterator[IssuingRuntime]:
    """The shared database, served on ``localhost`` (passkeys need a host name, not an IP or testserver)."""
    settings = runtime.settings.model_copy(update={"public_base_url": ORIGIN, "rate_holder_burst": 10_000,
                                                   "rate_holder_per_second": 1000.0})
    r = IssuingRuntime.build(settings)
    yield r
    r.engine.dispose()


@pytest.fixture(scope="module")
def holder_app(holder_runtime: IssuingRuntime) -> FastAPI:
    return create_combined_app(holder_runtime.settings, holder_runtime)


def _bearer(app: FastAPI, runtime: IssuingRuntime, scopes: str) -> TestClient:
    cid, secret = create_client(runtime.sessions, "window", scopes.split(), at=datetime.now(UTC))
    anon = TestClient(app, base_url=ORIGIN)
    token = anon.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                            "client_secret": secret, "scope": scopes}).json()["access_token"]
    return TestClient(app, base_url=ORIGIN, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def window(holder_app: FastAPI, holder_runtime: IssuingRuntime) -> TestClient:
    return _bearer(holder_app, holder_runtime, "holders:invite registrations:write licenses:read")


@pytest.fixture(scope="module")
def platform(holder_app: FastAPI, holder_runtime: IssuingRuntime) -> TestClient:
    return _bearer(holder_app, holder_runtime, "verify")


class Phone:
    """A person's phone: a browser (cookies) and a passkey authenticator."""

    def __init__(self, app: FastAPI) -> None:
        self.http = TestClient(app, base_url=ORIGIN, follow_redirects=False)
        self.device = PasskeyDevice(ORIGIN)
        self.csrf = ""

    def post_json(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.http.post(path, json=body or {}, headers={"Origin": ORIGIN, "X-CSRF-Token": self.csrf})

    def form(self, path: str, data: dict[str, Any]) -> Any:
        return self.http.post(path, data={"csrf": self.csrf, **data}, headers={"Origin": ORIGIN})

    def page(self, path: str) -> Any:
        r = self.http.get(path)
        found = re.search(r'name="csrf" content="([^"]+)"', r.text)
        if found:
            self.csrf = found.group(1)
        return r

    def enrol(self, secret: str) -> Any:
        options = self.post_json("/holder/enrol/options", {"secret": secret})
        assert options.status_code == 200, options.text
        credential = self.device.create(options.json()["publicKey"])
        return self.post_json("/holder/enrol/verify", {"ceremony": options.json()["ceremony"],
                                                       "credential": credential})

    def sign_in(self, *, use: int | None = None) -> Any:
        options = self.post_json("/holder/sign-in/options").json()
        return self.post_json("/holder/sign-in/verify", {"ceremony": options["ceremony"],
                                                         "credential": self.device.get(options["publicKey"], use=use)})

    def reauth(self, device: PasskeyDevice | None = None) -> Any:
        self.page("/holder/")
        options = self.post_json("/holder/reauth/options").json()
        return self.post_json("/holder/reauth/verify", {"ceremony": options["ceremony"],
                                                        "credential": (device or self.device).get(options["publicKey"])})

    def show(self) -> str:
        r = self.page("/holder/show")
        assert r.status_code == 200, r.text
        return re.search(r"<code>(http[^<]+/p/[^<]+)</code>", r.text).group(1)  # type: ignore[union-attr]

    def grant(self, role: str, name: str, *, matters: list[str] | None = None, expires_on: str | None = None,
              all_matters: bool = False) -> Any:
        self.reauth()
        data: dict[str, Any] = {"role": role, "name": name,
                                "expires_on": expires_on or (datetime.now(UTC) + timedelta(days=60)).date().isoformat()}
        if matters:
            data["matters"] = matters
        if all_matters:
            data["all_matters"] = "1"
        return self.form("/holder/grants", data)


def _invitation_secret(url: str) -> str:
    return url.split("?i=", 1)[1]


@pytest.fixture
def company(window: TestClient) -> dict[str, Any]:
    ent = entity()
    r = window.post("/api/v1/registrations", json=event("establishment", ent))
    assert r.status_code == 201, r.text
    return ent


def _invite(window: TestClient, ent: dict[str, Any], **over: Any) -> Any:
    return window.post(f"/api/v1/entities/{ent['uscc']}/holder-invitations",
                       json={"role": "legal_representative", "name": ent["representative"], **over})


@pytest.fixture
def representative(holder_app: FastAPI, window: TestClient, company: dict[str, Any]) -> Phone:
    """The company's legal representative, enrolled and signed in."""
    r = _invite(window, company)
    assert r.status_code == 201, r.text
    phone = Phone(holder_app)
    assert phone.enrol(_invitation_secret(r.json()["invitation_url"])).status_code == 200
    return phone


# -- the window's invitation ---------------------------------------------------------------------
def test_window_invitation_contract(window: TestClient, company: dict[str, Any], holder_runtime: IssuingRuntime,
                                    holder_app: FastAPI) -> None:
    r = _invite(window, company)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["invitation_url"].startswith(f"{ORIGIN}/holder/enrol?i=")
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", body["code"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    secret = _invitation_secret(body["invitation_url"])
    with holder_runtime.sessions() as s:  # stored only hashed
        rows = s.execute(select(HolderInvitation).where(HolderInvitation.uscc == company["uscc"])).scalars().all()
        assert rows and all(secret not in (x.secret_sha256, x.code_sha256) for x in rows)
    # the page of the invitation names the entity, the role as printed and the person
    page = TestClient(holder_app, base_url=ORIGIN).get(f"/holder/enrol?i={secret}")
    assert page.status_code == 200 and company["representative"] in page.text and "法定代表人" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(("body", "status", "code_or_field"), [
    ({"role": "legal_representative", "name": "别人"}, 422, "holders.name_not_registered"),
    ({"role": "administrator", "name": "王五"}, 422, "holders.role_by_grantor"),
    ({"role": "chairman", "name": "王五"}, 422, "role"),
    ({"role": "legal_representative"}, 422, "name"),
    ({"role": "legal_representative", "name": "张\u202e三"}, 422, "name"),
    ({"role": "legal_representative", "name": "x", "extra": 1}, 422, "extra"),
])
def test_window_invitation_refusals(window: TestClient, company: dict[str, Any], body: dict[str, Any], status: int,
                                    code_or_field: str) -> None:
    got = problem(window.post(f"/api/v1/entities/{company['uscc']}/holder-invitations", json=body), status)
    fields = [e["field"] for e in got.get("errors", [])]
    assert got["code"] == code_or_field or code_or_field in fields, got


def test_window_invitation_needs_the_scope_and_a_known_entity(holder_app: FastAPI, holder_runtime: IssuingRuntime,
                                                              company: dict[str, Any], window: TestClient) -> None:
    verify_only = _bearer(holder_app, holder_runtime, "verify")
    assert verify_only.post(f"/api/v1/entities/{company['uscc']}/holder-invitations",
                            json={"role": "legal_representative", "name": "x"}).status_code == 403
    assert TestClient(holder_app, base_url=ORIGIN).post(
        f"/api/v1/entities/{company['uscc']}/holder-invitations", json={}).status_code == 401
    unknown = entity()["uscc"]
    assert problem(window.post(f"/api/v1/entities/{unknown}/holder-invitations",
                               json={"role": "legal_representative", "name": "x"}), 404)["code"] == "entity.unknown"


# -- enrolment and sign-in ------------------------------------------------------------------------
def test_enrol_sign_in_and_the_license_page(representative: Phone, company: dict[str, Any],
                                            holder_runtime: IssuingRuntime) -> None:
    home = representative.page("/holder/")
    assert home.status_code == 200 and company["name"] in home.text and "下载执照 PDF" in home.text
    cookie = representative.http.cookies
    assert any(c.name == "elicense-holder" for c in cookie.jar)
    pdf = representative.http.get("/holder/license.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    # signed out, then in again with the passkey alone (no user name)
    assert representative.form("/holder/sign-out", {}).status_code == 303
    assert representative.http.get("/holder/").headers["location"].startswith("/holder/sign-in")
    assert representative.sign_in().status_code == 200
    assert representative.page("/holder/").status_code == 200
    with holder_runtime.sessions() as s:
        h = s.execute(select(Holder).where(Holder.uscc == company["uscc"])).scalar_one()
        assert h.role == "legal_representative" and h.status == "active" and h.leaf_index is not None
        leaf = s.get(LogLeaf, h.leaf_index)
        assert leaf is not None and b'"holder.bound"' in leaf.data
        assert company["representative"].encode() not in leaf.data  # no personal data in the public log


def test_reused_expired_and_foreign_invitations(holder_app: FastAPI, window: TestClient, company: dict[str, Any],
                                                holder_runtime: IssuingRuntime) -> None:
    secret = _invitation_secret(_invite(window, company).json()["invitation_url"])
    first = Phone(holder_app)
    assert first.enrol(secret).status_code == 200
    again = Phone(holder_app)
    assert problem(again.post_json("/holder/enrol/options", {"secret": secret}), 422)["code"] == \
        "holders.invitation_used"
    # the page of a used invitation says so in words
    page = again.http.get(f"/holder/enrol?i={secret}")
    assert page.status_code == 422 and "已被使用" in page.text
    # expired: made two days ago with a 24 h life
    with holder_runtime.write_sessions.begin() as s:
        old = holder_runtime.holders.invite(s, uscc=company["uscc"], role=HolderRole.LEGAL_REPRESENTATIVE,
                                            name=company["representative"], created_by="window:test",
                                            at=datetime.now(UTC) - timedelta(days=2))
    assert problem(again.post_json("/holder/enrol/options", {"secret": old.secret}), 422)["code"] == \
        "holders.invitation_expired"
    # a typed code with another entity's USCC
    fresh = _invite(window, company).json()
    other = entity()["uscc"]
    assert problem(again.post_json("/holder/enrol/options", {"code": fresh["code"], "uscc": other}), 422)["code"] == \
        "holders.invitation_other_entity"
    # the right USCC and the code typed in lower case, without the dash
    ok = again.post_json("/holder/enrol/options", {"code": fresh["code"].lower().replace("-", ""),
                                                   "uscc": company["uscc"]})
    assert ok.status_code == 200 and ok.json()["publicKey"]["authenticatorSelection"]["userVerification"] == "required"
    assert problem(again.post_json("/holder/enrol/options", {"secret": "nope" * 8}), 422)["code"] == \
        "holders.invitation_unknown"


def test_passkey_answers_that_must_fail(holder_app: FastAPI, representative: Phone, window: TestClient,
                                        company: dict[str, Any]) -> None:
    # without user verification
    lazy = Phone(holder_app)
    lazy.device.user_verifying = False
    assert problem(lazy.enrol(_invitation_secret(_invite(window, company).json()["invitation_url"])), 401)["code"] \
        == "holders.passkey_rejected"
    # from another origin (a phishing site relaying the ceremony)
    phished = Phone(holder_app)
    phished.device.origin = "https://elicense.example.net"
    assert problem(phished.enrol(_invitation_secret(_invite(window, company).json()["invitation_url"])), 401)["code"] \
        == "holders.passkey_rejected"
    # a request from another site is refused before anything
    r = representative.http.post("/holder/sign-in/options", json={}, headers={"Origin": "https://evil.example"})
    assert problem(r, 401)["code"] == "holders.origin"
    # a passkey nobody registered here
    stranger = Phone(holder_app)
    stranger.device.create({"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"})
    assert problem(stranger.sign_in(), 401)["code"] == "holders.passkey_unknown"
    # a ceremony is used once
    options = representative.post_json("/holder/sign-in/options").json()
    answer = representative.device.get(options["publicKey"])
    assert representative.post_json("/holder/sign-in/verify", {"ceremony": options["ceremony"],
                                                                "credential": answer}).status_code == 200
    assert problem(representative.post_json("/holder/sign-in/verify", {"ceremony": options["ceremony"],
                                                                        "credential": answer}), 401)["code"] == \
        "holders.ceremony_expired"


def test_reauthentication_with_another_holders_passkey(holder_app: FastAPI, representative: Phone,
                                                       window: TestClient) -> None:
    other_company = entity()
    window.post("/api/v1/registrations", json=event("establishment", other_company))
    other = Phone(holder_app)
    assert other.enrol(_invitation_secret(_invite(window, other_company).json()["invitation_url"])).status_code == 200
    representative.page("/holder/")
    options = representative.post_json("/holder/reauth/options").json()
    options["publicKey"]["allowCredentials"] = []  # the other phone answers with its own passkey
    r = representative.post_json("/holder/reauth/verify", {"ceremony": options["ceremony"],
                                                           "credential": other.device.get(options["publicKey"])})
    assert problem(r, 401)["code"] == "holders.passkey_other_holder"


# -- 亮照 --------------------------------------------------------------------------------------------
def test_presentation_is_redeemed_once(representative: Phone, holder_app: FastAPI, platform: TestClient,
                                       company: dict[str, Any], holder_runtime: IssuingRuntime) -> None:
    url = representative.show()
    assert url.startswith(f"{ORIGIN}/p/") and len(url.rsplit("/", 1)[1]) == 22
    page = representative.http.get("/holder/show")
    assert re.search(r'data-version="([1-5])"', page.text), "the 亮照 QR is at most version 5"
    scanner = TestClient(holder_app, base_url=ORIGIN)
    first = scanner.get(url.removeprefix(ORIGIN), headers={"Accept": "application/json"}).json()
    assert first["verdict"] == "valid" and first["presentation"]["role"] == "legal_representative"
    assert first["presentation"]["name"] == company["representative"]
    assert {"name": "presentation", "ok": True} .items() <= next(c for c in first["checks"]
                                                                 if c["name"] == "presentation").items()
    second = scanner.get(url.removeprefix(ORIGIN), headers={"Accept": "application/json"}).json()
    assert second["verdict"] == "invalid" and second["license"] is None
    assert [c["reason"] for c in second["checks"]] == ["presentation.redeemed"]
    scanned = datetime.fromisoformat(second["checks"][0]["detail"].removeprefix("scanned already, at "))
    assert scanned.tzinfo is not None and abs(datetime.now(UTC) - scanned) < timedelta(minutes=1)
    html = scanner.get(url.removeprefix(ORIGIN))
    assert "已被扫描过" in html.text
    # a platform redeems a fresh one (the whole scanned URL is accepted) and the redemption is recorded
    r = platform.post("/api/v1/verify/presentation", json={"handle": representative.show()})
    assert r.status_code == 200 and r.json()["verdict"] == "valid"
    assert r.json()["presentation"]["scope"] == "all"
    with holder_runtime.sessions() as s:
        redeemed = s.execute(select(Presentation).where(Presentation.uscc == company["uscc"],
                                                        Presentation.redeemed_by.like("client:%"))).scalars().all()
        assert len(redeemed) == 1
    activity = representative.page("/holder/activity")
    assert "已被扫描" in activity.text
    # a live page (browser) shows who presented it
    live = scanner.get(representative.show().removeprefix(ORIGIN))
    assert "现场亮照" in live.text and company["representative"] in live.text


def test_expired_and_unknown_handles(representative: Phone, platform: TestClient, holder_runtime: IssuingRuntime,
                                     company: dict[str, Any]) -> None:
    from license_service.holders import presentations
    with holder_runtime.write_sessions.begin() as s:
        h = s.execute(select(Holder).where(Holder.uscc == company["uscc"])).scalar_one()
        handle, _ = presentations.create(s, h, datetime.now(UTC))
        s.flush()  # two minutes and a second later:
        s.execute(update(Presentation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    r = platform.post("/api/v1/verify/presentation", json={"handle": handle}).json()
    assert r["verdict"] == "invalid" and r["checks"][0]["reason"] == "presentation.expired"
    expired = datetime.fromisoformat(r["checks"][0]["detail"].removeprefix("expired at ").removesuffix(", unscanned"))
    assert expired.tzinfo is not None and expired < datetime.now(UTC)
    r = platform.post("/api/v1/verify/presentation", json={"handle": "A" * 22}).json()
    assert r["checks"][0]["reason"] == "presentation.unknown"
    assert problem(platform.post("/api/v1/verify/presentation", json={}), 422)["errors"][0]["field"] == "handle"


# -- grants ------------------------------------------------------------------------------------------
def _enrol_from_page(holder_app: FastAPI, invitation_page: str) -> Phone:
    link = re.search(r'id="invitation-link" href="([^"]+)"', invitation_page).group(1)  # type: ignore[union-attr]
    phone = Phone(holder_app)
    assert phone.enrol(_invitation_secret(link.replace("&amp;", "&"))).status_code == 200
    return phone


def test_grants_and_the_cascade_of_a_revocation(representative: Phone, holder_app: FastAPI, platform: TestClient,
                                                holder_runtime: IssuingRuntime, company: dict[str, Any]) -> None:
    r = representative.grant("administrator", "李管理", all_matters=True)
    assert r.status_code == 200, r.text
    admin = _enrol_from_page(holder_app, r.text)
    r = admin.grant("handler", "赵经办", matters=["tax", "bank"])
    assert r.status_code == 200, r.text
    handler = _enrol_from_page(holder_app, r.text)
    # a handler cannot grant
    handler.page("/holder/grants")
    assert "新增授权" not in handler.page("/holder/grants").text
    refused = handler.grant("handler", "钱", matters=["tax"])
    assert refused.status_code == 422 and "holders.handler_cannot_grant" in refused.text
    # the handler shows the license: its scope goes with the presentation
    r = platform.post("/api/v1/verify/presentation", json={"handle": handler.show()}).json()
    assert r["verdict"] == "valid" and r["presentation"]["role"] == "handler" and r["presentation"]["scope"] == \
        "bank tax"
    unused = handler.show()
    # the legal representative revokes the administrator: the handler's grant goes with it, at once
    with holder_runtime.sessions() as s:
        admin_id = s.execute(select(Holder.holder_id).where(Holder.uscc == company["uscc"],
                                                            Holder.role == "administrator")).scalar_one()
    representative.reauth()
    assert representative.form(f"/holder/grants/{admin_id}/revoke", {}).status_code == 303
    with holder_runtime.sessions() as s:
        rows = {h.role: h for h in s.execute(select(Holder).where(Holder.uscc == company["uscc"])).scalars()}
        assert rows["administrator"].status == "revoked" and rows["handler"].status == "revoked"
        assert rows["handler"].status_reason == "grantor_revoked"
    r = platform.post("/api/v1/verify/presentation", json={"handle": unused}).json()
    assert r["verdict"] == "invalid" and r["checks"][0]["reason"] == "presentation.holder_revoked"
    # the revoked holder's session is gone and the passkey no longer signs in
    assert handler.http.get("/holder/").status_code == 303
    assert problem(handler.sign_in(), 401)["code"] == "holders.revoked"


def test_grant_rules(representative: Phone, holder_app: FastAPI, holder_runtime: IssuingRuntime) -> None:
    r = representative.grant("administrator", "周管理", all_matters=True, expires_on=(
        datetime.now(UTC) + timedelta(days=30)).date().isoformat())
    admin = _enrol_from_page(holder_app, r.text)
    # the administrator's grant ends in 30 days: what it grants cannot last longer
    late = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()
    assert "holders.beyond_grantor_expiry" in admin.grant("handler", "吴", matters=["tax"], expires_on=late).text
    assert "holders.too_long" in representative.grant("handler", "郑", matters=["tax"], expires_on=(
        datetime.now(UTC) + timedelta(days=400)).date().isoformat()).text
    assert "holders.expiry_past" in representative.grant("handler", "王", matters=["tax"],
                                                         expires_on="2020-01-01").text
    assert "holders.scope_unknown" in representative.grant("handler", "冯", matters=["casino"]).text
    # a grant needs a passkey assertion within the last five minutes
    from license_service.db.models import HolderSession
    with holder_runtime.write_sessions.begin() as s:
        for row in s.execute(select(HolderSession)).scalars():
            row.authenticated_at = datetime.now(UTC) - timedelta(minutes=6)
    representative.page("/holder/grants")
    stale = representative.form("/holder/grants", {"role": "handler", "name": "陈", "matters": ["tax"],
                                                   "expires_on": late})
    assert stale.status_code == 401 and "holders.reauth_required" in stale.text
    # and the CSRF token
    r = representative.http.post("/holder/grants", data={"role": "handler", "name": "陈", "matters": ["tax"],
                                                         "expires_on": late, "csrf": "forged"},
                                 headers={"Origin": ORIGIN})
    assert r.status_code == 401 and "holders.csrf" in r.text


def test_at_most_five_administrators(representative: Phone) -> None:
    for i in range(5):
        assert representative.grant("administrator", f"管理员{i}", all_matters=True).status_code == 200
    assert "holders.too_many_administrators" in representative.grant("administrator", "第六", all_matters=True).text


def test_beyond_grantor_scope(representative: Phone, holder_app: FastAPI, holder_runtime: IssuingRuntime,
                              company: dict[str, Any]) -> None:
    r = representative.grant("administrator", "孙管理", all_matters=True)
    admin = _enrol_from_page(holder_app, r.text)
    with holder_runtime.write_sessions.begin() as s:  # narrow the administrator to tax only
        a = s.execute(select(Holder).where(Holder.uscc == company["uscc"], Holder.name == "孙管理")).scalar_one()
        lr = s.execute(select(Holder).where(Holder.uscc == company["uscc"],
                                            Holder.role == "legal_representative")).scalar_one()
        from license_service.domain.holding import parse_scope
        holder_runtime.holders.narrow(s, a, by=lr, scope=parse_scope("tax"), expires_at=a.expires_at,
                                      at=datetime.now(UTC))
    admin.sign_in()
    assert "holders.beyond_grantor_scope" in admin.grant("handler", "李四", matters=["bank"]).text
    assert admin.grant("handler", "李四", matters=["tax"]).status_code == 200


# -- the registry's events ---------------------------------------------------------------------------
def test_change_of_legal_representative_suspends_until_the_new_one_decides(
        representative: Phone, holder_app: FastAPI, window: TestClient, company: dict[str, Any],
        holder_runtime: IssuingRuntime, platform: TestClient) -> None:
    admin = _enrol_from_page(holder_app, representative.grant("administrator", "林管理", all_matters=True).text)
    handle = admin.show()
    changed = {**company, "representative": "新代表"}
    r = window.post("/api/v1/registrations", json=event("change", changed, reason="变更法定代表人"))
    assert r.status_code == 201, r.text
    with holder_runtime.sessions() as s:
        rows = {h.name: h for h in s.execute(select(Holder).where(Holder.uscc == company["uscc"])).scalars()}
    assert rows[company["representative"]].status == "suspended" and rows["林管理"].status == "suspended"
    assert platform.post("/api/v1/verify/presentation", json={"handle": handle}).json()["checks"][0]["reason"] == \
        "presentation.holder_suspended"
    assert problem(representative.sign_in(), 401)["code"] == "holders.suspended"
    # the window invites the new one, by the new name only
    assert problem(_invite(window, company), 422)["code"] == "holders.name_not_registered"
    new = Phone(holder_app)
    assert new.enrol(_invitation_secret(_invite(window, changed).json()["invitation_url"])).status_code == 200
    with holder_runtime.sessions() as s:
        former = s.get(Holder, rows[company["representative"]].holder_id)
        assert former is not None and former.status == "ended" and former.status_reason == "replaced"
    grants = new.page("/holder/grants")
    assert "法定代表人已变更" in grants.text
    new.reauth()
    assert new.form(f"/holder/grants/{rows['林管理'].holder_id}/confirm", {}).status_code == 303
    with holder_runtime.sessions() as s:
        kept = s.get(Holder, rows["林管理"].holder_id)
        assert kept is not None and kept.status == "active"
        assert kept.granted_by == s.execute(select(Holder.holder_id).where(
            Holder.uscc == company["uscc"], Holder.name == "新代表")).scalar_one()
    assert admin.sign_in().status_code == 200


def test_cancelled_entity_ends_every_binding(representative: Phone, window: TestClient, company: dict[str, Any],
                                             holder_runtime: IssuingRuntime) -> None:
    handle = representative.show()
    r = window.post("/api/v1/registrations", json=event("cancellation", {"uscc": company["uscc"]}, reason="决议解散"))
    assert r.status_code == 200, r.text
    with holder_runtime.sessions() as s:
        assert {h.status for h in s.execute(select(Holder).where(Holder.uscc == company["uscc"])).scalars()} == \
            {"ended"}
    assert problem(_invite(window, company), 422)["code"] == "holders.entity_not_active"
    scanner_report = representative.http.get(f"/p/{handle.rsplit('/', 1)[1]}",
                                             headers={"Accept": "application/json"}).json()
    assert scanner_report["checks"][0]["reason"] == "presentation.holder_ended"
    assert problem(representative.sign_in(), 401)["code"] == "holders.ended"


def test_passkeys_added_and_removed(representative: Phone, holder_app: FastAPI) -> None:
    representative.reauth()
    options = representative.post_json("/holder/passkeys/options")
    assert options.status_code == 200, options.text
    second = PasskeyDevice(ORIGIN)  # the second phone
    r = representative.post_json("/holder/passkeys/verify", {"ceremony": options.json()["ceremony"],
                                                             "credential": second.create(options.json()["publicKey"])})
    assert r.status_code == 200, r.text
    other_phone = Phone(holder_app)
    other_phone.device = second
    assert other_phone.sign_in().status_code == 200
    page = representative.page("/holder/passkeys")
    ids = re.findall(r'name="credential_id" value="([^"]+)"', page.text)
    assert len(ids) == 2
    representative.reauth()
    assert representative.form("/holder/passkeys/remove", {"credential_id": ids[1]}).status_code == 303
    assert problem(other_phone.sign_in(), 401)["code"] == "holders.passkey_unknown"
    representative.reauth()
    last = representative.form("/holder/passkeys/remove", {"credential_id": ids[0]})
    assert last.status_code == 422 and "holders.last_passkey" in last.text



_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                     max_leaves=12)


@pytest.mark.parametrize("path", ["/holder/enrol/options", "/holder/enrol/verify", "/holder/sign-in/verify",
                                  "/holder/reauth/verify", "/holder/passkeys/verify"])
def test_ceremony_endpoints_answer_any_json_without_a_5xx(holder_app: FastAPI, path: str) -> None:
    phone = Phone(holder_app)

    @given(body=_JSON | st.fixed_dictionaries({"ceremony": st.text(max_size=30), "credential": _JSON,
                                               "secret": st.text(max_size=30), "code": st.text(max_size=12),
                                               "uscc": st.text(max_size=20)}))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(body: Any) -> None:
        r = phone.http.post(path, json=body, headers={"Origin": ORIGIN})
        assert r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json"), r.text

    run()
