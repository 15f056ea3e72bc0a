"""Log in with the e-license, end to end: the sample platform (``examples/sample_platform.py``, authlib's
stock Starlette OIDC client, a separate process) logs a holder in through a real server process, with
Debian's Chromium driven by Playwright.

Cross-device: a desktop context opens the platform and is sent to the authorize page, which shows a
QR, a short code and a number; a phone-sized context with a CDP virtual authenticator (the legal
representative's phone, enrolled with a passkey) opens the QR's URL as zxing-cpp reads it off the
desktop's screen, types the number, approves with the passkey; the desktop's page follows by itself
and lands on the platform, which shows the claims it validated with nothing but the discovery
document and the JWKS. Same-device: the phone opens the platform and approves on the authorize page.
The screens are checked with axe-core at 390 and 1280 px."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import entity, event

from . import test_holder_browser as _holder_browser
from .conftest import Server, _free_port, require_tools
from .test_holder_browser import PhoneBrowser, _check_here, _check_screen, _decode_qr

ROOT = Path(__file__).parents[2]
browser = _holder_browser.browser  # Debian's Chromium, with axe-core at hand


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_tools()
    s = Server(tmp_path_factory.mktemp("login"), env={"ELICENSE_RATE_PAGE_BURST": "1000",
                                                      "ELICENSE_RATE_HOLDER_BURST": "1000"})
    s.env["ELICENSE_PUBLIC_BASE_URL"] = s.base = f"http://localhost:{s.port}"  # passkeys need a host name
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def sample_platform(server: Server) -> Iterator[str]:
    """The README's one command, beside the server: it registers itself with ``elicense platforms create``."""
    port = _free_port()
    log = open(server.home / "platform.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "examples.sample_platform", "--issuer", server.base, "--port",
                             str(port)], cwd=ROOT, env={**server.env, "PYTHONPATH": str(ROOT)}, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        assert proc.poll() is None, (server.home / "platform.log").read_text()
        try:
            if httpx.get(base + "/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise AssertionError("the sample platform did not come up")
    yield base
    proc.terminate()
    proc.wait(15)


class Desktop:
    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        self.page = self.context.new_page()


@pytest.fixture(scope="module")
def holder(server: Server, browser: Any) -> tuple[PhoneBrowser, dict[str, Any]]:
    """A company's legal representative, enrolled with a passkey on their phone."""
    window = server.client("holders:invite registrations:write")
    ent = entity(name="湘西扫码登录测试有限公司")
    assert window.post("/api/v1/registrations", json=event("establishment", ent)).status_code == 201
    invitation = window.post(f"/api/v1/entities/{ent['uscc']}/holder-invitations",
                             json={"role": "legal_representative", "name": ent["representative"]}).json()
    phone = PhoneBrowser(browser, "login-lr")
    phone.goto(invitation["invitation_url"])
    phone.click_and_wait("button[data-passkey=enrol]", "/holder/")
    return phone, ent


def test_cross_device_login_with_the_sample_platform(server: Server, browser: Any, sample_platform: str,
                                                     holder: tuple[PhoneBrowser, dict[str, Any]]) -> None:
    phone, ent = holder
    desktop = Desktop(browser)
    desktop.page.goto(sample_platform + "/")
    with desktop.page.expect_navigation(url=re.compile(r"/oidc/authorize\?")):
        desktop.page.click("#login")
    assert "示例平台" in desktop.page.inner_text("main")
    number = desktop.page.inner_text("#match-number").strip()
    assert re.fullmatch(r"\d\d", number)
    _check_here(desktop, "authorize", "zh")  # type: ignore[arg-type]
    scanned = _decode_qr(desktop)  # type: ignore[arg-type]
    assert re.fullmatch(re.escape(server.base) + r"/oidc/scan/[A-Za-z0-9_-]{32}", scanned), scanned

    phone.goto(scanned)
    assert "示例平台" in phone.page.inner_text("main")
    _check_screen(phone, "scan", url=scanned)
    phone.page.fill("#number", number)
    phone.page.check("#share-name")
    phone.click_and_wait("#approve-form button[type=submit]", "/oidc/scan/done")
    _check_here(phone, "scan-done", "zh")

    # the desktop follows by itself (it polls), and the platform shows what it validated
    desktop.page.wait_for_url(re.compile("^" + re.escape(sample_platform) + r"/$"), timeout=20_000)
    text = desktop.page.inner_text("main")
    assert ent["name"] in desktop.page.inner_text("#welcome"), text
    claims = desktop.page.inner_text("#claims")
    assert ent["uscc"] in claims and "legal_representative" in claims and ent["representative"] in claims
    assert '"phr"' in claims and "auth_time" in claims

    # the holder sees the log-in on the activity page
    phone.goto(f"{server.base}/holder/activity")
    assert "示例平台" in phone.page.inner_text("main") and "已登录" in phone.page.inner_text("main")
    _check_screen(phone, "activity-logins")

    # the QR again, after use, says so
    phone.goto(scanned)
    assert "已被使用" in phone.page.inner_text("main")


def test_same_device_login_with_the_sample_platform(sample_platform: str,
                                                    holder: tuple[PhoneBrowser, dict[str, Any]]) -> None:
    phone, ent = holder
    phone.goto(sample_platform + "/logout")
    phone.goto(sample_platform + "/")
    with phone.page.expect_navigation(url=re.compile(r"/oidc/authorize\?")):
        phone.page.click("#login")
    with phone.page.expect_navigation(url=re.compile("^" + re.escape(sample_platform) + r"/$"), timeout=20_000):
        phone.page.click("button[data-same-device]")
    assert ent["name"] in phone.page.inner_text("#welcome")
    assert "\nname\t" not in "\n" + phone.page.inner_text("#claims")  # no profile consent on this device


def test_the_platform_command_prints_credentials(server: Server) -> None:
    import json

    out = json.loads(server.cli("platforms", "create", "--name", "另一个平台", "--redirect-uri",
                                "https://p.example/cb", "--json"))
    assert set(out) == {"client_id", "client_secret"}
    refused = subprocess.run([str(Path(sys.executable).parent / "elicense"), "platforms", "create", "--name", "x",
                              "--redirect-uri", "http://p.example/cb"], env=server.env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 2 and "redirect_uri" in refused.stderr
