"""Many clients at once against a real ``elicense serve --workers 2`` on PostgreSQL: duplicate
event_ids, rival establishments of one USCC, competing changes. No 5xx; exactly one license per
accepted event; gapless versions per entity; and ``elicense audit`` reconciles the registry with a
gapless log."""

from __future__ import annotations

import copy
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import entity, event, pg_database

from .conftest import ELICENSE, Server


def test_concurrent_clients_on_two_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    with pg_database("elicense_mp_") as url:
        home = tmp_path_factory.mktemp("mp")
        server = Server(home, env={"ELICENSE_DATABASE_URL": url}, workers=2)
        server.start()  # serve migrates the schema once, then starts both workers
        try:
            reg = server.client("registrations:write licenses:read")
            headers = dict(reg.headers)
            ents = [entity() for _ in range(6)]
            bodies: list[dict[str, Any]] = [event("establishment", e) for e in ents]
            rival = event("establishment", ents[0])  # another event establishing the same USCC
            changes = [event("change", {**ents[1], "address": f"吉首市人民路{i}号"},
                             decided_at="2019-01-02T10:00:00+08:00") for i in range(6)]
            # establishments first (changes need the entity), each sent three times at once
            first = [copy.deepcopy(b) for b in bodies for _ in range(3)] + [rival]

            def post(body: dict[str, Any]) -> httpx.Response:
                return httpx.post(server.base + "/api/v1/registrations", json=body, headers=headers, timeout=120)

            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(post, first))
                answers += list(pool.map(post, [copy.deepcopy(c) for c in changes for _ in range(2)]))
            assert all(r.status_code < 500 for r in answers), [r.text for r in answers if r.status_code >= 500]
            by_event: dict[str, set[str]] = {}
            for r in answers:
                if r.status_code in (200, 201):
                    by_event.setdefault(r.json()["event_id"], set()).add(r.json()["license"]["license_id"])
            # exactly one license per accepted event (replays converge), the rival was refused or won alone
            assert all(len(ids) == 1 for ids in by_event.values()), by_event
            est = {b["event_id"] for b in bodies} | {rival["event_id"]}
            assert len([e for e in est if e in by_event]) == 6
            assert set(c["event_id"] for c in changes) <= set(by_event)
            versions = [v["version"] for v in reg.get(f"/api/v1/entities/{ents[1]['uscc']}").json()["licenses"]]
            assert versions == list(range(1, 8))  # gapless: 1 + 6 changes
            creds = json.loads(server.cli("clients", "create", "--name", "a", "--scopes", "audit", "--json"))
            r = subprocess.run([ELICENSE, "audit", "--base-url", server.base, "--state", str(home / "audit.json"),
                                "--client-id", creds["client_id"], "--client-secret", creds["client_secret"]],
                               env=server.env, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            assert "registry reconciled with the log: 12 entries" in r.stdout  # 6 establishments + 6 changes
        finally:
            server.stop()
