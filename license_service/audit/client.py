"""The auditor's network code: the public log API, the published token keys, and with an auditor
credential the registry's audit listing and stored PDFs. Everything else of ``elicense audit`` is
in ``check`` and ``reconcile`` (the checks) and ``run`` (their order and the state file).

:class:`LogSource` is what the audit reads; :class:`LogClient` reads it over HTTP (DESIGN.md's log
API). The server may be hostile, so every answer is bounded (:class:`Limits`): a connect timeout, a
timeout between bytes, a deadline for the whole answer however slowly it drips, and a size beyond
which reading stops. What goes wrong is one of two things:

- :class:`~.check.CouldNotCheck`: the server could not be reached, did not answer in time, answered
  too much, was overloaded (5xx, 429) or refused the credential. Nothing was found wrong.
- :class:`~.check.AuditFailure`: the server answered, and what it answered is wrong (a log that will
  not serve what its checkpoint covers, a malformed answer, a store it says is corrupted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import NoneType, TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx

from .check import AuditFailure, CouldNotCheck
from .reconcile import RegistryListing

__all__ = ["Limits", "LogClient", "LogSource"]

PAGE = 1000
_MIB = 1024 * 1024
_T = TypeVar("_T")

#: the rows of the registry's audit listing (``license_service/api/schemas.py``), with their JSON types
_STAFF_COUNT: dict[str, type | tuple[type, ...]] = {
    "staff_id": str, "role": str, "division_code": str, "day": str, "action": str, "count": int}
_LICENSE: dict[str, type | tuple[type, ...]] = {
    "license_id": str, "uscc": str, "version": int, "serial": str, "status": str, "issued_at": str,
    "registered_on": str, "record": str, "record_digest": str, "pdf_sha256": str, "token": str, "event_id": str,
    "leaf_index": (int, NoneType), "superseded_by": (str, NoneType), "status_changed_at": (str, NoneType),
    "status_reason": (str, NoneType)}
_ENTITY: dict[str, type | tuple[type, ...]] = {
    "uscc": str, "entity_kind": str, "name": (str, NoneType), "status": str, "status_changed_at": str,
    "status_reason": (str, NoneType), "current_version": int, "established_on": str}
_HOLDER: dict[str, type | tuple[type, ...]] = {
    "holder_id": str, "uscc": str, "role": str, "name": str, "name_salt": str, "granted_by": (str, NoneType),
    "scope": str, "not_before": str, "expires_at": (str, NoneType), "status": str, "leaf_index": (int, NoneType)}
_EVENT: dict[str, type | tuple[type, ...]] = {
    "event_id": str, "kind": str, "uscc": str, "body_sha256": str, "received_at": str, "response_status": int,
    "response_body": str}


@dataclass(frozen=True)
class Limits:
    """How long the auditor waits and how much it reads, per answer, and how much it fetches per run.

    ``connect``: seconds to open a connection; ``read``: seconds of silence between bytes;
    ``answer``: seconds for a whole answer, headers and body, however slowly it drips; ``text``,
    ``page``, ``pdf``: bytes of a key or checkpoint, of a JSON page (1000 entries or rows), of one
    PDF; ``rows``: rows of one registry listing (the log's own size is capped by ``run``).
    """

    connect: float = 10.0
    read: float = 30.0
    answer: float = 300.0
    text: int = 256 * 1024
    page: int = 64 * _MIB
    pdf: int = 64 * _MIB
    rows: int = 10_000_000


class LogSource(Protocol):
    """The log and registry as an auditor reads them; every method raises
    :class:`~.check.AuditFailure` or :class:`~.check.CouldNotCheck` when it cannot answer."""

    def vkey(self) -> str:
        """The log key now served (``name+keyid+base64``)."""
        ...

    def handovers(self) -> list[str]:
        """The key handover notes, oldest first (``signing`` rotation)."""
        ...

    def checkpoint(self) -> str:
        """The latest checkpoint, as a signed note."""
        ...

    def consistency(self, first: int, second: int) -> list[bytes]:
        """RFC 9162 s.2.1.4.1 proof between the trees of ``first`` and ``second`` leaves (empty when
        ``first`` is 0 or equals ``second``)."""
        ...

    def entries(self, start: int, end: int) -> list[bytes]:
        """The leaf data of indices ``start`` to ``end - 1``, in order."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The published token keys (``/.well-known/jwks.json``)."""
        ...

    def registry(self) -> RegistryListing:
        """Every license version, market entity and registration result as the registry's audit
        listing gives them (needs a credential)."""
        ...

    def pdf_sha256(self, license_id: str) -> str | None:
        """SHA-256 (hex) of the license's stored PDF, computed here from the bytes served (None: the
        registry has none). Needs a credential."""
        ...


def _refusal(what: str, status: int, body: bytes) -> Exception:
    """The error for a non-200 answer: a server that cannot serve now is not a finding; one that
    answers and refuses what it must serve is."""
    text = body[:300].decode("utf-8", "replace")
    if status >= 500 or status in (408, 429):
        try:
            if json.loads(body).get("code") == "log.corrupted":  # its own admission: a finding
                return AuditFailure(f"{what} answered {status}: the log's store is corrupted: {text}")
        except (ValueError, AttributeError):
            pass
        return CouldNotCheck(f"{what} answered {status}: {text}")
    return AuditFailure(f"{what} answered {status}: {text}")


def _json(what: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise AuditFailure(f"{what} answered something that is not JSON") from None


def _rows(what: str, rows: Any, fields: dict[str, type | tuple[type, ...]]) -> list[dict[str, Any]]:
    """``rows`` checked to be a list of objects with ``fields`` of those types."""
    if not isinstance(rows, list):
        raise AuditFailure(f"{what} answered a page that is not a list")
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise AuditFailure(f"{what} answered a row {n} that is not an object")
        bad = [k for k, t in fields.items() if not isinstance(row.get(k), t) or isinstance(row.get(k), bool)]
        if bad:
            raise AuditFailure(f"{what} answered a malformed row {n}: {', '.join(bad)}")
    return rows


class LogClient:
    """:class:`LogSource` over HTTP. Close it (or use it as a context manager) when done.

    ``transport``: another httpx transport (tests). No redirects are followed."""

    def __init__(self, base_url: str, *, client_id: str | None = None, client_secret: str | None = None,
                 limits: Limits | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.limits = limits or Limits()
        timeout = httpx.Timeout(connect=self.limits.connect, read=self.limits.read, write=self.limits.read,
                                pool=self.limits.connect)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                  follow_redirects=False)
        self._credential = (client_id, client_secret) if client_id and client_secret else None
        self._bearer: str | None = None
        self._abandoned = False  # a fetch overran its deadline and still holds a connection

    def close(self) -> None:
        if not self._abandoned:  # else its thread may be inside the pool: leave it to the process's end
            self._http.close()

    def __enter__(self) -> LogClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- one bounded answer ----------------------------------------------------------------------
    def _within_deadline(self, what: str, work: Callable[[], _T]) -> _T:
        """``work()``, given up after ``limits.answer`` seconds: httpx's timeouts bound each read, not
        a server that drips a byte just before each one would expire. The overrunning thread is a
        daemon, left to end with its read timeout or with the process."""
        outcome: list[tuple[bool, Any]] = []

        def target() -> None:
            try:
                outcome.append((True, work()))
            except BaseException as e:
                outcome.append((False, e))

        thread = threading.Thread(target=target, name="elicense-audit-fetch", daemon=True)
        thread.start()
        thread.join(self.limits.answer)
        if thread.is_alive():
            self._abandoned = True
            raise CouldNotCheck(f"{what}: no complete answer within {self.limits.answer:g} s; gave up")
        ok, value = outcome[0]
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def _fetch(self, method: str, path: str, cap: int, *, sink: Callable[[bytes], None] | None = None,
               **kwargs: Any) -> tuple[int, bytes]:
        """The status and body of one answer (the body passed to ``sink`` instead when given), read
        until ``cap`` bytes and no further."""
        what = f"{method} {path}"

        def work() -> tuple[int, bytes]:
            with self._http.stream(method, path, **kwargs) as r:
                declared = r.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise CouldNotCheck(f"{what}: the answer would be {declared} bytes, more than the {cap} this "
                                        "audit reads")
                chunks: list[bytes] = []
                size = 0
                for chunk in r.iter_bytes():  # decoded: a compressed bomb is stopped at the cap as well
                    size += len(chunk)
                    if size > cap:
                        raise CouldNotCheck(f"{what}: the answer exceeds the {cap} bytes this audit reads; stopped")
                    if sink is not None and r.status_code == 200:
                        sink(chunk)
                    else:
                        chunks.append(chunk)
                return r.status_code, b"".join(chunks)

        try:
            return self._within_deadline(what, work)
        except httpx.TimeoutException as e:
            raise CouldNotCheck(f"{what}: no answer in time ({type(e).__name__})") from None
        except httpx.HTTPError as e:
            raise CouldNotCheck(f"{what} failed: {type(e).__name__}: {e}") from None

    def _get(self, path: str, cap: int, **params: Any) -> bytes:
        status, body = self._fetch("GET", path, cap, params=params)
        if status != 200:
            raise _refusal(f"GET {path}", status, body)
        return body

    # -- the public log ----------------------------------------------------------------------------
    def vkey(self) -> str:
        return self._get("/log/key", self.limits.text).decode("utf-8", "replace").strip()

    def handovers(self) -> list[str]:
        body = _json("GET /log/key/handovers", self._get("/log/key/handovers", self.limits.page))
        notes = body.get("handovers") if isinstance(body, dict) else None
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise AuditFailure("GET /log/key/handovers answered something that is not a list of notes")
        return notes

    def checkpoint(self) -> str:
        return self._get("/log/checkpoint", self.limits.text).decode("utf-8", "replace")

    def consistency(self, first: int, second: int) -> list[bytes]:
        if first in (0, second):
            return []
        body = _json("GET /log/proof/consistency",
                     self._get("/log/proof/consistency", self.limits.page, first=first, second=second))
        try:
            return [base64.b64decode(h, validate=True) for h in body["hashes"]]
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise AuditFailure("GET /log/proof/consistency answered a malformed proof") from None

    def entries(self, start: int, end: int) -> list[bytes]:
        out: list[bytes] = []
        while start + len(out) < end:
            at = start + len(out)
            body = _json("GET /log/entries", self._get("/log/entries", self.limits.page, start=at,
                                                       end=min(end, at + PAGE)))
            try:
                page = [(e["index"], base64.b64decode(e["data"], validate=True)) for e in body["entries"]]
            except (KeyError, TypeError, ValueError, binascii.Error):
                raise AuditFailure(f"GET /log/entries answered a malformed page from index {at}") from None
            if not page:
                raise AuditFailure(f"the log shrank from {end} to {at}: its checkpoint covers {end} entries and it "
                                   f"serves {at}")
            if [i for i, _ in page] != list(range(at, at + len(page))) or at + len(page) > end:
                raise AuditFailure(f"the log served entries out of order or missing from index {at} (its "
                                   f"checkpoint covers {end})")
            out += [data for _, data in page]
        return out

    def jwks(self) -> dict[str, Any]:
        body = _json("GET /.well-known/jwks.json", self._get("/.well-known/jwks.json", self.limits.page))
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise AuditFailure("GET /.well-known/jwks.json answered something that is not a JWKS")
        return body

    # -- the registry (credential) -----------------------------------------------------------------
    def _token(self) -> str:
        if self._credential is None:
            raise CouldNotCheck("reconciling the registry needs an auditor credential (scope audit): "
                                "--client-id and --client-secret")
        if self._bearer is None:
            client_id, secret = self._credential
            status, body = self._fetch("POST", "/oauth/token", self.limits.text, data={
                "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                "scope": "audit"})
            if status != 200:
                refusal = _refusal("POST /oauth/token", status, body)
                if isinstance(refusal, AuditFailure):  # the server is fine; it does not accept us
                    refusal = CouldNotCheck(f"the auditor credential was refused: {refusal}")
                raise refusal
            token = _json("POST /oauth/token", body)
            if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
                raise AuditFailure("POST /oauth/token answered no access token")
            self._bearer = token["access_token"]
        return self._bearer

    def _audit_get(self, path: str, cap: int, *, sink: Callable[[bytes], None] | None = None,
                   **params: Any) -> tuple[int, bytes]:
        """GET an audit route with the bearer token; a fresh token once if the old one expired.
        401 and 403 are a credential without the ``audit`` scope: the audit could not check."""
        for attempt in (0, 1):
            status, body = self._fetch("GET", path, cap, sink=sink, params=params,
                                       headers={"Authorization": f"Bearer {self._token()}"})
            if status == 401 and attempt == 0:
                self._bearer = None
                continue
            if status in (401, 403):
                raise CouldNotCheck(f"GET {path} refused the auditor credential ({status}): it needs scope audit")
            return status, body
        raise AssertionError("unreachable")

    def _listing(self, path: str, key: str, cursor: str, fields: dict[str, type | tuple[type, ...]]
                 ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE, **({"after": after} if after else {})}
            status, body = self._audit_get(path, self.limits.page, **params)
            if status != 200:
                raise _refusal(f"GET {path}", status, body)
            page = _json(f"GET {path}", body)
            if not isinstance(page, dict):
                raise AuditFailure(f"GET {path} answered something that is not a page")
            rows = _rows(f"GET {path}", page.get(key), fields)
            for row in rows:
                if row[cursor] in seen:  # a server that pages in circles would never end
                    raise AuditFailure(f"GET {path} listed {row[cursor]} twice")
                seen.add(row[cursor])
            out += rows
            if len(out) > self.limits.rows:
                raise CouldNotCheck(f"GET {path} lists more than {self.limits.rows} rows, more than this audit reads")
            after = page.get("next")
            if after is None:
                return out
            if not isinstance(after, str) or not rows:
                raise AuditFailure(f"GET {path} answered a malformed page (next {after!r})")

    def registry(self) -> RegistryListing:
        return RegistryListing(
            licenses=self._listing("/api/v1/audit/licenses", "licenses", "license_id", _LICENSE),
            entities=self._listing("/api/v1/audit/entities", "entities", "uscc", _ENTITY),
            events=self._listing("/api/v1/audit/events", "events", "event_id", _EVENT),
            holders=self._listing("/api/v1/audit/holders", "holders", "holder_id", _HOLDER))

    def staff_actions(self, days: int = 31) -> list[dict[str, Any]]:
        """Staff actions at the window's console counted per staff member, day (China time) and action
        (``GET /api/v1/audit/staff-actions``): what ``elicense audit`` prints after the audit."""
        path = "/api/v1/audit/staff-actions"
        status, body = self._audit_get(path, self.limits.page, days=days)
        if status != 200:
            raise _refusal(f"GET {path}", status, body)
        page = _json(f"GET {path}", body)
        return _rows(f"GET {path}", page.get("counts") if isinstance(page, dict) else None, _STAFF_COUNT)

    def pdf_sha256(self, license_id: str) -> str | None:
        path = f"/api/v1/audit/licenses/{quote(license_id, safe='')}/pdf"
        digest = hashlib.sha256()
        status, body = self._audit_get(path, self.limits.pdf, sink=digest.update)
        if status == 404:
            return None
        if status != 200:
            raise _refusal(f"GET {path}", status, body)
        return digest.hexdigest()
