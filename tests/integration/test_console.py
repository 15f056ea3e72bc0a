"""The window's console (/console/) through the real app on SQLite and PostgreSQL, with a software
passkey authenticator (``tests/passkey_device.py``) for each staff member: enrolment and sign-in,
search by name and USCC prefix, the entity's page, print PDFs (page sizes, items, the QR at 150 dpi),
补发 filed by a clerk and approved by a supervisor (the log leaf naming both), the holder's
invitation and its QR, the activity lists — and the refusals: another division, one's own request,
a disabled account's open session, a missing CSRF token, a reused enrolment link. The search plans
are shown by the database's own EXPLAIN."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from devapp import create_app as create_combined_app
from license_service.console.search import search
from license_service.console.staff import IDLE_TIMEOUT, SESSION_TTL, StaffLedger
from license_service.db.models import LicenseVersion, LogLeaf, StaffAction
from license_service.domain.china_time import china_date
from license_service.domain.staff import Division, StaffRole
from license_service.oauth import create_client
from license_service.runtime.issuing import IssuingRuntime
from tests.conftest import entity, event, make_uscc
from tests.e2e.validators import pdf_text, qr_texts
from tests.passkey_device import PasskeyDevice

ORIGIN = "http://localhost"


@pytest.fixture(scope="module")
def console_runtime(runtime: IssuingRuntime) -> Iterator[IssuingRuntime]:
    """The shared database, served on ``localhost`` (passkeys need a host name)."""
    r = IssuingRuntime.build(runtime.settings.model_copy(update={"public_base_url": ORIGIN}))
    yield r
    r.engine.dispose()


@pytest.fixture(scope="module")
def console_app(console_runtime: IssuingRuntime) -> FastAPI:
    return create_combined_app(console_runtime.settings, console_runtime)


def _bearer(app: FastAPI, runtime: IssuingRuntime, scopes: str) -> TestClient:
    cid, secret = create_client(runtime.sessions, "window", scopes.split(), at=datetime.now(UTC))
    anon = TestClient(app, base_url=ORIGIN)
    token = anon.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                            "client_secret": secret, "scope": scopes}).json()["access_token"]
    return TestClient(app, base_url=ORIGIN, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def window(console_app: FastAPI, console_runtime: IssuingRuntime) -> TestClient:
    return _bearer(console_app, console_runtime, "registrations:write licenses:read")


class Staff:
    """A staff member's browser (cookies) and passkey."""

    def __init__(self, app: FastAPI, runtime: IssuingRuntime, name: str, role: str, division: str) -> None:
        self.http = TestClient(app, base_url=ORIGIN, follow_redirects=False)
        self.device = PasskeyDevice(ORIGIN)
        self.csrf = ""
        with runtime.write_sessions.begin() as s:
            inv = StaffLedger.invite(s, name=name, role=StaffRole(role), division=Division(division),
                                     created_by="test", at=datetime.now(UTC))
        self.staff_id, self.secret = inv.staff_id, inv.secret

    def post_json(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.http.post(path, json=body or {}, headers={"Origin": ORIGIN})

    def form(self, path: str, data: dict[str, Any], *, csrf: bool = True) -> Any:
        return self.http.post(path, data={**({"csrf": self.csrf} if csrf else {}), **data}, headers={"Origin": ORIGIN})

    def page(self, path: str) -> Any:
        r = self.http.get(path)
        found = re.search(r'name="csrf" content="([^"]+)"', r.text)
        if found:
            self.csrf = found.group(1)
        return r

    def enrol(self) -> Any:
        options = self.post_json("/console/enrol/options", {"secret": self.secret})
        if options.status_code != 200:
            return options
        credential = self.device.create(options.json()["publicKey"])
        return self.post_json("/console/enrol/verify", {"ceremony": options.json()["ceremony"],
                                                        "credential": credential})

    def sign_in(self) -> Any:
        options = self.post_json("/console/sign-in/options").json()
        return self.post_json("/console/sign-in/verify", {"ceremony": options["ceremony"],
                                                          "credential": self.device.get(options["publicKey"])})


def _refused(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:400])
    assert f'data-code="{code}"' in r.text, r.text[:400]


def _pages(pdf: bytes) -> list[str]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "20", "-"], input=pdf, capture_output=True, check=True).stdout
    return [f"{round(float(w))} x {round(float(h))}"
            for w, h in re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", out.decode())]


def _registered(window: TestClient, division: str = "433101", name: str | None = None) -> dict[str, Any]:
    ent = entity(uscc=make_uscc("1", division), name=name or f"峒河{uuid.uuid4().hex[:6]}测绘有限公司")
    r = window.post("/api/v1/registrations", json=event("establishment", ent))
    assert r.status_code == 201, r.text
    return ent


def test_the_clerks_day(console_app: FastAPI, console_runtime: IssuingRuntime, window: TestClient) -> None:
    ent = _registered(window)
    uscc = ent["uscc"]
    supervisor = Staff(console_app, console_runtime, "彭主任", "supervisor", "433100")
    clerk = Staff(console_app, console_runtime, "向办事员", "clerk", "433101")
    for who in (supervisor, clerk):
        r = who.enrol()
        assert r.status_code == 200 and r.json()["redirect"] == "/console/search", r.text
    assert clerk.enrol().status_code == 401  # the link works once
    clerk.http.cookies.clear()
    assert clerk.page("/console/search").status_code == 303  # signed out: to sign-in
    assert clerk.sign_in().status_code == 200

    by_name = clerk.page(f"/console/search?q={ent['name'][1:9]}")
    assert by_name.status_code == 200 and uscc in by_name.text
    by_prefix = clerk.page(f"/console/search?q={uscc[:12]}&kind=company&status=active")
    assert uscc in by_prefix.text
    page = clerk.page(f"/console/entity/{uscc}?lang=en")
    assert page.status_code == 200 and ent["business_scope"] in page.text

    original = clerk.form(f"/console/entity/{uscc}/print", {"form": "original"})
    assert original.status_code == 200 and original.headers["content-type"] == "application/pdf"
    assert _pages(original.content) == ["1191 x 842"]  # A3 landscape
    duplicates = clerk.form(f"/console/entity/{uscc}/print", {"form": "duplicate", "copies": "2"})
    assert _pages(duplicates.content) == ["595 x 842"] * 2  # A4, one page a copy
    with console_runtime.sessions() as s:
        v1 = s.execute(select(LicenseVersion).where(LicenseVersion.uscc == uscc)).scalar_one()
    verify_url = json.loads(window.get(f"/api/v1/licenses/{v1.license_id}").text)["verify_url"]
    for pdf in (original.content, duplicates.content):
        words = re.sub(r"\s", "", pdf_text(pdf))
        for item in (ent["name"], ent["representative"], "叁佰伍拾万元", uscc, v1.serial):
            assert item in words, item
        assert set(qr_texts(pdf, 150)) == {verify_url}
    assert "副本编号1" in re.sub(r"\s", "", pdf_text(duplicates.content))
    assert "副本编号2" in re.sub(r"\s", "", pdf_text(duplicates.content))

    filed = clerk.form(f"/console/entity/{uscc}/replacement", {"reason": "遗失补发"})
    assert filed.status_code == 303, filed.text
    listing = clerk.page("/console/replacements")
    request_id = re.search(r'/console/replacements/(rr_\w+)', supervisor.page("/console/replacements").text)
    assert request_id is not None and "遗失补发" in listing.text
    _refused(clerk.form(f"/console/replacements/{request_id.group(1)}", {"decision": "approve"}), 403, "staff.role")
    approved = supervisor.form(f"/console/replacements/{request_id.group(1)}", {"decision": "approve"})
    assert approved.status_code == 303, approved.text
    with console_runtime.sessions() as s:
        versions = {lv.version: lv for lv in s.scalars(select(LicenseVersion).where(LicenseVersion.uscc == uscc))}
        leaf = json.loads(s.get(LogLeaf, versions[2].leaf_index).data)  # type: ignore[union-attr]
    assert versions[2].status == "current" and versions[1].status == "superseded"
    assert versions[1].superseded_by == versions[2].license_id
    assert leaf["action"] == "replacement"
    assert leaf["staff"] == {"requested_by": clerk.staff_id, "approved_by": supervisor.staff_id}

    invited = clerk.form(f"/console/entity/{uscc}/invitation", {"name": ent["representative"], "id_checked": "yes"})
    assert invited.status_code == 200, invited.text
    link = re.search(r'id="invitation-link" href="([^"]+)"', invited.text).group(1)  # type: ignore[union-attr]
    assert link.startswith(f"{ORIGIN}/holder/enrol?i=")

    mine = clerk.page("/console/activity").text
    for action in ("sign_in", "search", "view", "print", "replacement.request", "invite"):
        assert f'data-action="{action}"' in mine, action
    division = supervisor.page("/console/activity?scope=division").text
    assert 'data-action="replacement.approve"' in division and "向办事员" in division
    with console_runtime.sessions() as s:
        prints = s.execute(select(StaffAction.detail).where(StaffAction.staff_id == clerk.staff_id,
                                                            StaffAction.action == "print")).scalars().all()
    assert sorted(json.loads(d)["copies"] for d in prints) == [1, 2]

    # the auditor's summary (what `elicense audit` prints): per staff member, day (China time), action
    counts = _bearer(console_app, console_runtime, "audit").get("/api/v1/audit/staff-actions").json()["counts"]
    clerks = {c["action"]: c["count"] for c in counts if c["staff_id"] == clerk.staff_id}
    assert clerks["print"] == 2 and clerks["replacement.request"] == 1 and clerks["invite"] == 1, clerks
    assert {c["day"] for c in counts if c["staff_id"] == clerk.staff_id} == {china_date(datetime.now(UTC)).isoformat()}
    assert any(c["staff_id"] == supervisor.staff_id and c["action"] == "replacement.approve" for c in counts)
    assert _bearer(console_app, console_runtime, "verify").get("/api/v1/audit/staff-actions").status_code == 403


def test_the_refusals(console_app: FastAPI, console_runtime: IssuingRuntime, window: TestClient) -> None:
    mine, theirs = _registered(window, "433101"), _registered(window, "433122")
    clerk = Staff(console_app, console_runtime, "田办事员", "clerk", "433101")
    supervisor = Staff(console_app, console_runtime, "龙主任", "supervisor", "433100")
    other_supervisor = Staff(console_app, console_runtime, "石主任", "supervisor", "433122")
    for who in (clerk, supervisor, other_supervisor):
        assert who.enrol().status_code == 200
    # a reused enrolment link: refused as a page and at the ceremony
    _refused(clerk.page(f"/console/enrol?t={clerk.secret}"), 401, "staff.enrolment_used")
    # outside one's division: no page, no print, no request, and no search hit
    _refused(clerk.page(f"/console/entity/{theirs['uscc']}"), 403, "staff.other_division")
    clerk.page(f"/console/entity/{mine['uscc']}")
    _refused(clerk.form(f"/console/entity/{theirs['uscc']}/print", {"form": "original"}), 403,
             "staff.other_division")
    _refused(clerk.form(f"/console/entity/{theirs['uscc']}/replacement", {"reason": "遗失"}), 403,
             "staff.other_division")
    assert f"/console/entity/{theirs['uscc']}" not in clerk.page(f"/console/search?q={theirs['uscc']}").text
    # CSRF token missing (and from another origin)
    _refused(clerk.form(f"/console/entity/{mine['uscc']}/replacement", {"reason": "遗失"}, csrf=False), 401,
             "staff.csrf")
    r = clerk.http.post(f"/console/entity/{mine['uscc']}/replacement", data={"csrf": clerk.csrf, "reason": "遗失"},
                        headers={"Origin": "https://evil.example"})
    _refused(r, 401, "staff.origin")
    # a supervisor approving their own request; another division's supervisor
    supervisor.page(f"/console/entity/{mine['uscc']}")
    assert supervisor.form(f"/console/entity/{mine['uscc']}/replacement", {"reason": "损坏换补"}).status_code == 303
    request_id = re.search(r'/console/replacements/(rr_\w+)',
                           Staff.page(supervisor, "/console/replacements").text)
    assert request_id is None  # no buttons for one's own request
    with console_runtime.sessions() as s:
        rid = s.execute(text("SELECT request_id FROM replacement_requests WHERE uscc = :u"),
                        {"u": mine["uscc"]}).scalar_one()
    _refused(supervisor.form(f"/console/replacements/{rid}", {"decision": "approve"}), 403,
             "replacement.own_request")
    other_supervisor.page("/console/search")
    _refused(other_supervisor.form(f"/console/replacements/{rid}", {"decision": "approve"}), 403,
             "staff.other_division")
    # a disabled account: its open session is refused at once
    assert clerk.page("/console/search").status_code == 200
    supervisor.page("/console/activity?scope=division")
    assert supervisor.form(f"/console/staff/{clerk.staff_id}/disable", {}).status_code == 303
    assert clerk.page("/console/search").status_code == 303  # to sign-in
    _refused(clerk.form(f"/console/entity/{mine['uscc']}/replacement", {"reason": "遗失"}), 401, "staff.signed_out")
    assert clerk.sign_in().status_code == 401


def test_sessions_are_short_and_end_when_idle(console_app: FastAPI, console_runtime: IssuingRuntime) -> None:
    """A session ends after IDLE_TIMEOUT without a request, and after SESSION_TTL whatever the use."""
    auditor = Staff(console_app, console_runtime, "审计员甲", "auditor", "433100")
    assert auditor.enrol().status_code == 200
    cookie = auditor.http.cookies["elicense-staff"]
    start = datetime.now(UTC)
    with console_runtime.write_sessions.begin() as s:
        assert StaffLedger.find(s, cookie, start + IDLE_TIMEOUT - timedelta(seconds=5), touch=True) is not None
        assert StaffLedger.find(s, cookie, start + 2 * IDLE_TIMEOUT - timedelta(seconds=10)) is not None  # used
        assert StaffLedger.find(s, cookie, start + 2 * IDLE_TIMEOUT + timedelta(seconds=5)) is None  # idle
        at = start
        while at < start + SESSION_TTL - IDLE_TIMEOUT:  # kept busy: still ends at SESSION_TTL
            at += IDLE_TIMEOUT - timedelta(minutes=1)
            assert StaffLedger.find(s, cookie, at, touch=True) is not None
        assert StaffLedger.find(s, cookie, start + SESSION_TTL + timedelta(seconds=1), touch=True) is None
    # an auditor reads: no print, no replacement
    ent_page = auditor.page("/console/search")
    assert ent_page.status_code == 200
    _refused(auditor.form(f"/console/entity/{make_uscc()}/print", {"form": "original"}), 403, "staff.role")


def test_search_uses_the_indexes(console_runtime: IssuingRuntime, window: TestClient) -> None:
    """The database's own plans for the statements ``search`` builds: a USCC prefix is a primary-key
    range, a name substring a range of the bigram index, then each candidate by its key (SQLite: SEARCH
    ... USING (COVERING) INDEX; PostgreSQL: index scans, the entity through a lateral lookup)."""
    ent = _registered(window, "433101", name="湘西酉水索引验证合作社")
    with console_runtime.sessions() as s:
        page = search(s, "酉水索引", division=Division("433100"))
        assert [f.uscc for f in page.rows] == [ent["uscc"]]
        assert search(s, ent["uscc"][:10], division=Division("433101")).rows
        assert not search(s, "酉水索引", division=Division("433122")).rows
    # one request checks `scan` candidates at most; a short page then continues where it stopped
    for _ in range(3):
        _registered(window, "433101", name=f"湘西酉水索引续查{uuid.uuid4().hex[:4]}合作社")
    with console_runtime.sessions() as s:
        seen, after, pages = [], None, 0
        while True:
            page = search(s, "酉水索引", division=Division("433100"), after=after, limit=2, scan=2)
            seen += [f.uscc for f in page.rows]
            pages += 1
            if page.next_after is None:
                break
            after = page.next_after
        assert len(seen) == len(set(seen)) == 4 and pages >= 2
        sqlite = console_runtime.engine.dialect.name == "sqlite"
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        name_plan = "\n".join(str(r) for r in s.execute(text(
            explain + "SELECT e.uscc FROM (SELECT uscc FROM entity_name_grams WHERE gram = '酉水' ORDER BY uscc "
            "LIMIT 4000) AS c " + ("JOIN market_entities e ON e.uscc = c.uscc " if sqlite else
                                   "JOIN LATERAL (SELECT * FROM market_entities m WHERE m.uscc = c.uscc LIMIT 1) e "
                                   "ON true ") +
            "WHERE lower(e.name) LIKE '%酉水索引%' AND substr(e.uscc, 3, 4) = '4331' ORDER BY c.uscc LIMIT 21")))
        uscc_plan = "\n".join(str(r) for r in s.execute(text(
            explain + "SELECT uscc FROM market_entities WHERE uscc >= '91433101' AND uscc <= '91433101ZZZZZZZZZZ' "
            "ORDER BY uscc LIMIT 21")))
    if sqlite:
        assert re.search(r"SEARCH entity_name_grams USING (COVERING INDEX|PRIMARY KEY)", name_plan), name_plan
        assert re.search(r"SEARCH e USING (COVERING INDEX|PRIMARY KEY|INDEX)", name_plan), name_plan
        assert re.search(r"SEARCH market_entities USING (COVERING INDEX|PRIMARY KEY|INDEX)", uscc_plan), uscc_plan
    else:
        assert "entity_name_grams_pkey" in name_plan and "market_entities_pkey" in name_plan, name_plan
        assert "market_entities_pkey" in uscc_plan, uscc_plan
