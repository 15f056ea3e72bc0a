"""Abuse of the token endpoint, against a baseline measured in the same run (issue 12 item 3).

A real ``elicense serve`` (one worker, uvloop + httptools, SQLite) with the token endpoint's default
limits (per source address, refusals answered after a pause; failed authentications per client id).
A legitimate client, from its own loopback address (127.0.0.2) with a token it got before, posts
registrations one at a time and now and then asks for a new token. Its latency is measured
unloaded, then while wrk keeps 16 connections of garbage going to ``POST /oauth/token`` from
127.0.0.1: made-up client ids and secrets, the legitimate client's id with wrong secrets, Basic
credentials that do not decode, malformed forms, JSON. The garbage is bounded in time (wrk's
``-d``) and in count (each wrk thread stops after its share of ``MAX_GARBAGE`` responses), and goes
to loopback only: this script starts its own server and takes no target.

Unloaded and loaded phases alternate for a few rounds (the machine is shared and noisy); the figure
is the median over rounds of (median registration latency under garbage) / (median unloaded), in
the same run. Target: at most 2x. Also printed: what the garbage got (rate, statuses), the legitimate
client's token latency, and the server's CPU.

Run: .venv/bin/python bench/abuse.py [seconds per phase] [rounds]      (needs wrk: apt-get install wrk)
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from license_service.demo import demo_events
from signing.keys.files import ensure_dev_keys
from tests.e2e.conftest import Server

CONNECTIONS = 16
MAX_GARBAGE = 2_000_000  # responses, over all connections, per loaded phase
LEGIT_ADDRESS = "127.0.0.2"

#: wrk script: cycles through kinds of garbage; counts statuses per thread, stops a thread after its
#: share of MAX_GARBAGE responses, and prints the counts when done
_LUA = r"""
local legit = "%(client_id)s"
local max_per_thread = %(max_per_thread)d
local form = {["Content-Type"] = "application/x-www-form-urlencoded"}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  responses, s200, s400, s401, s429, other = 0, 0, 0, 0, 0, 0
  i = 0
end

local function hex(n)
  local t = {}
  for _ = 1, n do t[#t + 1] = string.format("%%x", math.random(0, 15)) end
  return table.concat(t)
end

request = function()
  i = i + 1
  local kind = i %% 6
  if kind == 0 then
    return wrk.format("POST", "/oauth/token", form,
      "grant_type=client_credentials&client_id=cli_" .. hex(20) .. "&client_secret=" .. hex(43))
  elseif kind == 1 then
    return wrk.format("POST", "/oauth/token", form,
      "grant_type=client_credentials&client_id=" .. legit .. "&client_secret=" .. hex(43))
  elseif kind == 2 then
    return wrk.format("POST", "/oauth/token",
      {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = "Basic !!" .. hex(30)},
      "grant_type=client_credentials")
  elseif kind == 3 then
    return wrk.format("POST", "/oauth/token", form, "%%%%%%&&&=" .. hex(200))
  elseif kind == 4 then
    return wrk.format("POST", "/oauth/token", {["Content-Type"] = "application/json"},
      '{"grant_type":"client_credentials","client_id":"' .. hex(8) .. '"}')
  else
    return wrk.format("POST", "/oauth/token", form, "grant_type=password&username=root&password=" .. hex(12))
  end
end

response = function(status, headers, body)
  responses = responses + 1
  if status == 200 then s200 = s200 + 1
  elseif status == 400 then s400 = s400 + 1
  elseif status == 401 then s401 = s401 + 1
  elseif status == 429 then s429 = s429 + 1
  else other = other + 1 end
  if responses >= max_per_thread then wrk.thread:stop() end
end

done = function(summary, latency, requests)
  local t = {responses = 0, s200 = 0, s400 = 0, s401 = 0, s429 = 0, other = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  io.write(string.format("GARBAGE responses=%%d 200=%%d 400=%%d 401=%%d 429=%%d other=%%d\n",
    t.responses, t.s200, t.s400, t.s401, t.s429, t.other))
end
"""


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Legit:
    """The legitimate client: registrations and token requests from its own address, timed."""

    def __init__(self, server: Server, client_id: str, secret: str) -> None:
        self.http = httpx.Client(base_url=server.base, timeout=120,
                                 transport=httpx.HTTPTransport(local_address=LEGIT_ADDRESS))
        self.auth = (client_id, secret)
        self.http.headers["Authorization"] = f"Bearer {self.token()[1]}"
        self.bodies = [e for e in demo_events() if e["kind"] == "establishment"]
        self.next = 0

    def token(self) -> tuple[float, str]:
        t0 = time.perf_counter()
        # HTTP Basic (RFC 6749 s.2.3.1): httpx's auth replaces the client's bearer header
        r = self.http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=self.auth)
        elapsed = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        return elapsed, str(r.json()["access_token"])

    def register(self) -> float:
        body: dict[str, Any] = copy.deepcopy(self.bodies[self.next % len(self.bodies)])
        self.next += 1
        body["event_id"] = f"A-{uuid.uuid4().hex}"
        t0 = time.perf_counter()
        r = self.http.post("/api/v1/registrations", json=body)
        elapsed = time.perf_counter() - t0
        assert r.status_code in (200, 201), r.text
        return elapsed

    def phase(self, seconds: float) -> tuple[list[float], list[float]]:
        """Registrations one after another for ``seconds``, a token request after every fifth."""
        regs: list[float] = []
        tokens: list[float] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            regs.append(self.register())
            if len(regs) % 5 == 0:
                elapsed, _ = self.token()
                tokens.append(elapsed)
        return regs, tokens


def _garbage(server: Server, script: Path, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "-s", str(script),
                             server.base + "/oauth/token"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def main(seconds: float = 6, rounds: int = 5) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-abuse-"))
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    server = Server(home)  # 127.0.0.1 only; the token endpoint's default limits
    assert server.base.startswith("http://127.0.0.1:")
    server.start()
    try:
        creds = json.loads(server.cli("clients", "create", "--name", "registration-system", "--scopes",
                                      "registrations:write", "--json"))
        legit = _Legit(server, creds["client_id"], creds["client_secret"])
        script = home / "garbage.lua"
        script.write_text(_LUA % {"client_id": creds["client_id"], "max_per_thread": MAX_GARBAGE // 2})
        for _ in range(3):
            legit.register()  # warm-up: fonts, keys, caches
        pid = server.proc.pid  # type: ignore[union-attr]
        results = []
        for i in range(rounds):
            quiet_regs, quiet_tokens = legit.phase(seconds)
            wrk = _garbage(server, script, seconds + 4)
            time.sleep(1.5)  # the connections are up and the address's bucket is spent
            cpu0, t0 = _cpu_s(pid), time.perf_counter()
            loud_regs, loud_tokens = legit.phase(seconds)
            cpu = (_cpu_s(pid) - cpu0) / (time.perf_counter() - t0)
            out, _ = wrk.communicate(timeout=seconds + 60)
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
            statuses = re.search(r"GARBAGE (.*)", out).group(1)  # type: ignore[union-attr]
            ratio = statistics.median(loud_regs) / statistics.median(quiet_regs)
            results.append((ratio, statistics.median(loud_tokens) / statistics.median(quiet_tokens)))
            print(f"round {i + 1}: registrations p50 {statistics.median(quiet_regs) * 1000:6.1f} ms unloaded "
                  f"({len(quiet_regs)}), {statistics.median(loud_regs) * 1000:6.1f} ms under garbage "
                  f"({len(loud_regs)}): {ratio:.2f}x; the legitimate client's token requests p50 "
                  f"{statistics.median(quiet_tokens) * 1000:.1f} -> {statistics.median(loud_tokens) * 1000:.1f} ms; "
                  f"garbage {rps:.0f} req/s ({statuses}); server {cpu:.2f} cores under garbage")
            sys.stdout.flush()
    finally:
        server.stop()
    ratios = sorted(r for r, _ in results)
    print(f"machine: {os.cpu_count()} cores; elicense serve (1 worker, SQLite), default token-endpoint limits; "
          f"wrk -t2 -c{CONNECTIONS} of garbage to /oauth/token from 127.0.0.1, the legitimate client from "
          f"{LEGIT_ADDRESS}; {rounds} rounds of {seconds:g} s phases")
    print(f"registration latency under garbage / unloaded: median {statistics.median(ratios):.2f}x "
          f"(rounds {', '.join(f'{r:.2f}x' for r in ratios)}; target <= 2x); token latency: median "
          f"{statistics.median(t for _, t in results):.2f}x")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 6, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
