"""The request limits against a real ``elicense serve`` (uvicorn with httptools), with the attack
scripts of tests/adversarial/body_limits.py: the bytes a worker holds and writes stay within the
limits whatever the framing, nothing is read before authentication, and the server says nothing
about itself (issue 12, item 2 and part of item 9)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.adversarial import body_limits as attack
from tests.adversarial.body_limits import MiB, Outcome

from .conftest import Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One worker (its pid is the server's), its own temporary directory, and a public-page rate limit
    small enough to reach."""
    home = tmp_path_factory.mktemp("limits-server")
    (home / "tmp").mkdir()
    s = Server(home, env={"TMPDIR": str(home / "tmp"), "ELICENSE_RATE_PAGE_BURST": "10",
                          "ELICENSE_RATE_PAGE_PER_SECOND": "0.1"})
    s.start()
    yield s
    s.stop()


def _pid(server: Server) -> int:
    assert server.proc is not None
    return server.proc.pid


def _rss_mib(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _temp_files(pid: int, tmp: Path) -> list[str]:
    """The files (deleted or not) the server holds open in its temporary directory."""
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(tmp)):
            out.append(target)
    return out


def _token(server: Server, scopes: str) -> str:
    with server.client(scopes) as c:
        return str(c.headers["authorization"].split()[1])


def _problem(out: Outcome, status: int) -> dict[str, object]:
    assert out.status == status, (out.status, out.body[:300])
    assert out.headers["content-type"].startswith("application/problem+json"), out.headers
    body: dict[str, object] = json.loads(out.body)
    assert body["status"] == status
    return body


def test_unauthenticated_chunked_pdf_upload_is_refused_unread(server: Server) -> None:
    """Before: a 195 MiB temporary file, then 401. Now: 401 at once, no temporary file, connection closed."""
    pid, tmp = _pid(server), server.home / "tmp"
    held: list[str] = []

    def watch(sent: int) -> None:
        if sent % (4 * MiB) < 64 * 1024:
            held.extend(_temp_files(pid, tmp))

    out = attack.unauthenticated_chunked_pdf_upload_is_refused_unread(server.base, progress=watch)
    assert held == [] and _temp_files(pid, tmp) == [] and list(tmp.iterdir()) == [], held[:3]
    body = _problem(out, 401)
    assert str(body["code"]).startswith("auth.")
    assert out.sent < 16 * MiB, out.sent  # answered long before the 200 MiB
    assert out.seconds < 10
    assert out.headers.get("connection") == "close"


def test_authenticated_chunked_uploads_stop_at_the_limit(server: Server) -> None:
    """Before: 300 MiB chunked to /api/v1/registrations took the worker from 576 to 1,465 MB."""
    pid = _pid(server)
    before = _rss_mib(pid)
    peak = before

    def watch(sent: int) -> None:
        nonlocal peak
        if sent % (4 * MiB) < 64 * 1024:
            peak = max(peak, _rss_mib(pid))

    out = attack.authenticated_chunked_registration_stops_at_the_limit(
        server.base, _token(server, "registrations:write"), progress=watch)
    assert _problem(out, 413)["code"] == "too_large"
    assert out.sent < 32 * MiB, out.sent
    assert max(peak, _rss_mib(pid)) - before < 50, (before, peak)
    pdf = attack.authenticated_chunked_pdf_upload_stops_at_the_limit(server.base, _token(server, "verify"))
    assert _problem(pdf, 413)["code"] == "too_large"
    assert pdf.sent < 32 * MiB, pdf.sent
    deadline = time.monotonic() + 5  # the 413 goes out first; the parser's spooled file is closed as it unwinds
    while _temp_files(pid, server.home / "tmp") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _temp_files(pid, server.home / "tmp") == []  # a refused upload leaves nothing open


def test_ocsp_and_token_form_take_a_few_kib(server: Server) -> None:
    for out in (attack.chunked_ocsp_request_stops_at_a_few_kib(server.base),
                attack.chunked_token_form_stops_at_a_few_kib(server.base)):
        assert _problem(out, 413)["code"] == "too_large"
        assert out.sent < 16 * MiB


def test_header_blocks_over_the_limit_get_431(server: Server) -> None:
    """Before: 19 MB of header fields were accepted."""
    assert _problem(attack.header_block_over_the_limit_is_refused(server.base), 431)["code"] == "headers_too_large"
    pid = _pid(server)
    before = _rss_mib(pid)
    peak = before

    def watch(sent: int) -> None:
        nonlocal peak
        if sent % MiB < 64 * 1024:
            peak = max(peak, _rss_mib(pid))

    out = attack.endless_header_field_is_cut_off(server.base, progress=watch)
    assert _problem(out, 431)["code"] == "headers_too_large"
    assert out.sent < 8 * MiB, out.sent
    assert peak - before < 20, (before, peak)
    assert httpx.get(server.base + "/healthz").status_code == 200  # and the server carries on


def test_malformed_body_without_a_token_is_401(server: Server) -> None:
    """Before: 422 (the body was parsed before the token was looked at)."""
    for path in ("/api/v1/registrations", "/api/v1/verify/token"):
        assert _problem(attack.malformed_body_without_a_token_is_401(server.base, path), 401)


def test_the_server_says_nothing_about_itself_and_pages_refuse_framing(server: Server) -> None:
    r = httpx.get(server.base + "/healthz")
    assert "server" not in r.headers, r.headers
    page = httpx.get(server.base + "/v/not-a-token")
    assert "server" not in page.headers
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_forwarded_for_is_ignored_by_default(server: Server) -> None:
    """Before: uvicorn believed X-Forwarded-For from loopback, so each request was another client
    to the public page's rate limit (120 requests with varied headers all passed)."""
    statuses = attack.forwarded_for_does_not_pick_the_client_address(server.base, requests=30)
    assert statuses.count(429) >= 15, statuses


def test_forwarded_for_is_believed_from_a_configured_proxy(tmp_path: Path) -> None:
    """ELICENSE_TRUSTED_PROXIES: the proxy's X-Forwarded-For names the client (each address its own bucket)."""
    s = Server(tmp_path, env={"ELICENSE_RATE_PAGE_BURST": "10", "ELICENSE_RATE_PAGE_PER_SECOND": "0.1",
                              "ELICENSE_TRUSTED_PROXIES": "127.0.0.1"})
    s.start()
    try:
        statuses = attack.forwarded_for_does_not_pick_the_client_address(s.base, requests=30)
    finally:
        s.stop()
    assert set(statuses) == {200}, statuses
