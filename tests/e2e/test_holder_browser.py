"""The holder's journey in a real browser (Debian's Chromium through Playwright) against a real server
process, with Chromium's virtual authenticator (CDP ``WebAuthn``, user verification on) as each
person's phone: the window's invitation, enrolment with a passkey, sign-in, 亮照 (the QR decoded from
the screen by zxing-cpp, then opened by a second browser and redeemed by a platform), a grant to an
administrator who enrols with their own passkey and names a handler, then the revocation that voids
both — and ``elicense audit`` reconciling every holder leaf, then catching an edited grant row.

Every screen is checked at 390 px and 1280 px, in Chinese and English: no sideways scroll, and
axe-core (from the npm registry, injected by the test) finds no WCAG 2 A/AA violation."""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import entity, event

from .conftest import ELICENSE, Server, require_tools

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).parents[2] / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(__file__).parents[2] / "var" / "screenshots" / "holder"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_tools()
    s = Server(tmp_path_factory.mktemp("holders"), env={"ELICENSE_RATE_PAGE_BURST": "1000",
                                                        "ELICENSE_RATE_HOLDER_BURST": "1000"})
    s.env["ELICENSE_PUBLIC_BASE_URL"] = s.base = f"http://localhost:{s.port}"  # passkeys need a host name
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium"):
        pytest.fail("chromium is missing: the README's test command installs Debian's chromium")
    if not AXE.is_file():
        pytest.fail("axe-core is missing: the README's test command installs it from npm into .venv/npm")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class PhoneBrowser:
    """A browser context with its own virtual authenticator (a phone with a passkey store)."""

    def __init__(self, browser: Any, name: str) -> None:
        self.name = name
        # bypass_csp: the page's CSP allows only its own script; the test injects axe-core
        self.context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
        self.page = self.context.new_page()
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("WebAuthn.enable")
        self.authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]
        self.cdp = cdp

    def passkeys(self) -> list[dict[str, Any]]:
        return list(self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator})["credentials"])

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def click_and_wait(self, selector: str, path: str) -> None:
        """Click, then wait for the navigation it causes to land on ``path`` (exactly, but for the language)."""
        with self.page.expect_navigation(url=re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?lang=\w+)?$"),
                                         timeout=15_000):
            self.page.click(selector)


def _check_here(pb: PhoneBrowser, name: str, lang: str) -> None:
    """The page as it is, at 390 and 1280 px: no sideways scroll, no axe violation, a screenshot kept
    under var/screenshots/holder for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        pb.page.set_viewport_size({"width": width, "height": 900})
        assert pb.page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en"), (name, lang)
        assert pb.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, lang, width)
        if not pb.page.evaluate("typeof axe !== 'undefined'"):
            pb.page.add_script_tag(path=str(AXE))
        result = pb.page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                                  "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
        violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
        assert not violations, (name, lang, width, violations)
        pb.page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
    pb.page.set_viewport_size({"width": 390, "height": 844})


def _check_screen(pb: PhoneBrowser, name: str, *, url: str | None = None) -> None:
    """The current page (or ``url``), loaded in both languages, checked by :func:`_check_here`."""
    base = url or pb.page.url
    target = re.sub(r"([?&])lang=\w+&?", r"\1", base).rstrip("?&")
    for lang in ("en", "zh"):  # Chinese last: the journey goes on in Chinese
        pb.page.goto(target + ("&" if "?" in target else "?") + "lang=" + lang)
        _check_here(pb, name, lang)


def _decode_qr(pb: PhoneBrowser) -> str:
    """The QR on the screen, read by zxing-cpp from a screenshot (as a counter's scanner would)."""
    import zxingcpp
    from PIL import Image

    shot = pb.page.locator(".qr").screenshot()
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
             if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(found) == 1, found
    return found[0]


def _invitation_link(pb: PhoneBrowser) -> str:
    return str(pb.page.get_attribute("#invitation-link", "href"))


def test_holder_journey(server: Server, browser: Any) -> None:
    window = server.client("holders:invite registrations:write licenses:read")
    platform = server.client("verify")
    ent = entity(name="湘西持照测试有限公司")
    assert window.post("/api/v1/registrations", json=event("establishment", ent)).status_code == 201
    invitation = window.post(f"/api/v1/entities/{ent['uscc']}/holder-invitations",
                             json={"role": "legal_representative", "name": ent["representative"]}).json()
    assert invitation["invitation_url"].startswith(server.base)

    # the legal representative enrols on their phone
    lr = PhoneBrowser(browser, "lr")
    _check_screen(lr, "enrol", url=invitation["invitation_url"])
    lr.goto(invitation["invitation_url"])
    assert ent["representative"] in lr.page.inner_text("main")
    lr.click_and_wait("button[data-passkey=enrol]", "/holder/")
    assert ent["name"] in lr.page.inner_text("h1")
    assert len(lr.passkeys()) == 1 and lr.passkeys()[0]["isResidentCredential"]
    _check_screen(lr, "home")

    # signs out, and back in with the passkey alone
    lr.page.click("header form button")
    lr.page.wait_for_load_state()
    assert "/holder/sign-in" in lr.page.url, (lr.page.url, lr.page.content()[:3000])
    _check_screen(lr, "sign-in")
    lr.click_and_wait("button[data-passkey=sign-in]", "/holder/")
    assert ent["name"] in lr.page.inner_text("h1")

    # 亮照: the QR read off the screen, opened by someone else's browser
    lr.goto(f"{server.base}/holder/show")
    version = int(str(lr.page.get_attribute(".qr svg", "data-version")))
    assert 1 <= version <= 5
    shown = _decode_qr(lr)
    assert re.fullmatch(re.escape(server.base) + r"/p/[A-Za-z0-9_-]{22}", shown), shown
    assert "剩余" in lr.page.inner_text("#countdown")
    someone = PhoneBrowser(browser, "scanner")
    scanner = someone.page
    scanner.goto(shown)
    assert "现场亮照" in scanner.inner_text("main") and ent["representative"] in scanner.inner_text("main")
    assert "真实有效" in scanner.inner_text(".banner")
    _check_here(someone, "presented", "zh")
    scanner.goto(shown)  # once only
    assert "已被扫描过" in scanner.inner_text(".banner")
    _check_here(someone, "presented-again", "zh")
    _check_screen(lr, "show")
    lr.goto(f"{server.base}/holder/show")
    r = platform.post("/api/v1/verify/presentation", json={"handle": _decode_qr(lr)}).json()
    assert r["verdict"] == "valid" and r["presentation"]["name"] == ent["representative"]

    lr.goto(f"{server.base}/holder/show?lang=en")
    someone.goto(_decode_qr(lr) + "?lang=en")
    assert "Live presentation" in scanner.inner_text("main")
    _check_here(someone, "presented", "en")

    # a grant to an administrator (the passkey asked again), who enrols on their own phone
    lr.goto(f"{server.base}/holder/grants")
    _check_screen(lr, "grants")
    lr.page.check("input[name=role][value=administrator]")
    lr.page.fill("#name", "田管理")
    lr.page.check("input[name=all_matters]")
    lr.click_and_wait("form[action^='/holder/grants'] button[type=submit]", "/holder/grants")
    assert "邀请已生成" in lr.page.inner_text("h1")
    admin_link = _invitation_link(lr)
    _check_here(lr, "invitation", "zh")  # the answer to a POST: checked as it stands
    admin = PhoneBrowser(browser, "admin")
    admin.goto(admin_link)
    admin.click_and_wait("button[data-passkey=enrol]", "/holder/")

    # the legal representative narrows it to tax and bank (the form offers only what it holds)
    lr.goto(f"{server.base}/holder/grants")
    card = lr.page.locator("[data-holder]").filter(has=lr.page.locator("strong", has_text="田管理"))
    card.locator("summary").click()
    card.locator("input[name=all_matters]").uncheck()
    card.locator("input[name=matters][value=tax]").check()
    card.locator("input[name=matters][value=bank]").check()
    with lr.page.expect_navigation(url=re.compile(r"/holder/grants$")):
        card.locator("form[action$='/narrow'] button[type=submit]").click()
    assert "涉税事项" in card.inner_text() and "全部业务" not in card.inner_text()
    # the administrator names a handler for tax matters only
    admin.goto(f"{server.base}/holder/grants")
    admin.page.fill("#name", "彭经办")
    admin.page.check("input[name=matters][value=tax]")
    admin.click_and_wait("form[action^='/holder/grants'] button[type=submit]", "/holder/grants")
    handler = PhoneBrowser(browser, "handler")
    handler.goto(_invitation_link(admin))
    assert "涉税事项" in handler.page.inner_text("main")
    handler.click_and_wait("button[data-passkey=enrol]", "/holder/")
    handler.goto(f"{server.base}/holder/grants")
    assert handler.page.locator("form[action^='/holder/grants'] #name").count() == 0  # a handler grants nothing
    handler.goto(f"{server.base}/holder/show")
    handler_code = _decode_qr(handler)

    # the legal representative revokes the administrator: the handler's grant falls with it
    lr.goto(f"{server.base}/holder/grants")
    def card(name: str) -> Any:
        return lr.page.locator("[data-holder]").filter(has=lr.page.locator("strong", has_text=name))

    with lr.page.expect_navigation(url=re.compile(r"/holder/grants$")):
        card("田管理").locator("button.danger").click()  # the passkey is asked again first
    assert "已撤销" in card("田管理").inner_text() and "已撤销" in card("彭经办").inner_text()
    r = platform.post("/api/v1/verify/presentation", json={"handle": handler_code}).json()
    assert r["verdict"] == "invalid" and r["checks"][0]["reason"] == "presentation.holder_revoked"
    handler.goto(f"{server.base}/holder/")
    assert "/holder/sign-in" in handler.page.url

    # the holder's other screens
    lr.goto(f"{server.base}/holder/activity")
    assert "已被扫描" in lr.page.inner_text("main")
    _check_screen(lr, "activity")
    lr.goto(f"{server.base}/holder/passkeys")
    _check_screen(lr, "passkeys")
    _check_screen(lr, "enrol-code", url=f"{server.base}/holder/enrol")

    # the auditor reconciles every holder leaf; an edited grant row is caught
    creds = json.loads(server.cli("clients", "create", "--name", "auditor", "--scopes", "audit", "--json"))
    state = server.home / "audit.json"
    cmd = [ELICENSE, "audit", "--base-url", server.base, "--state", str(state), "--client-id", creds["client_id"],
           "--client-secret", creds["client_secret"]]
    honest = subprocess.run(cmd, env=server.env, capture_output=True, text=True, timeout=300)
    assert honest.returncode == 0, honest.stdout + honest.stderr
    db = sqlite3.connect(server.env["ELICENSE_DATABASE_URL"].removeprefix("sqlite:///"))
    db.execute("UPDATE holders SET expires_at = '2099-01-01 00:00:00.000000', status = 'active' WHERE name = '彭经办'")
    db.commit()
    db.close()
    tampered = subprocess.run(cmd, env=server.env, capture_output=True, text=True, timeout=300)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "status is 'active' in the registry; leaf" in tampered.stderr and "expires_at" in tampered.stderr
    assert httpx.get(server.base + "/healthz").status_code == 200


def test_the_cli_invites_and_the_demo_prints_invitations(server: Server) -> None:
    window = server.client("registrations:write")
    ent = entity()
    assert window.post("/api/v1/registrations", json=event("establishment", ent)).status_code == 201
    answer = json.loads(server.cli("holders", "invite", "--uscc", ent["uscc"], "--name", ent["representative"],
                                   "--json"))
    assert answer["invitation_url"].startswith(f"{server.base}/holder/enrol?i=") and answer["role"] == \
        "legal_representative"
    assert httpx.get(answer["invitation_url"]).status_code == 200
    printed = server.cli("holders", "invite", "--uscc", ent["uscc"], "--name", ent["representative"])
    assert "/holder/enrol?i=" in printed and "█" in printed  # the link, and its QR in the terminal
    refused = subprocess.run([ELICENSE, "holders", "invite", "--uscc", ent["uscc"], "--name", "别人"], env=server.env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "holders.name_not_registered" in refused.stderr
    demo = server.cli("holders", "demo", "--count", "1")
    assert demo.count("/holder/enrol?i=") == 1 and "virtual authenticator" in demo
