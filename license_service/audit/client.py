"""The auditor's network code: the public log API, and with an auditor credential the registry's
audit listing. Everything else of ``elicense audit`` is in ``check``."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from .check import AuditFailure

__all__ = ["LogClient", "decode_leaves"]

PAGE = 1000


class LogClient:
    def __init__(self, base_url: str, *, client_id: str | None = None, client_secret: str | None = None,
                 timeout: float = 30) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._credential = (client_id, client_secret) if client_id and client_secret else None

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
            params = {"limit": PAGE, **({"after": after} if after else {})}
            r = self._http.get("/api/v1/audit/licenses", params=params, headers=headers)
            if r.status_code != 200:
                raise AuditFailure(f"GET /api/v1/audit/licenses answered {r.status_code}: {r.text[:200]}")
            body = r.json()
            out += body["licenses"]
            after = body["next"]
            if after is None:
                return out


def decode_leaves(leaves: list[bytes]) -> list[dict[str, Any]]:
    out = []
    for i, data in enumerate(leaves):
        try:
            out.append(json.loads(data))
        except ValueError:
            raise AuditFailure(f"leaf {i} is not JSON") from None
    return out
