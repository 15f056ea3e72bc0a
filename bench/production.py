"""Production figures on PostgreSQL, each against a baseline measured in the same run:

1. live issuance over HTTP (POST /api/v1/registrations, 8 concurrent clients, distinct entities over
   9 divisions) against ``elicense serve --workers 1`` and then ``--workers 2``: licenses/s and the
   ratio; peak RSS of each worker process; then the trivial endpoint (GET /healthz, wrk -c64, when wrk
   is installed) on the same server, so that readers can scale the rates to their machine;
2. bulk re-issuance (``elicense reissue --all``) of those entities with 1 and then 2 queue workers:
   licenses/s between the first and last job's finish (worker start-up excluded), and the ratio to
   live issuance per worker.

Each round measures both baselines afresh; the machine is shared and noisy, so the ratios are given per
round and as a median.

Run: .venv/bin/python bench/production.py [licenses per run] [rounds]    (PostgreSQL at ELICENSE_TEST_PG)
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import statistics
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
from verify import _wrk  # the same wrk harness as bench/verify.py

from license_service.demo import demo_events
from tests.conftest import PG_ADMIN_URL, ensure_postgres
from tests.e2e.conftest import ELICENSE, Server


def _server_pids(parent: int) -> list[int]:
    """The serving processes: the worker children of uvicorn's supervisor, or the server itself."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{parent}$", text, re.M) and "resource_tracker" not in _cmdline(status.parent):
            children.append(int(status.parent.name))
    return sorted(children) or [parent]


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _peak_rss_mb(pids: list[int]) -> list[float]:
    out = []
    for pid in pids:
        hwm = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
        if hwm:
            out.append(round(int(hwm.group(1)) / 1024))
    return out


def _postgres_cpu_s() -> float:
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() == "postgres":
                total += _cpu_s(int(proc.name))
        except OSError:
            continue
    return total


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _issue(server: Server, bodies: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """Licenses/s over HTTP, and each server worker's share of the CPU it spent in the run."""
    reg = server.client("registrations:write")
    headers = dict(reg.headers)

    # a connection per request, as from many registration front ends: each is accepted by whichever
    # worker is free (8 kept-alive connections would stay with the workers that first accepted them)
    http = httpx.Client(headers=headers, timeout=120,
                        limits=httpx.Limits(max_connections=8, max_keepalive_connections=0))

    def post(body: dict[str, Any]) -> None:
        r = http.post(server.base + "/api/v1/registrations", json=body)
        assert r.status_code == 201, r.text

    post(bodies[0])
    pids = _server_pids(server.proc.pid)  # type: ignore[union-attr]
    cpu0 = [_cpu_s(p) for p in pids]
    me0, pg0 = _cpu_s(os.getpid()), _postgres_cpu_s()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, bodies[1:]))
    elapsed = time.perf_counter() - t0
    cores = [(_cpu_s(p) - c) / elapsed for p, c in zip(pids, cpu0, strict=True)]
    print(f"  clients {(_cpu_s(os.getpid()) - me0) / elapsed:.2f} cores, "
          f"PostgreSQL {(_postgres_cpu_s() - pg0) / elapsed:.2f} cores", file=sys.stderr)
    return (len(bodies) - 1) / elapsed, cores


def _reissue_rate(url: str, env: dict[str, str], home: Path, campaign: str, workers: int) -> float:
    r = subprocess.run([ELICENSE, "reissue", "--all", "--campaign", campaign, "--workers", str(workers)],
                       env=env, cwd=home, capture_output=True, text=True, timeout=1800)
    with psycopg.connect(url) as c:
        failures = c.execute("SELECT uscc, detail FROM reissue_items WHERE campaign = %s AND outcome = 'failed'",
                             (campaign,)).fetchall()
        assert r.returncode == 0, r.stdout + r.stderr + "".join(f"\n  {u}: {d}" for u, d in failures)
        n, first, last = c.execute("SELECT count(*), min(finished_at), max(finished_at) FROM reissue_items "
                                   "WHERE campaign = %s AND outcome = 'issued'", (campaign,)).fetchone()
    return float((n - 1) / (last - first).total_seconds())


def _round(n: int, events: list[dict[str, Any]], home: Path) -> dict[str, Any]:
    """Live issuance with 1 then 2 server workers, each on a fresh database, and re-issuance of that
    database's entities with as many queue workers."""
    results: dict[str, Any] = {}
    for workers in (1, 2):
        name = f"elicense_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        try:
            server = Server(Path(tempfile.mkdtemp(dir=home)), keys=home / "keys", workers=workers,
                            env={"ELICENSE_DATABASE_URL": url, "ELICENSE_RATE_API_PER_SECOND": "100000",
                                 "ELICENSE_RATE_API_BURST": "100000"})
            server.start()
            try:
                bodies = [copy.deepcopy(e) for e in events[:n + 1]]
                for b in bodies:
                    b["event_id"] = f"B-{uuid.uuid4().hex}"
                results[f"issue{workers}"], results[f"cores{workers}"] = _issue(server, bodies)
                results[f"rss{workers}"] = _peak_rss_mb(_server_pids(server.proc.pid))  # type: ignore[union-attr]
                trivial = f"{_wrk(server.base + '/healthz', 3)[0]:,.0f} req/s" if shutil.which("wrk") else "no wrk"
                results[f"trivial{workers}"] = trivial
                # shown now: the re-issuance below may fail, and the live figures stand on their own
                print(f"  live issuance, serve --workers {workers}: {results[f'issue{workers}']:5.1f} licenses/s, "
                      f"peak RSS per worker {results[f'rss{workers}']} MB; GET /healthz {trivial}", file=sys.stderr)
            finally:
                server.stop()
            results[f"reissue{workers}"] = _reissue_rate(url, server.env, server.home, f"bench-{workers}", workers)
        finally:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def main(n: int = 400, rounds: int = 3) -> None:
    ensure_postgres()
    events = [e for e in demo_events() if e["kind"] == "establishment"]
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-prod-"))
    print(f"machine: {os.cpu_count()} cores; PostgreSQL; {n} licenses per run; 8 HTTP clients on the same machine;"
          f" {rounds} rounds, each measuring its own baseline")
    ratios: dict[str, list[float]] = {"scaling": [], "reissue_per_worker": [], "reissue_scaling": []}
    for i in range(rounds):
        r = _round(n, events, home)
        ratios["scaling"].append(r["issue2"] / r["issue1"])
        ratios["reissue_per_worker"].append(r["reissue1"] / r["issue1"])
        ratios["reissue_scaling"].append(r["reissue2"] / r["reissue1"])
        print(f"round {i + 1}: live issuance {r['issue1']:5.1f} licenses/s with serve --workers 1, "
              f"{r['issue2']:5.1f} with 2 ({ratios['scaling'][-1]:.2f}x); re-issuance {r['reissue1']:5.1f} "
              f"with 1 queue worker ({ratios['reissue_per_worker'][-1]:.2f}x live per worker), "
              f"{r['reissue2']:5.1f} with 2 ({ratios['reissue_scaling'][-1]:.2f}x)")
        for w in (1, 2):
            print(f"  --workers {w}: cores busy per worker {[round(c, 2) for c in r[f'cores{w}']]}, "
                  f"peak RSS per worker {r[f'rss{w}']} MB (target < 250); trivial endpoint {r[f'trivial{w}']}")

    def span(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f}x (range {min(xs):.2f}-{max(xs):.2f})"

    print(f"live issuance, 2 workers over 1:       {span(ratios['scaling'])}  (target >= 1.7x)")
    print(f"re-issuance per worker over live:      {span(ratios['reissue_per_worker'])}  (target >= 1.0x)")
    print(f"re-issuance, 2 queue workers over 1:   {span(ratios['reissue_scaling'])}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
