"""Production figures on PostgreSQL, each against a baseline measured in the same run:

1. live issuance over HTTP (POST /api/v1/registrations, 8 concurrent clients, distinct entities over
   9 divisions) against ``elicense serve --workers 1`` and then ``--workers 2``: licenses/s and the
   ratio; peak RSS of each worker process;
2. bulk re-issuance (``elicense reissue --all``) of those entities with 1 and then 2 queue workers:
   licenses/s between the first and last job's finish (worker start-up excluded), and the ratio to
   live issuance per worker.

Run: .venv/bin/python bench/production.py [licenses per run]    (PostgreSQL at ELICENSE_TEST_PG)
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from license_service.demo import demo_events
from tests.conftest import PG_ADMIN_URL, ensure_postgres
from tests.e2e.conftest import ELICENSE, Server


def _peak_rss_mb(parent: int) -> list[float]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{parent}$", text, re.M):
            hwm = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
            if hwm:
                out.append(int(hwm.group(1)) / 1024)
    return sorted(out)


def _issue(server: Server, bodies: list[dict[str, Any]]) -> float:
    reg = server.client("registrations:write")
    headers = dict(reg.headers)

    def post(body: dict[str, Any]) -> None:
        r = httpx.post(server.base + "/api/v1/registrations", json=body, headers=headers, timeout=120)
        assert r.status_code == 201, r.text

    post(bodies[0])  # warm-up (fonts, keys)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, bodies[1:]))
    return (len(bodies) - 1) / (time.perf_counter() - t0)


def _reissue_rate(url: str, env: dict[str, str], home: Path, campaign: str, workers: int) -> float:
    r = subprocess.run([ELICENSE, "reissue", "--all", "--campaign", campaign, "--workers", str(workers)],
                       env=env, cwd=home, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    with psycopg.connect(url) as c:
        n, first, last = c.execute("SELECT count(*), min(finished_at), max(finished_at) FROM reissue_items "
                                   "WHERE campaign = %s AND outcome = 'issued'", (campaign,)).fetchone()
    return float((n - 1) / (last - first).total_seconds())


def main(n: int = 120) -> None:
    ensure_postgres()
    events = [e for e in demo_events() if e["kind"] == "establishment"]
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-prod-"))
    keys = home / "keys"
    results: dict[str, Any] = {}
    for workers in (1, 2):
        name = f"elicense_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        try:
            server = Server(home / f"w{workers}", keys=keys, workers=workers,
                            env={"ELICENSE_DATABASE_URL": url, "ELICENSE_RATE_API_PER_SECOND": "100000",
                                 "ELICENSE_RATE_API_BURST": "100000"})
            server.home.mkdir()
            server.start()
            try:
                bodies = [copy.deepcopy(e) for e in events[:n + 1]]
                for b in bodies:
                    b["event_id"] = f"B-{uuid.uuid4().hex}"
                results[f"issue{workers}"] = _issue(server, bodies)
                results[f"rss{workers}"] = _peak_rss_mb(server.proc.pid)  # type: ignore[union-attr]
            finally:
                server.stop()
            results[f"reissue{workers}"] = _reissue_rate(url, server.env, server.home, f"bench-{workers}", workers)
        finally:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"machine: {os.cpu_count()} cores; PostgreSQL; {n} licenses per run; 8 HTTP clients on the same machine")
    print(f"live issuance   serve --workers 1: {results['issue1']:6.1f} licenses/s")
    print(f"live issuance   serve --workers 2: {results['issue2']:6.1f} licenses/s   "
          f"scaling {results['issue2'] / results['issue1']:.2f}x  (target >= 1.7x)")
    print(f"re-issuance     1 queue worker:    {results['reissue1']:6.1f} licenses/s   "
          f"{results['reissue1'] / results['issue1']:.2f}x live issuance per worker  (target >= 1.0x)")
    print(f"re-issuance     2 queue workers:   {results['reissue2']:6.1f} licenses/s   "
          f"scaling {results['reissue2'] / results['reissue1']:.2f}x")
    print(f"peak RSS per server worker (MB):  1 worker {results['rss1']}, 2 workers {results['rss2']}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 120)
