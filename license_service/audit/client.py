"""The auditor's network code: the public log API, and with an auditor credential the registry's
audit listing. Everything else of ``elicense audit`` is in ``check`` (the checks) and ``run`` (their
order and the state file).

:class:`LogSource` is what the audit reads; :class:`LogClient` reads it over HTTP (DESIGN.md's log
API). Every transport failure or non-200 answer is an :class:`AuditFailure`: an auditor that cannot
fetch what it must check does not pass."""

from __future__ import annotations

import base64
from types import TracebackType
from typing import Any, Protocol

import httpx

from .check import AuditFailure

__all__ = ["LogClient", "LogSource"]

PAGE = 1000


class LogSource(Protocol):
    """The log and registry as an auditor reads them; every method raises :class:`AuditFailure`
    when it cannot answer."""

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

    def registry(self) -> list[dict[str, Any]]:
        """Every license version as the registry's audit listing gives it (needs a credential)."""
        ...


class LogClient:
    """:class:`LogSource` over HTTP. Close it (or use it as a context manager) when done."""

    def __init__(self, base_url: str, *, client_id: str | None = None, client_secret: str | None = None,
                 timeout: float = 30) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._credential = (client_id, client_secret) if client_id and client_secret else None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LogClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            r = self._http.get(path, params=params)
        except httpx.HTTPError as e:
            raise AuditFailure(f"GET {path} failed: {e}") from None
        if r.status_code != 200:
            raise AuditFailure(f"GET {path} answered {r.status_code}: {r.text[:200]}")
        return r

    def vkey(self) -> str:
        return self._get("/log/key").text.strip()

    def handovers(self) -> list[str]:
        return list(self._get("/log/key/handovers").json()["handovers"])

    def checkpoint(self) -> str:
        return self._get("/log/checkpoint").text

    def consistency(self, first: int, second: int) -> list[bytes]:
        if first in (0, second):
            return []
        body = self._get("/log/proof/consistency", first=first, second=second).json()
        return [base64.b64decode(h) for h in body["hashes"]]

    def entries(self, start: int, end: int) -> list[bytes]:
        out: list[bytes] = []
        while start + len(out) < end:
            at = start + len(out)
            page = self._get("/log/entries", start=at, end=min(end, at + PAGE)).json()["entries"]
            if not page or [e["index"] for e in page] != list(range(at, at + len(page))):
                raise AuditFailure(f"the log served entries out of order or missing from index {at}")
            out += [base64.b64decode(e["data"]) for e in page]
        return out

    def registry(self) -> list[dict[str, Any]]:
        if self._credential is None:
            raise AuditFailure("reconciling the registry needs an auditor credential (scope audit)")
        client_id, secret = self._credential
        tok = self._http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret, "scope": "audit"})
        if tok.status_code != 200:
            raise AuditFailure(f"the auditor credential was refused: {tok.text[:200]}")
        headers = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": PAGE, **({"after": after} if after else {})}
            r = self._http.get("/api/v1/audit/licenses", params=params, headers=headers)
            if r.status_code != 200:
                raise AuditFailure(f"GET /api/v1/audit/licenses answered {r.status_code}: {r.text[:200]}")
            body = r.json()
            out += body["licenses"]
            after = body["next"]
            if after is None:
                return out

