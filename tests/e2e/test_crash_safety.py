"""SIGKILL the server in the middle of a load run on PostgreSQL. After a restart: every answered
event is applied exactly once and answers the same again; every unanswered one can be retried to a
result; the registry and the log reconcile (no orphan document, license or leaf)."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import entity, event, pg_database

from .conftest import ELICENSE, Server


def test_sigkill_mid_load_then_retry(tmp_path_factory: pytest.TempPathFactory) -> None:
    with pg_database("elicense_crash_") as url:
        home = tmp_path_factory.mktemp("crash")
        server = Server(home, env={"ELICENSE_DATABASE_URL": url})
        server.start()
        try:
            headers = dict(server.client("registrations:write licenses:read").headers)
            bodies = [event("establishment", entity()) for _ in range(40)]
            answered: dict[str, dict[str, Any]] = {}
            lock = threading.Lock()

            def post(body: dict[str, Any]) -> None:
                try:
                    r = httpx.post(server.base + "/api/v1/registrations", json=body, headers=headers, timeout=30)
                except httpx.HTTPError:
                    return  # unanswered: the server died under it
                assert r.status_code < 500, r.text
                with lock:
                    answered[body["event_id"]] = r.json()

            with ThreadPoolExecutor(16) as pool:
                futures = [pool.submit(post, copy.deepcopy(b)) for b in bodies]
                deadline = time.time() + 60
                while len(answered) < 5 and time.time() < deadline:
                    time.sleep(0.05)
                assert server.proc is not None
                server.proc.send_signal(signal.SIGKILL)  # in the middle of the run
                for f in futures:
                    f.result()
            assert 5 <= len(answered) < len(bodies), len(answered)  # killed mid-run, some left unanswered

            server.start()  # same database, same keys
            headers = dict(server.client("registrations:write licenses:read").headers)
            licenses = set()
            for body in bodies:  # retry everything: answered ones must answer the same, the rest converge
                r = httpx.post(server.base + "/api/v1/registrations", json=body, headers=headers, timeout=60)
                assert r.status_code in (200, 201), r.text
                if body["event_id"] in answered:
                    assert r.status_code == 200 and r.json() == answered[body["event_id"]]
                licenses.add(r.json()["license"]["license_id"])
            assert len(licenses) == len(bodies)  # exactly one license per event
            creds = json.loads(server.cli("clients", "create", "--name", "a", "--scopes", "audit", "--json"))
            r = subprocess.run([ELICENSE, "audit", "--base-url", server.base, "--state", str(home / "a.json"),
                                "--client-id", creds["client_id"], "--client-secret", creds["client_secret"]],
                               env=server.env, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            assert f"registry reconciled with the log: {len(bodies)} entries" in r.stdout
        finally:
            server.stop()
