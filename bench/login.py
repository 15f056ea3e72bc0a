"""Log-in (OpenID Provider) figures, against the trivial endpoint in the same run, on one core.

1. Code-to-ID-token exchanges over HTTP: a real ``elicense serve --workers 1`` (one core; uvloop +
   httptools) on SQLite; wrk (on the other core) with 64 connections drives GET /healthz, then
   POST /oidc/token, each request a code never exchanged before (client_secret_basic, the PKCE
   verifier, the single-use update that also keeps the access token, the log-in rules, the claims, the
   ID token signed with the idtoken key: login/exchange.py). Codes are stored beforehand as the
   authorize step stores them (setup, not measured). Prints req/s and p50/p99 for each and the ratio,
   and beside it the ratio of server CPU per request (trivial/token), which a machine shared with
   other work disturbs less than req/s; afterwards checks that every code was used once.
2. ID-token verification by a stock client library (joserfc, as authlib's client uses it): the JWKS
   imported once, then signature + iss/aud/exp/nonce checks per token, in this process, per second.

Three interleaved rounds; the medians are the figures. Target: the token endpoint at >= 40% of the
trivial endpoint's req/s.
Run: .venv/bin/python bench/login.py [seconds per run]      (needs wrk: apt-get install wrk)
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).parent))
from presentation import _holders  # the same demo companies and legal representatives
from verify import _free_port, _line, _measured, _wrk, serve  # the same wrk harness as bench/verify.py

from license_service.config import Settings
from license_service.db.models import AuthorizationCode, Holder
from license_service.login.platforms import create_platform
from license_service.login.provider import CODE_TTL
from license_service.runtime.issuing import IssuingRuntime
from signing.keys.files import ensure_dev_keys

REDIRECT = "https://platform.example/callback"
_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic %s"
local codes = {%s}
-- each wrk thread takes every other code (its own Lua state), so no code is sent twice
local threads = 0
function setup(thread) thread:set("offset", threads); threads = threads + 1 end
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, "grant_type=authorization_code&redirect_uri=%s&code_verifier=%s&code=" ..
                    codes[2 * i - 1 + offset])
end
"""


def _codes(runtime: IssuingRuntime, client_id: str, holders: list[Holder], challenge: str, n: int) -> list[str]:
    """``n`` fresh codes for ``client_id``, stored as the authorize step stores them."""
    at = datetime.now(UTC)
    codes = [secrets.token_urlsafe(36) for _ in range(n)]
    with runtime.write_sessions.begin() as s:
        s.execute(insert(AuthorizationCode), [
            {"code_sha256": hashlib.sha256(c.encode()).hexdigest(), "client_id": client_id, "redirect_uri": REDIRECT,
             "scope": "openid profile", "nonce": "bench-nonce", "code_challenge": challenge,
             "code_challenge_method": "S256", "holder_id": holders[i % len(holders)].holder_id, "share_name": 1,
             "auth_time": at, "login_id": secrets.token_hex(16), "created_at": at, "expires_at": at + CODE_TTL,
             "used_at": None} for i, c in enumerate(codes)])
    return codes


def main(seconds: int = 10) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-login-"))
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    port = _free_port()
    base = f"http://localhost:{port}"
    settings = Settings(database_url=f"sqlite:///{home}/bench.db", keys_dir=home / "keys", public_base_url=base)
    runtime = IssuingRuntime.build(settings)
    holders = _holders(runtime, 20)
    client_id, secret = create_platform(runtime.write_sessions, name="bench platform", redirect_uris=[REDIRECT],
                                        development=True, at=datetime.now(UTC))
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

    env = {**os.environ, "ELICENSE_DATABASE_URL": settings.database_url, "ELICENSE_KEYS_DIR": str(home / "keys"),
           "ELICENSE_PUBLIC_BASE_URL": base}
    server = serve(env, port, workers=1)
    rounds = []
    made = 0
    tokens: list[str] = []
    try:
        probe = _codes(runtime, client_id, holders, challenge, 20)
        for code in probe:
            r = httpx.post(base + "/oidc/token", data={"grant_type": "authorization_code", "code": code,
                                                        "redirect_uri": REDIRECT, "code_verifier": verifier},
                           auth=(client_id, secret))
            assert r.status_code == 200 and "id_token" in r.json(), r.text
            tokens.append(r.json()["id_token"])
        jwks = httpx.get(base + "/oidc/jwks.json").json()
        _wrk(base + "/healthz", 2)
        for _ in range(3):
            codes = _codes(runtime, client_id, holders, challenge, 4000 * seconds)  # more than one core exchanges
            made += len(codes)
            script = home / "token.lua"
            script.write_text(_LUA % (basic, ", ".join(f'"{c}"' for c in codes), quote(REDIRECT, safe=""),
                                      verifier))
            trivial = _measured(server.pid, base + "/healthz", seconds)
            exchange = _measured(server.pid, base + "/oidc/token", seconds, str(script))
            rounds.append((trivial, exchange))
    finally:
        server.terminate()
        server.wait(20)
    with runtime.sessions() as s:
        used = s.execute(select(func.count()).select_from(AuthorizationCode).where(
            AuthorizationCode.used_at.is_not(None))).scalar_one()
    requests = sum(round(v[0] * seconds) for _, v in rounds)

    # -- ID-token verification by a stock client, one core ------------------------------------------
    keys = KeySet.import_key_set(jwks)
    claims = jwt.JWTClaimsRegistry(iss={"essential": True, "value": base}, aud={"essential": True, "value": client_id},
                                   nonce={"essential": True, "value": "bench-nonce"})
    n = 5000
    t0 = time.perf_counter()
    for i in range(n):
        claims.validate(jwt.decode(tokens[i % len(tokens)], keys, algorithms=["ES256"]).claims)
    verified = n / (time.perf_counter() - t0)

    print(f"machine: {os.cpu_count()} cores; server: elicense serve --workers 1 (uvloop, httptools), SQLite; "
          f"wrk -t2 -c64 -d{seconds}s on the same machine, three interleaved rounds")
    for i, (trivial, exchange) in enumerate(rounds, 1):
        print(f"round {i}:")
        print(_line("  trivial endpoint GET /healthz:            ", trivial))
        print(_line("  code -> ID token POST /oidc/token:        ", exchange))
        print(f"  ratio token/trivial: {exchange[0] / trivial[0]:.0%} (by server CPU per request: "
              f"{trivial[4] / exchange[4]:.0%})")
    ratios = sorted(v[0] / t[0] for t, v in rounds)
    cpu_ratios = sorted(t[4] / v[4] for t, v in rounds)
    p99s = sorted(v[2] for _, v in rounds)
    print(f"token/trivial: median {ratios[1]:.0%} (range {ratios[0]:.0%}-{ratios[2]:.0%}; target >= 40%); "
          f"by server CPU per request: median {cpu_ratios[1]:.0%} (range {cpu_ratios[0]:.0%}-{cpu_ratios[2]:.0%}); "
          f"token p99 median {p99s[1]:.1f} ms")
    print(f"codes exchanged: {used:,} of about {requests + len(probe):,} requests (each code once, {made:,} made)")
    print(f"ID-token verification by joserfc (JWKS imported once; signature, iss, aud, exp, nonce), one core: "
          f"{verified:,.0f} /s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
