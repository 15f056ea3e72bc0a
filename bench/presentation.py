"""亮照 (presentation) figures, against the trivial endpoint in the same run, on one core.

1. QR generation, in this process: a new presentation handle stored (its SHA-256) and its QR drawn as
   the holder's page draws it (``qr_svg``), per second; and the QR alone.
2. Redemption over HTTP: a real ``elicense serve --workers 1`` (one core; uvloop + httptools) on
   SQLite; wrk (on the other core) with 64 connections drives GET /healthz, then
   POST /api/v1/verify/presentation, each request a handle never redeemed before (the single-use
   write, the license's report, the recorded verification). Prints req/s and p50/p99 for each, the
   ratio, and checks afterwards that every handle was redeemed once and as ``valid``.

   Three interleaved rounds at saturation (every connection sends its next request the moment its
   answer arrives); the medians are the figures. At saturation a closed loop's latency is the queue
   (Little's law: 64 connections / throughput), so:
3. Latency at an offered load: the same 64 connections, each waiting an exponentially distributed
   think time between its requests (wrk's ``delay()``), so that together they ask for about half,
   then three quarters, of the redemptions one core served at saturation; the trivial endpoint at
   the same request rate is the baseline. This is how 64 platforms scanning at counters load it.

Target: redemption p99 under 30 ms at 64 connections.
Run: .venv/bin/python bench/presentation.py [seconds per run]      (needs wrk: apt-get install wrk)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).parent))
from verify import _free_port, _line, _measured, _wrk, serve  # the same wrk harness as bench/verify.py

from license_service.api.schemas import RegistrationIn
from license_service.config import Settings
from license_service.db.models import Holder, Presentation
from license_service.demo import demo_events
from license_service.domain.holding import HolderRole
from license_service.holders import presentations
from license_service.holders.standing import secret_digest
from license_service.intake import parse_registration
from license_service.oauth import create_client
from license_service.rendering.qr import qr_svg
from license_service.runtime.issuing import IssuingRuntime
from signing.keys.files import ensure_dev_keys

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
local handles = {%s}
-- each wrk thread takes every other handle (its own Lua state), so no handle is sent twice
local threads = 0
function setup(thread) thread:set("offset", threads); threads = threads + 1 end
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, '{"handle":"' .. handles[2 * i - 1 + offset] .. '"}')
end
"""
#: each connection waits an exponentially distributed think time (mean in ms) before its next request
_THINK = """
local think = %f
math.randomseed(os.time())
function delay() return -math.log(1 - math.random()) * think end
"""


def _holders(runtime: IssuingRuntime, n: int) -> list[Holder]:
    """``n`` demo companies, each with an enrolled legal representative (bound as enrolment binds,
    with a placeholder passkey: redemption never reads it)."""
    bodies = [b for b in demo_events() if b["kind"] == "establishment" and b["entity"]["entity_kind"] == "company"][:n]
    out = []
    for body in bodies:
        at = datetime.now(UTC)
        runtime.issuance.apply(parse_registration(RegistrationIn.model_validate(body), frozenset(), at=at), at=at)
        with runtime.write_sessions.begin() as s:
            inv = runtime.holders.invite(s, uscc=body["entity"]["uscc"], role=HolderRole.LEGAL_REPRESENTATIVE,
                                         name=body["entity"]["representative"], created_by="window:bench", at=at)
            opened = runtime.holders.open_invitation(s, secret=inv.secret, at=at)
            h = runtime.holders.bind(s, opened, credential_id=secrets.token_urlsafe(16), public_key=b"-",
                                     sign_count=0, user_handle=secrets.token_urlsafe(16), at=at)
            s.expunge(h)
            out.append(h)
    return out


def _handles(runtime: IssuingRuntime, holders: list[Holder], n: int) -> list[str]:
    """``n`` fresh handles, stored as ``presentations.create`` stores them (in bulk: setup, not measured)."""
    at = datetime.now(UTC)
    handles = [secrets.token_urlsafe(16) for _ in range(n)]
    with runtime.write_sessions.begin() as s:
        s.execute(insert(Presentation), [
            {"handle_sha256": secret_digest(h), "holder_id": holders[i % len(holders)].holder_id,
             "uscc": holders[i % len(holders)].uscc, "created_at": at, "expires_at": at + timedelta(minutes=10),
             "redeemed_at": None, "redeemed_by": None, "verdict": None} for i, h in enumerate(handles)])
    with runtime.engine.connect() as c:  # the bulk insert's WAL folded in now, not by the server mid-run
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return handles


def main(seconds: int = 10) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-presentation-"))
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    port = _free_port()
    base = f"http://localhost:{port}"
    settings = Settings(database_url=f"sqlite:///{home}/bench.db", keys_dir=home / "keys", public_base_url=base)
    runtime = IssuingRuntime.build(settings)
    holders = _holders(runtime, 20)

    # -- QR generation, one core -----------------------------------------------------------------
    n = 2000
    t0 = time.perf_counter()
    for i in range(n):
        with runtime.write_sessions.begin() as s:
            handle, _ = presentations.create(s, s.get(Holder, holders[i % len(holders)].holder_id),  # type: ignore[arg-type]
                                             datetime.now(UTC))
        svg = qr_svg(f"{base}{presentations.PRESENTATION_PATH}{handle}", label="亮照")
    made = n / (time.perf_counter() - t0)
    version = int(svg.split('data-version="', 1)[1].split('"', 1)[0])
    t0 = time.perf_counter()
    for _ in range(n):
        qr_svg(f"{base}/p/{secrets.token_urlsafe(16)}", label="亮照")
    drawn = n / (time.perf_counter() - t0)

    # -- redemption over HTTP, one worker --------------------------------------------------------
    cid, secret = create_client(runtime.sessions, "bench", ["verify"], at=datetime.now(UTC))
    env = {**os.environ, "ELICENSE_DATABASE_URL": settings.database_url, "ELICENSE_KEYS_DIR": str(home / "keys"),
           "ELICENSE_PUBLIC_BASE_URL": base, "ELICENSE_RATE_API_PER_SECOND": "1000000",
           "ELICENSE_RATE_API_BURST": "1000000", "ELICENSE_RATE_REDEEM_PER_SECOND": "1000000",
           "ELICENSE_RATE_REDEEM_BURST": "1000000"}
    server = serve(env, port, workers=1)
    rounds = []
    used: list[str] = []
    try:
        token = httpx.post(base + "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                         "client_secret": secret}).json()["access_token"]
        probe = _handles(runtime, holders, 1)[0]
        r = httpx.post(base + "/api/v1/verify/presentation", json={"handle": probe},
                       headers={"Authorization": f"Bearer {token}"})
        assert r.json()["verdict"] == "valid" and r.json()["presentation"]["role"] == "legal_representative", r.text
        _wrk(base + "/healthz", 2)
        for _ in range(3):
            handles = _handles(runtime, holders, 6000 * seconds)  # more than one worker redeems in the time
            used += handles
            script = home / "redeem.lua"
            script.write_text(_LUA % (token, ", ".join(json.dumps(h) for h in handles)))
            trivial = _measured(server.pid, base + "/healthz", seconds)
            redeem = _measured(server.pid, base + "/api/v1/verify/presentation", seconds, str(script))
            rounds.append((trivial, redeem))
        capacity = sorted(v[0] for _, v in rounds)[1]
        loads = []
        for share in (0.5, 0.75):
            think = 64 / (share * capacity) * 1000  # ms: 64 connections asking for share x capacity
            handles = _handles(runtime, holders, round(share * capacity * seconds * 1.5) + 1000)
            used += handles
            script.write_text(_LUA % (token, ", ".join(json.dumps(h) for h in handles)) + _THINK % think)
            paced = home / "trivial.lua"
            paced.write_text(_THINK % think)
            trivial = _measured(server.pid, base + "/healthz", seconds, str(paced))
            redeem = _measured(server.pid, base + "/api/v1/verify/presentation", seconds, str(script))
            loads.append((share, think, trivial, redeem))
    finally:
        server.terminate()
        server.wait(20)
    with runtime.sessions() as s:
        redeemed = s.execute(select(func.count()).select_from(Presentation).where(
            Presentation.redeemed_by == f"client:{cid}")).scalar_one()
    requests = sum(round(v[0] * seconds) for _, v in rounds) + sum(round(v[0] * seconds) for *_, v in loads)

    print(f"machine: {os.cpu_count()} cores; server: elicense serve --workers 1 (uvloop, httptools), SQLite; "
          f"wrk -t2 -c64 -d{seconds}s on the same machine, three interleaved rounds")
    print(f"QR generation (handle stored + QR drawn as the page draws it), one core: {made:,.0f} /s; the QR alone "
          f"{drawn:,.0f} /s; version {version} at level M (target <= 5)")
    for i, (trivial, redeem) in enumerate(rounds, 1):
        print(f"round {i}:")
        print(_line("  trivial endpoint GET /healthz:                  ", trivial))
        print(_line("  redemption POST /api/v1/verify/presentation:   ", redeem))
        print(f"  ratio redemption/trivial: {redeem[0] / trivial[0]:.0%}")
    ratios = sorted(v[0] / t[0] for t, v in rounds)
    p50s = sorted(v[1] for _, v in rounds)
    p99s = sorted(v[2] for _, v in rounds)
    print(f"redemption/trivial: median {ratios[1]:.0%} (range {ratios[0]:.0%}-{ratios[2]:.0%}); redemption p50 "
          f"median {p50s[1]:.1f} ms, p99 median {p99s[1]:.1f} ms (target < 30 ms at 64 connections)")
    print("offered load (64 connections, exponential think time between requests):")
    for share, think, trivial, redeem in loads:
        print(f"  {share:.0%} of saturated redemptions (mean think {think:.0f} ms):")
        print(_line("    trivial endpoint GET /healthz:                ", trivial))
        print(_line("    redemption POST /api/v1/verify/presentation: ", redeem))
    print(f"handles redeemed: {redeemed:,} of about {requests:,} requests (each handle once, "
          f"{len(used):,} made)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
