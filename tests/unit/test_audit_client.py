"""The auditor's HTTP client (license_service/audit/client.py) against a hostile server, through
httpx's mock transport: no network. Answers too large or too slow are stopped and could not be
checked; a server that cannot serve now (5xx, 429, no connection) could not be checked; one that
answers wrongly (4xx on what it must serve, malformed bodies, pages in circles) fails the audit."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from license_service.audit.check import AuditFailure, CouldNotCheck
from license_service.audit.client import Limits, LogClient

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, **limits: Any) -> LogClient:
    return LogClient("http://log.test", client_id="auditor", client_secret="s", limits=Limits(**limits),
                     transport=httpx.MockTransport(handler))


def _drip(chunks: int, pause: float) -> Iterator[bytes]:
    for _ in range(chunks):
        time.sleep(pause)
        yield b"a"


def test_a_declared_oversized_answer_is_not_read() -> None:
    c = _client(lambda r: httpx.Response(200, headers={"Content-Length": str(10**9)}, content=b""), text=1024)
    with pytest.raises(CouldNotCheck, match="the answer would be 1000000000 bytes, more than the 1024"):
        c.vkey()


def test_an_endless_answer_is_stopped_at_the_cap() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 65536

    c = _client(lambda r: httpx.Response(200, content=endless()), page=1024 * 1024)
    with pytest.raises(CouldNotCheck, match=r"GET /log/entries: the answer exceeds the 1048576 bytes this audit "
                                            r"reads; stopped"):
        c.entries(0, 10)


def test_a_dripping_answer_is_given_up_at_the_deadline() -> None:
    c = _client(lambda r: httpx.Response(200, content=_drip(100, 0.05)), answer=0.5)
    started = time.monotonic()
    with pytest.raises(CouldNotCheck, match=r"GET /log/checkpoint: no complete answer within 0.5 s; gave up"):
        c.checkpoint()
    assert time.monotonic() - started < 2
    c.close()  # leaves the overrunning fetch alone


@pytest.mark.parametrize("error,says", [
    (httpx.ConnectError("refused"), "GET /log/key failed: ConnectError: refused"),
    (httpx.ReadTimeout("slow"), "GET /log/key: no answer in time (ReadTimeout)"),
])
def test_transport_failures_could_not_be_checked(error: httpx.HTTPError, says: str) -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(CouldNotCheck, match=re.escape(says)):
        _client(handler).vkey()


@pytest.mark.parametrize("status,body,kind,says", [
    (503, b'{"code":"service.unavailable"}', CouldNotCheck, "GET /log/checkpoint answered 503"),
    (429, b"slow down", CouldNotCheck, "GET /log/checkpoint answered 429"),
    (500, b'{"code":"log.corrupted","detail":"missing nodes"}', AuditFailure, "the log's store is corrupted"),
    (404, b'{"code":"log.empty"}', AuditFailure, "GET /log/checkpoint answered 404"),
])
def test_refusals_are_sorted_into_failed_and_could_not_check(status: int, body: bytes, kind: type[Exception],
                                                             says: str) -> None:
    with pytest.raises(kind, match=re.escape(says)):
        _client(lambda r: httpx.Response(status, content=body)).checkpoint()


@pytest.mark.parametrize("body,says", [
    (b"<html>", "GET /log/entries answered something that is not JSON"),
    (b'{"entries": [{"index": 0, "data": "!!"}]}', "GET /log/entries answered a malformed page from index 0"),
    (b'{"entries": []}', "the log shrank from 2 to 0: its checkpoint covers 2 entries and it serves 0"),
    (b'{"entries": [{"index": 1, "data": "AA=="}]}', "the log served entries out of order or missing from index 0"),
])
def test_malformed_or_short_entries_fail(body: bytes, says: str) -> None:
    with pytest.raises(AuditFailure, match=re.escape(says)):
        _client(lambda r: httpx.Response(200, content=body)).entries(0, 2)


def _registry_server(pages: dict[str, list[dict[str, Any]]], *, expire_first: bool = False,
                     circle: bool = False) -> tuple[Handler, list[str]]:
    """An issuing service's audit routes over ``pages`` (path -> rows), paged 2 at a time."""
    tokens: list[str] = []

    def handler(r: httpx.Request) -> httpx.Response:
        if r.url.path == "/oauth/token":
            tokens.append(f"t{len(tokens)}")
            return httpx.Response(200, json={"access_token": tokens[-1], "token_type": "bearer", "expires_in": 60})
        if expire_first and r.headers["Authorization"] == "Bearer t0":
            return httpx.Response(401, json={"code": "auth.expired"})
        if r.url.path.endswith("/pdf"):
            return httpx.Response(200, content=b"%PDF " + r.url.path.encode())
        key = r.url.path.rsplit("/", 1)[1]
        rows = pages[key]
        start = 0 if circle else int(r.url.params.get("after", "-1")) + 1
        page = rows[start:start + 2]
        return httpx.Response(200, json={key: page, "next": str(start + 1) if start + 2 < len(rows) else None})

    return handler, tokens


def _license(i: int) -> dict[str, Any]:
    return {"license_id": f"{i}", "uscc": "U", "version": 1, "serial": "S", "status": "current", "issued_at": "t",
            "registered_on": "d", "record": "{}", "record_digest": "x", "pdf_sha256": "x", "token": "t",
            "event_id": f"e{i}", "leaf_index": i, "superseded_by": None, "status_changed_at": None,
            "status_reason": None}


def test_the_registry_is_read_page_by_page_with_a_fresh_token_when_one_expires() -> None:
    handler, tokens = _registry_server({"licenses": [_license(i) for i in range(5)], "entities": [], "events": [],
                                        "holders": []},
                                       expire_first=True)
    listing = _client(handler).registry()
    assert [x["license_id"] for x in listing.licenses] == ["0", "1", "2", "3", "4"]
    assert tokens == ["t0", "t1"]


def test_a_registry_paging_in_circles_fails() -> None:
    handler, _ = _registry_server({"licenses": [_license(i) for i in range(5)]}, circle=True)
    with pytest.raises(AuditFailure, match="GET /api/v1/audit/licenses listed 0 twice"):
        _client(handler).registry()


def test_a_malformed_registry_row_fails() -> None:
    handler, _ = _registry_server({"licenses": [{**_license(0), "version": "1"}]})
    with pytest.raises(AuditFailure, match="GET /api/v1/audit/licenses answered a malformed row 0: version"):
        _client(handler).registry()


def test_a_registry_larger_than_the_cap_could_not_be_checked() -> None:
    handler, _ = _registry_server({"licenses": [_license(i) for i in range(9)]})
    with pytest.raises(CouldNotCheck, match="lists more than 3 rows"):
        _client(handler, rows=3).registry()


def test_a_refused_credential_could_not_be_checked() -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    with pytest.raises(CouldNotCheck, match="the auditor credential was refused"):
        _client(handler).registry()
    with pytest.raises(CouldNotCheck, match="needs an auditor credential"):
        LogClient("http://log.test", transport=httpx.MockTransport(handler)).registry()


def test_pdfs_are_hashed_as_they_stream_and_capped() -> None:
    handler, _ = _registry_server({})
    c = _client(handler)
    assert c.pdf_sha256("1.2.3") == hashlib.sha256(b"%PDF /api/v1/audit/licenses/1.2.3/pdf").hexdigest()
    assert _client(lambda r: httpx.Response(404, json={"code": "license.unknown"}) if r.url.path.endswith("pdf")
                   else handler(r)).pdf_sha256("9") is None
    with pytest.raises(CouldNotCheck, match="more than the 8 this audit reads"):
        _client(handler, pdf=8).pdf_sha256("1.2.3")


def test_a_consistency_proof_is_decoded() -> None:
    proof = [hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()]
    body = json.dumps({"first": 1, "second": 3, "hashes": [base64.b64encode(h).decode() for h in proof]})
    c = _client(lambda r: httpx.Response(200, content=body.encode()))
    assert c.consistency(1, 3) == proof
    assert c.consistency(0, 3) == [] and c.consistency(3, 3) == []
