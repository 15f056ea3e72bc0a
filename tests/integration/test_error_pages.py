"""Errors are pages for people and problem+json for programs, decided by ``Accept`` (STYLE.md, "Pages
people use"): a phone that opens a mistyped address or hits the public page's rate limit gets a page
in Chinese (English on request), never English JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient

from devapp import create_app as create_combined_app
from license_service.runtime.issuing import IssuingRuntime

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_not_found_is_a_page_for_a_browser_and_problem_json_for_a_program(anon: TestClient) -> None:
    page = anon.get("/v", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text and "未找到" in page.text and "not_found" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text
    english = anon.get("/v?lang=en", headers=BROWSER)
    assert english.status_code == 404 and '<html lang="en">' in english.text and "Not found" in english.text
    program = anon.get("/v", headers={"Accept": "application/json"})
    assert program.status_code == 404 and program.headers["content-type"].startswith("application/problem+json")
    assert program.json()["code"] == "not_found"
    assert anon.get("/v").headers["content-type"].startswith("application/problem+json")  # no Accept: a program


def test_the_public_pages_rate_limit_is_a_page_saying_when_to_come_back(runtime: IssuingRuntime) -> None:
    settings = runtime.settings.model_copy(update={"rate_page_per_second": 0.01, "rate_page_burst": 1})
    c = TestClient(create_combined_app(settings, runtime))
    assert c.get("/v/a.b.c", headers=BROWSER).status_code == 200
    page = c.get("/v/a.b.c", headers=BROWSER)
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    retry = page.headers["retry-after"]
    assert retry.isdigit() and f"请在 {retry} 秒后重试" in page.text
    english = c.get("/v/a.b.c?lang=en", headers=BROWSER)
    assert english.status_code == 429 and f"try again in {english.headers['retry-after']} s" in english.text


def test_a_bad_query_parameter_is_named_as_itself(registrar: TestClient) -> None:
    """?form=bad was reported as field 'body' (a parameter called 'form' was taken for a location)."""
    r = registrar.get("/api/v1/licenses/nope/pdf", params={"form": "bad"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["form"]


def test_the_api_docs_need_no_cdn(anon: TestClient) -> None:
    """/docs and /redoc were blank offline and in mainland China: their scripts came from public CDNs.
    They are served from here now (development; production serves no docs)."""
    for page, asset in (("/docs", "/docs-assets/swagger-ui-bundle.js"), ("/redoc", "/docs-assets/redoc.standalone.js")):
        html = anon.get(page).text
        assert asset in html and "cdn" not in html.lower() and "https://" not in html, page
        js = anon.get(asset)
        assert js.status_code == 200 and len(js.content) > 100_000, asset
    assert anon.get("/docs-assets/swagger-ui.css").status_code == 200
