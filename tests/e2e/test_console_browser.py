"""The window's console in a real browser (Debian's Chromium through Playwright) against a real
server process on SQLite and on PostgreSQL, with Chromium's virtual authenticator (CDP ``WebAuthn``)
as each staff member's passkey: a supervisor and a clerk enrol from ``elicense staff invite`` links;
the clerk searches by name and by USCC prefix (by keyboard), opens the entity, prints a 正本 and two
副本 (the PDFs checked: page sizes, the kind's items, the QR decoding to the license's verify URL at
150 dpi), files a 补发; the supervisor approves it; the new version is current and the old one
superseded; the holder invitation's QR decodes from the screen; everything is in the activity lists
and in ``elicense audit``'s summary.

Every page is checked at 1280 px and at a tablet's 820 px, in Chinese and English: no sideways scroll,
axe-core (npm, injected by the test) finds no WCAG 2 A/AA violation, and every control is reached by
the Tab key."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import entity, event, pg_database

from .conftest import Server, require_tools
from .test_holder_browser import ARGS, AXE, CHROMIUM
from .validators import pdf_text, qr_texts

SHOTS = Path(__file__).parents[2] / "var" / "screenshots" / "console"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_tools()
    env = {"ELICENSE_RATE_PAGE_BURST": "1000", "ELICENSE_RATE_HOLDER_BURST": "1000"}
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            env["ELICENSE_DATABASE_URL"] = stack.enter_context(pg_database("elicense_console_"))
        s = Server(tmp_path_factory.mktemp(f"console-{request.param}"), env=env)
        s.env["ELICENSE_PUBLIC_BASE_URL"] = s.base = f"http://localhost:{s.port}"  # passkeys need a host name
        s.start()
        stack.callback(s.stop)
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not AXE.is_file():
        pytest.fail("axe-core is missing: the README's test command installs it from npm into .venv/npm")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Desk:
    """A staff member's browser with its own virtual authenticator."""

    def __init__(self, browser: Any, server: Server, name: str) -> None:
        self.name, self.server = name, server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        self.page = self.context.new_page()
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("WebAuthn.enable")
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})

    def goto(self, path: str) -> None:
        self.page.goto(path if path.startswith("http") else self.server.base + path)

    def wait_for(self, path: str, act: Any) -> None:
        with self.page.expect_navigation(url=re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$"),
                                         timeout=20_000):
            act()

    def post(self, path: str, form: dict[str, str]) -> Any:
        """A form post from this browser (its cookies, the page's CSRF token), as the print form sends."""
        csrf = str(self.page.get_attribute('meta[name="csrf"]', "content"))
        r = self.context.request.post(self.server.base + path, form={"csrf": csrf, **form},
                                      headers={"Origin": self.server.base})
        assert r.ok, (r.status, r.text()[:500])
        return r


def _keyboard_reaches_everything(desk: Desk, name: str) -> None:
    page = desk.page
    wanted = page.evaluate("""() => [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
        .filter(e => e.offsetParent !== null && !e.disabled).length""")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.focus("body")
    reached = set()
    for _ in range(wanted + 5):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("""() => { const e = document.activeElement;
            return e ? e.outerHTML.slice(0, 160) + '#' + [...document.querySelectorAll('*')].indexOf(e) : ''; }"""))
    reached.discard("")
    assert len(reached) >= wanted, (name, wanted, len(reached))


def _check_here(desk: Desk, name: str, lang: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (820, 1280):
        desk.page.set_viewport_size({"width": width, "height": 900})
        assert desk.page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en"), (name, lang)
        assert desk.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, lang, width)
        if not desk.page.evaluate("typeof axe !== 'undefined'"):
            desk.page.add_script_tag(path=str(AXE))
        result = desk.page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                                    "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
        violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
                      if v["impact"] in ("serious", "critical")]
        assert not violations, (name, lang, width, violations)
        desk.page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
    desk.page.set_viewport_size({"width": 1280, "height": 900})
    _keyboard_reaches_everything(desk, name)


def _check_screen(desk: Desk, name: str) -> None:
    target = re.sub(r"([?&])lang=\w+&?", r"\1", desk.page.url).rstrip("?&")
    for lang in ("en", "zh"):
        desk.page.goto(target + ("&" if "?" in target else "?") + "lang=" + lang)
        _check_here(desk, name, lang)


def _pages(pdf: bytes) -> list[str]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "20", "-"], input=pdf, capture_output=True, check=True).stdout
    return [f"{round(float(w))} x {round(float(h))}"
            for w, h in re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", out.decode())]


def _decode_qr(desk: Desk) -> str:
    import zxingcpp
    from PIL import Image

    shot = desk.page.locator(".qr").screenshot()
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
             if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(found) == 1, found
    return found[0]


def test_a_day_at_the_window(server: Server, browser: Any) -> None:
    window = server.client("registrations:write licenses:read")
    ent = entity(name="湘西乾州窗口测试有限公司")
    uscc = ent["uscc"]
    v1 = window.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]

    desks = {}
    for name, role, division in (("彭主任", "supervisor", "433100"), ("向办事员", "clerk", "433101")):
        invited = json.loads(server.cli("staff", "invite", "--name", name, "--role", role, "--division", division,
                                        "--json"))
        desk = Desk(browser, server, name)
        desk.goto(invited["enrol_url"])
        assert name in desk.page.inner_text("main")
        if role == "clerk":
            _check_screen(desk, "enrol")
        desk.wait_for("/console/search", lambda d=desk: d.page.click("button[data-passkey=console-enrol]"))
        desks[role] = desk, invited["staff_id"]
    (boss, boss_id), (clerk, clerk_id) = desks["supervisor"], desks["clerk"]

    # a reused enrolment link is refused
    reuse = Desk(browser, server, "reuse")
    reuse.goto(invited["enrol_url"])
    assert reuse.page.locator("#refusal").get_attribute("data-code") == "staff.enrolment_used"

    # sign out, and back in with the passkey alone
    clerk.wait_for("/console/sign-in", lambda: clerk.page.click("header form button"))
    _check_screen(clerk, "sign-in")
    clerk.wait_for("/console/search", lambda: clerk.page.click("button[data-passkey=console-sign-in]"))

    # search by name, then by USCC prefix, by keyboard
    _check_screen(clerk, "search-empty")
    clerk.page.fill("#q", "乾州窗口")
    clerk.wait_for("/console/search", lambda: clerk.page.press("#q", "Enter"))
    assert uscc in clerk.page.inner_text("main")
    clerk.page.fill("#q", uscc[:10])
    clerk.page.select_option("#kind", "company")
    clerk.wait_for("/console/search", lambda: clerk.page.press("#q", "Enter"))
    assert uscc in clerk.page.inner_text("main")
    _check_screen(clerk, "search")
    clerk.wait_for(f"/console/entity/{uscc}", lambda: clerk.page.click(f"a[href^='/console/entity/{uscc}']"))
    _check_screen(clerk, "entity")

    # print a 正本 and two 副本
    original = clerk.post(f"/console/entity/{uscc}/print", {"form": "original"}).body()
    duplicates = clerk.post(f"/console/entity/{uscc}/print", {"form": "duplicate", "copies": "2"}).body()
    test_print = clerk.post(f"/console/entity/{uscc}/print", {"form": "original", "test": "yes"}).body()
    assert _pages(original) == _pages(test_print) == ["1191 x 842"]  # A3 landscape
    assert _pages(duplicates) == ["595 x 842"] * 2  # A4
    for pdf in (original, duplicates):
        words = re.sub(r"\s", "", pdf_text(pdf))
        for item in (ent["name"], ent["entity_type"], ent["representative"], "叁佰伍拾万元", ent["address"], uscc,
                     v1["serial"]):
            assert re.sub(r"\s", "", item) in words, item
        assert set(qr_texts(pdf, 150)) == {v1["verify_url"]}
    assert "副本编号1" in re.sub(r"\s", "", pdf_text(duplicates)) and "副本编号2" in re.sub(r"\s", "", pdf_text(duplicates))

    # 补发, by keyboard: the reason, then Enter
    clerk.page.fill("#reason", "营业执照正本遗失")
    clerk.wait_for(f"/console/entity/{uscc}", lambda: clerk.page.press("#reason", "Enter"))
    assert "营业执照正本遗失" in clerk.page.inner_text("main")

    boss.goto("/console/replacements")
    _check_screen(boss, "replacements")
    boss.wait_for("/console/replacements", lambda: boss.page.click("button[value=approve]"))
    clerk.goto(f"/console/entity/{uscc}")
    statuses = clerk.page.locator(".lic-status").all_inner_texts()
    assert statuses == ["现行有效", "已被替代"], statuses
    current = window.get(f"/api/v1/entities/{uscc}").json()
    assert current["current_version"] == 2
    assert window.get(f"/api/v1/licenses/{v1['license_id']}").json()["status"] == "superseded"

    # the auditor's view (a supervisor's too): per day in China time, drill-down to the entries
    boss.goto("/console/audit")
    _check_screen(boss, "audit")
    today = boss.page.locator("a[href^='/console/audit/']").first
    today.click()
    boss.page.wait_for_load_state()
    _check_screen(boss, "audit-day")
    replaced = boss.page.locator("tr.entry[data-action=replacement]")
    assert f"{clerk_id} → {boss_id}" in replaced.inner_text(), replaced.inner_text()

    # the holder's invitation, after checking the identity card
    clerk.page.fill("#person", ent["representative"])
    clerk.page.check("input[name=id_checked]")
    clerk.wait_for(f"/console/entity/{uscc}/invitation", lambda: clerk.page.click("form[action*=invitation] button"))
    link = str(clerk.page.get_attribute("#invitation-link", "href"))
    assert link.startswith(server.base + "/holder/enrol?i=")
    assert _decode_qr(clerk) == link
    _check_here(clerk, "invitation", "zh")

    # verification for people: the token pasted
    clerk.goto("/console/verify")
    _check_screen(clerk, "verify")
    clerk.page.fill("#token", current["licenses"][-1]["verify_url"])
    clerk.wait_for("/console/verify", lambda: clerk.page.click("form[action^='/console/verify'] button"))
    assert clerk.page.inner_text("#verdict") == "有效"
    _check_here(clerk, "verified", "zh")
    # and the superseded version's PDF, downloaded from the entity's page, uploaded
    old_pdf = clerk.context.request.get(f"{server.base}/console/entity/{uscc}/licenses/{v1['license_id']}.pdf").body()
    assert old_pdf.startswith(b"%PDF")
    clerk.goto("/console/verify")
    clerk.page.set_input_files("#pdf", files=[{"name": "v1.pdf", "mimeType": "application/pdf", "buffer": old_pdf}])
    clerk.wait_for("/console/verify", lambda: clerk.page.click("form[action^='/console/verify'] button"))
    assert clerk.page.inner_text("#verdict").startswith("真实但已不在有效期"), clerk.page.inner_text("main")
    _check_here(clerk, "verified-pdf", "zh")

    # the activity lists
    clerk.goto("/console/activity")
    _check_screen(clerk, "activity")
    mine = {a for a in clerk.page.locator("tr.action-row").evaluate_all("rs => rs.map(r => r.dataset.action)")}
    assert {"enrol", "sign_in", "search", "view", "print", "print.test", "replacement.request", "invite",
            "verify", "download"} <= mine, mine
    boss.goto("/console/activity?scope=division")
    _check_screen(boss, "activity-division")
    division = boss.page.inner_text("main")
    assert "向办事员" in division and "批准补发" in division  # replacement.approve, in words

    # elicense audit with the auditor's credential: the log holds, and the staff summary is listed
    creds = json.loads(server.cli("clients", "create", "--name", "auditor", "--scopes", "audit", "--json"))
    out = server.cli("audit", "--base-url", server.base, "--state", str(server.home / "audit-state.json"),
                     "--client-id", creds["client_id"], "--client-secret", creds["client_secret"])
    assert "staff actions" in out
    line = next(ln for ln in out.splitlines() if clerk_id in ln)
    assert "print 2" in line and "replacement.request 1" in line and "invite 1" in line, line
    assert any(boss_id in ln and "replacement.approve 1" in ln for ln in out.splitlines()), out
