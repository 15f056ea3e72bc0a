"""The request guard through the real app (license_service/web/guard.py): head and body limits on the
bytes actually received, whatever the framing; authentication before any body is read; what
production does not serve; page framing. Bodies are fed straight to the ASGI app, one chunk per
``receive``, so each test knows exactly how much of a body the app pulled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from license_service.config import Settings
from license_service.runtime.issuing import IssuingRuntime
from license_service.web import guard
from license_service.web.app import base_app
from license_service.web.operations import router as operations_router
from tests.conftest import entity, event

Client = Callable[[str], TestClient]
CHUNK = 64 * 1024


class Sent:
    """What an ASGI app answered, and how many body bytes it pulled."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.pulled = 0

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"].startswith("application/problem+json"), self.headers
        body: dict[str, Any] = json.loads(self.body)
        assert body["status"] == self.status
        return body


def drive(app: FastAPI, path: str, chunks: Iterator[bytes], headers: dict[str, str] | None = None, *,
          method: str = "POST") -> Sent:
    """One request to ``app``, its body ``chunks`` handed over one per ``receive`` (a chunked upload
    as the server passes it on: no Content-Length unless ``headers`` says one)."""
    out = Sent()

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        out.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out.status = message["status"]
            out.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            out.body += message.get("body", b"")

    raw = [(b"transfer-encoding", b"chunked"), *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw,
             "client": ("127.0.0.1", 40000), "server": ("testserver", 80), "state": {}}
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return out


def endless(first: bytes = b"", *, upto: int = 16 << 20) -> Iterator[bytes]:
    """``first``, then 64 KiB chunks until ``upto`` bytes (a body far over every limit)."""
    if first:
        yield first
    sent = len(first)
    while sent < upto:
        yield b" " * CHUNK
        sent += CHUNK


def bearer(client: TestClient) -> dict[str, str]:
    return {"authorization": client.headers["authorization"]}


def test_chunked_registration_over_the_limit_is_413_and_reading_stops(app: FastAPI, client_for: Client) -> None:
    """300 MiB chunked to /api/v1/registrations took a worker from 576 to 1,465 MB: only
    Content-Length was checked. Now the received bytes are counted, and the app stops at the limit."""
    limit = Settings().max_body_bytes
    got = drive(app, "/api/v1/registrations", endless(b"{"), {**bearer(client_for("registrations:write")),
                                                              "content-type": "application/json"})
    assert got.status == 413 and got.problem()["code"] == "too_large"
    assert got.headers["connection"] == "close"  # the server stops reading what is left
    assert got.pulled <= limit + CHUNK


def test_chunked_pdf_over_the_limit_is_413_while_multipart_parses(app: FastAPI, client_for: Client) -> None:
    boundary = "limits-test"
    first = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.pdf\"\r\n"
             "Content-Type: application/pdf\r\n\r\n%PDF-").encode()
    got = drive(app, guard.PDF_UPLOAD_PATH, endless(first, upto=64 << 20),
                {**bearer(client_for("verify")), "content-type": f"multipart/form-data; boundary={boundary}"})
    assert got.status == 413 and got.problem()["code"] == "too_large"
    assert got.pulled <= Settings().max_pdf_bytes + 16 * 1024 + CHUNK


@pytest.mark.parametrize("path", ["/api/v1/verify/pdf", "/api/v1/registrations", "/api/v1/verify/token"])
def test_unauthenticated_body_is_never_read(app: FastAPI, path: str) -> None:
    """A 200 MiB chunked upload to /api/v1/verify/pdf without a token left a 195 MiB temporary file,
    then got 401: the multipart parser ran first. Now not one byte is pulled."""
    got = drive(app, path, endless(b"--x\r\n"), {"content-type": "multipart/form-data; boundary=x"})
    assert got.status == 401 and got.problem()["code"].startswith("auth.")
    assert got.pulled == 0
    assert got.headers["connection"] == "close" and got.headers["www-authenticate"].startswith("Bearer")
    bad = drive(app, path, endless(), {"authorization": "Bearer not.a.token"})
    assert bad.status == 401 and bad.pulled == 0


def test_malformed_body_without_a_token_is_401_not_422(anon: TestClient) -> None:
    """Malformed bodies got 422 before 401: authentication comes first."""
    for path, content in (("/api/v1/registrations", b"{not json"), ("/api/v1/verify/token", b"\x00\xff"),
                          ("/api/v1/verify/pdf", b"--nope")):
        r = anon.post(path, content=content, headers={"content-type": "application/json"})
        assert r.status_code == 401, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_malformed_body_with_a_token_is_still_422(registrar: TestClient) -> None:
    r = registrar.post("/api/v1/registrations", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_token_form_and_ocsp_take_small_bodies_only(app: FastAPI, anon: TestClient) -> None:
    """/trust/ocsp read any size; the client-credentials form needs a few hundred bytes."""
    r = anon.post("/oauth/token", content=b"grant_type=client_credentials&client_id=" + b"a" * 5000,
                  headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413, r.text
    r = anon.post("/trust/ocsp", content=b"0" * (9 * 1024), headers={"content-type": "application/ocsp-request"})
    assert r.status_code == 413, r.text
    for path, media_type in (("/trust/ocsp", "application/ocsp-request"),
                             ("/oauth/token", "application/x-www-form-urlencoded")):
        got = drive(app, path, endless(upto=1 << 20), {"content-type": media_type})
        assert got.status == 413 and got.pulled <= 8 * 1024 + CHUNK, path


def test_declared_length_over_the_limit_is_413_before_reading(app: FastAPI, client_for: Client) -> None:
    for declared in ("999999999", "9" * 5000, "12x"):
        got = drive(app, "/api/v1/registrations", endless(), {**bearer(client_for("registrations:write")),
                                                              "content-length": declared})
        assert got.status == 413 and got.pulled == 0, declared


def test_body_within_the_limit_still_works(registrar: TestClient) -> None:
    r = registrar.post("/api/v1/registrations", json=event("establishment", entity()))
    assert r.status_code == 201, r.text


def test_header_block_over_the_limit_is_431(anon: TestClient) -> None:
    """19 MB of header fields were accepted; the total is now limited (Settings.max_header_bytes)."""
    limit = 32 * 1024  # the documented default, ELICENSE_MAX_HEADER_BYTES
    r = anon.get("/healthz", headers={f"x-pad-{i}": "a" * 1000 for i in range(limit // 1000 + 1)})
    assert r.status_code == 431 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "headers_too_large" and r.headers["connection"] == "close"
    assert anon.get("/healthz", headers={"x-pad": "a" * (limit // 2)}).status_code == 200
    assert anon.get("/healthz?" + "q" * (limit + 1)).status_code == 431  # the target counts too


def test_the_token_route_authenticates_once(verifier_token: str, app: FastAPI, monkeypatch: pytest.MonkeyPatch,
                                            registrar: TestClient) -> None:
    """The guard's principal is reused by the hot route: one access-token check per request."""
    calls: list[object] = []
    real = guard.authenticate

    def counting(request: Any) -> Any:
        calls.append(request)
        return real(request)

    monkeypatch.setattr(guard, "authenticate", counting)
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    calls.clear()
    client = TestClient(app, base_url="http://testserver", headers={"Authorization": f"Bearer {verifier_token}"})
    r = client.post("/api/v1/verify/token", json={"token": lic["token"]})
    assert r.status_code == 200 and r.json()["verdict"] == "valid"
    assert len(calls) == 1


@pytest.fixture
def verifier_token(client_for: Client) -> str:
    return client_for("verify").headers["authorization"].split()[1]


def test_pages_refuse_framing(anon: TestClient, client_for: Client) -> None:
    page = anon.get("/v/not-a-token")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    audit = client_for("audit").get("/audit")
    assert audit.status_code == 200
    assert "frame-ancestors 'none'" in audit.headers["content-security-policy"]
    assert audit.headers["x-frame-options"] == "DENY"


def _production(runtime: IssuingRuntime) -> FastAPI:
    """A production app's base (the guard and the docs settings) over the test runtime: production
    proper needs PostgreSQL and a real PKI, neither of which the base app looks at."""
    settings = Settings(env="production", database_url="postgresql://unused/unused", cert_type_code="BL001",
                        issuer_code="ISSUER1")
    app = base_app(settings)
    app.state.runtime = runtime
    app.include_router(operations_router)
    return app


def test_production_serves_no_docs_and_metrics_only_to_auditors(runtime: IssuingRuntime, client_for: Client) -> None:
    prod = TestClient(_production(runtime), base_url="http://testserver")
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert prod.get(path).status_code == 404, path
    assert prod.get("/metrics").status_code == 401
    assert prod.get("/metrics", headers=bearer(client_for("verify"))).status_code == 403
    ok = prod.get("/metrics", headers=bearer(client_for("audit")))
    assert ok.status_code == 200 and "elicense_log_size" in ok.text
    assert prod.get("/healthz").status_code == 200


def test_development_still_serves_docs_and_metrics(anon: TestClient) -> None:
    assert anon.get("/docs").status_code == 200 and anon.get("/openapi.json").status_code == 200
    assert anon.get("/metrics").status_code == 200


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert Settings().trusted_proxies == ""
    assert Settings(trusted_proxies=" 10.0.0.0/8, 127.0.0.1 ,").trusted_proxies == "10.0.0.0/8,127.0.0.1"
    for bad in ("*", "proxy.example", "10.0.0.0/33"):
        with pytest.raises(ValueError):
            Settings(trusted_proxies=bad)
