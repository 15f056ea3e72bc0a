"""The public page in a real browser (Debian's Chromium through Playwright), at a phone's size:
it renders, the banner matches the verdict, the language switch works, and basic accessibility holds
(lang attributes, one h1 and ordered headings, text contrast, no text in images, no sideways scroll)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import entity, event

from .conftest import Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium"):
        pytest.fail("chromium is missing: the README's test command installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def licenses(server: Server) -> dict[str, dict[str, Any]]:
    c = server.client("registrations:write licenses:read")
    ent = entity(name="湘西<script>window.__xss=1</script>科技有限公司")
    v1 = c.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    v2 = c.post("/api/v1/registrations", json=event("change", {**ent, "address": "吉首市人民路1号"},
                                                    decided_at="2019-01-02T10:00:00+08:00")).json()["license"]
    return {"old": v1, "current": v2}


_CONTRAST = """() => {
  function lum(c) { const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; }
  function bg(el) { while (el) { const c = getComputedStyle(el).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; el = el.parentElement; }
    return 'rgb(255, 255, 255)'; }
  let worst = 21;
  for (const el of document.querySelectorAll('h1, h2, p, dt, dd, li, a')) {
    const a = lum(getComputedStyle(el).color), b = lum(bg(el));
    worst = Math.min(worst, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)); }
  return worst; }"""


def _open(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page.goto(url)
    return page


def _accessible(page: Any) -> None:
    assert page.get_attribute("html", "lang") in ("zh-CN", "en")
    assert page.locator("h1").count() == 1
    levels = page.eval_on_selector_all("h1, h2, h3", "els => els.map(e => +e.tagName[1])")
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels))
    assert page.evaluate(_CONTRAST) >= 4.5
    assert page.locator("img").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_valid_license_page_and_language_switch(browser: Any, server: Server, licenses: dict[str, Any],
                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    page = _open(browser, licenses["current"]["verify_url"])
    assert page.locator(".banner").get_attribute("class") == "banner valid"
    assert "真实有效" in page.inner_text(".banner h2")
    assert "<script>" in page.inner_text("main")  # escaped and shown as text, never run
    assert page.evaluate("typeof window.__xss") == "undefined"
    _accessible(page)
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "valid-zh.png"), full_page=True)
    page.click("text=English")
    assert page.get_attribute("html", "lang") == "en"
    assert "Genuine and in force" in page.inner_text(".banner h2")
    assert "Legal representative" in page.inner_text("main")
    _accessible(page)
    page.click("text=中文")
    assert page.get_attribute("html", "lang") == "zh-CN"


def test_superseded_page_links_to_current(browser: Any, licenses: dict[str, Any]) -> None:
    page = _open(browser, licenses["old"]["verify_url"])
    assert page.locator(".banner").get_attribute("class") == "banner not_in_force"
    assert "已于 2019年01月02日 被第 2 版执照替代" in page.inner_text(".banner")
    _accessible(page)
    page.click("a.current")
    assert page.locator(".banner").get_attribute("class") == "banner valid"


def test_forged_token_page(browser: Any, server: Server, licenses: dict[str, Any]) -> None:
    h, p, s = licenses["current"]["token"].split(".")
    page = _open(browser, f"{server.base}/v/{h}.{p[:-2]}AA.{s}")
    assert page.locator(".banner").get_attribute("class") == "banner invalid"
    assert "不是真实有效的执照" in page.inner_text(".banner h2")
    assert page.locator("text=登记事项").count() == 0  # nothing of the license is shown for a forgery
    _accessible(page)


@pytest.fixture(scope="module")
def deregistered(server: Server) -> dict[str, dict[str, Any]]:
    """A partnership changed once (v1 superseded by v2), then deregistered (注销), and a company revoked."""
    c = server.client("registrations:write licenses:read")
    ent = entity("partnership", name="吉首峒河合伙企业（有限合伙）")
    v1 = c.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    v2 = c.post("/api/v1/registrations", json=event("change", {**ent, "address": "吉首市人民路2号"},
                                                    decided_at="2019-01-02T10:00:00+08:00")).json()["license"]
    r = c.post("/api/v1/registrations", json=event("cancellation", {"uscc": ent["uscc"]}, reason="决议解散",
                                                   decided_at="2020-06-01T10:00:00+08:00"))
    assert r.status_code == 200, r.text
    other = entity()
    revoked = c.post("/api/v1/registrations", json=event("establishment", other)).json()["license"]
    r = c.post("/api/v1/registrations", json=event("revocation", {"uscc": other["uscc"]}, reason="未按规定年报",
                                                   decided_at="2020-06-01T10:00:00+08:00"))
    assert r.status_code == 200, r.text
    return {"old": v1, "last": v2, "revoked": revoked}


@pytest.mark.parametrize("width", [390, 1280])
def test_an_old_version_of_a_deregistered_entity_says_what_is_true_now(
        browser: Any, deregistered: dict[str, Any], licenses: dict[str, Any], width: int,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The entity's registration status now (存续 / 吊销 / 注销) beside this version's status; a void
    license is never called 现行有效; a superseded version's items are marked historical, with the
    current values beside those that changed; check names are words, not codes."""
    shots = tmp_path_factory.mktemp(f"shots-{width}")
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(deregistered["old"]["verify_url"])
    banner = page.locator(".banner")
    assert banner.get_attribute("data-status") == "superseded"
    assert page.inner_text("dd.entity-status") == "注销"
    assert "现行有效" not in page.inner_text("a.current") and "最新执照" in page.inner_text("a.current")
    assert "历史" in page.inner_text("main")
    assert "现为：吉首市人民路2号" in page.inner_text("main")  # the address changed in version 2
    assert "key_known" not in page.inner_text("main") and "签名密钥为登记机关公布的密钥" in page.inner_text("main")
    _accessible(page)
    page.screenshot(path=str(shots / "old-of-deregistered-zh.png"), full_page=True)
    page.click("text=English")
    assert "deregistered" in page.inner_text("dd.entity-status")
    assert "now: " in page.inner_text("main") and "key_known" not in page.inner_text("main")
    _accessible(page)
    page.screenshot(path=str(shots / "old-of-deregistered-en.png"), full_page=True)
    page.click("a.current")
    assert page.locator(".banner").get_attribute("data-status") == "cancelled"
    assert "deregistered" in page.inner_text("dd.entity-status")
    # superseded, cancelled and revoked look different; an old copy of a thriving company is calm
    colours = {}
    for name, url in (("superseded", deregistered["old"]["verify_url"]), ("cancelled", deregistered["last"]["verify_url"]),
                      ("revoked", deregistered["revoked"]["verify_url"]), ("thriving", licenses["old"]["verify_url"])):
        page.goto(url)
        colours[name] = page.eval_on_selector(".banner", "e => getComputedStyle(e).backgroundColor")
        if name == "thriving":
            assert page.inner_text("dd.entity-status") == "存续"
            assert page.locator(".banner").get_attribute("data-status") == "superseded"
        _accessible(page)
        page.screenshot(path=str(shots / f"{name}-zh.png"), full_page=True)
    assert len({colours["superseded"], colours["cancelled"], colours["revoked"]}) == 3
    assert colours["superseded"] == colours["thriving"]
    page.close()
