"""Attacks on the request limits, over a raw socket against a real server (issue 12, item 2 and part
of item 9). Each function is named after what it proves the server refuses, sends what a hostile
client would, stops sending the moment the server answers or closes, and returns an :class:`Outcome`;
``tests/e2e/test_body_limits.py`` holds the expectations.

What was found before the fix: an unauthenticated 200 MiB chunked upload to /api/v1/verify/pdf left
a 195 MiB temporary file, then got 401; 300 MiB chunked to /api/v1/registrations took the worker from
576 to 1,465 MB; /trust/ocsp read any size; 19 MB of header fields were accepted; malformed bodies got
422 before 401; 120 requests with varied X-Forwarded-For all passed the public page's rate limit.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "MiB",
    "Outcome",
    "authenticated_chunked_pdf_upload_stops_at_the_limit",
    "authenticated_chunked_registration_stops_at_the_limit",
    "chunked_ocsp_request_stops_at_a_few_kib",
    "chunked_token_form_stops_at_a_few_kib",
    "endless_header_field_is_cut_off",
    "forwarded_for_does_not_pick_the_client_address",
    "header_block_over_the_limit_is_refused",
    "malformed_body_without_a_token_is_401",
    "unauthenticated_chunked_pdf_upload_is_refused_unread",
]

MiB = 1 << 20
_PIECE = 64 * 1024


@dataclass
class Outcome:
    status: int | None  # None: the server closed without an answer
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    sent: int = 0  # request bytes the server took before it answered or closed
    seconds: float = 0.0  # from the first byte sent to the answer


def _address(base: str) -> tuple[str, int]:
    url = urlsplit(base)
    return url.hostname or "127.0.0.1", url.port or 80


def _exchange(base: str, pieces: Iterator[bytes], *, progress: Callable[[int], None] | None = None,
              timeout: float = 60) -> Outcome:
    """Send ``pieces`` until they run out or the server answers (or closes); then read its answer."""
    sock = socket.create_connection(_address(base), timeout=timeout)
    out = Outcome(None)
    start = time.monotonic()
    try:
        for piece in pieces:
            if select.select([sock], [], [], 0)[0]:  # an answer (or a close) is waiting: stop sending
                break
            sock.sendall(piece)
            out.sent += len(piece)
            if progress is not None:
                progress(out.sent)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass  # the server stopped reading: what did it say?
    try:
        _read_answer(sock, out)
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        out.seconds = time.monotonic() - start
        sock.close()
    return out


def _read_answer(sock: socket.socket, out: Outcome) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        if not got:
            return
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    out.status = int(status_line.split()[1])
    out.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(out.headers.get("content-length", "0"))
    while len(body) < length:
        got = sock.recv(65536)
        if not got:
            break
        body += got
    out.body = body


def _request(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: elicense.test", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunked(first: bytes, total: int) -> Iterator[bytes]:
    """A chunked body: ``first``, then 64 KiB chunks of filler up to ``total`` bytes (never finished:
    the server must stop before the end)."""
    yield b"%x\r\n%s\r\n" % (len(first), first)
    sent = len(first)
    filler = b"%x\r\n%s\r\n" % (_PIECE, b"A" * _PIECE)
    while sent < total:
        yield filler
        sent += _PIECE
    yield b"0\r\n\r\n"


def _chunked_upload(base: str, path: str, headers: dict[str, str], first: bytes, total: int,
                    progress: Callable[[int], None] | None = None) -> Outcome:
    head = _request("POST", path, {**headers, "Transfer-Encoding": "chunked"})
    return _exchange(base, _then(head, _chunked(first, total)), progress=progress)


def _then(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


_BOUNDARY = "elicense-attack"
_PDF_PART = (f"--{_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"license.pdf\"\r\n"
             "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()
_MULTIPART = {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"}


def unauthenticated_chunked_pdf_upload_is_refused_unread(base: str, total: int = 200 * MiB,
                                                         progress: Callable[[int], None] | None = None) -> Outcome:
    """200 MiB chunked to the PDF route without a token: 401 before the body is read (no temporary
    file, no multipart parsing); the server closes rather than drain it."""
    return _chunked_upload(base, "/api/v1/verify/pdf", _MULTIPART, _PDF_PART, total, progress)


def authenticated_chunked_pdf_upload_stops_at_the_limit(base: str, token: str, total: int = 200 * MiB) -> Outcome:
    """With a valid token, a chunked PDF past ``ELICENSE_MAX_PDF_BYTES``: 413 once the limit is passed."""
    return _chunked_upload(base, "/api/v1/verify/pdf", {**_MULTIPART, "Authorization": f"Bearer {token}"},
                           _PDF_PART, total)


def authenticated_chunked_registration_stops_at_the_limit(base: str, token: str, total: int = 300 * MiB,
                                                          progress: Callable[[int], None] | None = None) -> Outcome:
    """300 MiB of JSON, chunked, with a valid token: 413 once ``ELICENSE_MAX_BODY_BYTES`` is passed,
    and the worker's memory does not follow the upload."""
    return _chunked_upload(base, "/api/v1/registrations", {"Content-Type": "application/json",
                                                           "Authorization": f"Bearer {token}"},
                           b'{"event_id": "', total, progress)


def chunked_ocsp_request_stops_at_a_few_kib(base: str, total: int = 64 * MiB) -> Outcome:
    """The OCSP responder takes no credential: its requests are limited to a few KiB."""
    return _chunked_upload(base, "/trust/ocsp", {"Content-Type": "application/ocsp-request"}, b"0", total)


def chunked_token_form_stops_at_a_few_kib(base: str, total: int = 64 * MiB) -> Outcome:
    """/oauth/token authenticates with its body (client credentials): that body is a few KiB at most."""
    return _chunked_upload(base, "/oauth/token", {"Content-Type": "application/x-www-form-urlencoded"},
                           b"grant_type=client_credentials&client_id=", total)


def header_block_over_the_limit_is_refused(base: str, size: int = 40 * 1024) -> Outcome:
    """A header block over the limit, sent at once (the app's own check): 431 problem+json."""
    pads = {f"X-Pad-{i}": "a" * 1000 for i in range(size // 1000 + 1)}
    return _exchange(base, iter([_request("GET", "/healthz", pads)]))


def endless_header_field_is_cut_off(base: str, size: int = 19_000_000,
                                    progress: Callable[[int], None] | None = None) -> Outcome:
    """19 MB in one header field, sent as it comes: the server answers 431 and closes long before
    the end (the server's own bound: nothing of it is held beyond the limit)."""
    def pieces() -> Iterator[bytes]:
        yield b"GET /healthz HTTP/1.1\r\nHost: elicense.test\r\nX-Pad: "
        for _ in range(size // _PIECE):
            yield b"a" * _PIECE
        yield b"\r\n\r\n"
    return _exchange(base, pieces(), progress=progress)


def malformed_body_without_a_token_is_401(base: str, path: str = "/api/v1/registrations") -> Outcome:
    """Malformed JSON and no token: 401 (authentication first), not 422."""
    body = b"{not json"
    head = _request("POST", path, {"Content-Type": "application/json", "Content-Length": str(len(body))})
    return _exchange(base, iter([head + body]))


def forwarded_for_does_not_pick_the_client_address(base: str, requests: int = 120) -> list[int]:
    """``requests`` hits on the public page, each claiming another X-Forwarded-For address: the
    statuses. Unless the peer is a configured trusted proxy, they all count as one client (429s)."""
    statuses = []
    for i in range(requests):
        head = _request("GET", "/v/not-a-token", {"Accept": "application/json", "Connection": "close",
                                                  "X-Forwarded-For": f"203.0.113.{i % 250 + 1}",
                                                  "X-Real-IP": f"198.51.100.{i % 250 + 1}"})
        statuses.append(_exchange(base, iter([head])).status or 0)
    return statuses
