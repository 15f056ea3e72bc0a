"""What a server worker holds in memory, and what each part of it costs.

Takes the steps an ``elicense serve --app all`` worker takes -- imports, runtime (database, keys,
schema check), the app, the fonts, the issuance service, licenses -- in one process, and prints the
resident set (VmRSS) after each step and what the step added, in MB. Then the fallback fonts, which a
worker loads only when a text first needs one of their characters.

Import groups are measured in the order listed: a module two groups share is counted in the first.
The database is brought to the current schema by ``elicense db upgrade`` in another process first, as
``elicense serve`` does before its workers start: a worker then never imports Alembic (11 MB).
RSS counts what the process has touched, shared library pages and mapped font pages included; the
figures vary by 1-2 MB from run to run. Run: .venv/bin/python bench/memory.py [licenses]
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: third-party imports in the order a worker meets them, grouped by what they are for
IMPORT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("web: fastapi, starlette, pydantic", ("fastapi", "starlette", "pydantic", "pydantic_settings")),
    ("HTTP server: uvicorn, uvloop, httptools", ("uvicorn", "uvloop", "httptools")),
    ("database: sqlalchemy, psycopg", ("sqlalchemy.orm", "psycopg", "psycopg_pool")),
    ("crypto: cryptography, asn1crypto", ("cryptography.x509", "asn1crypto.cms")),
    ("PDF drawing: reportlab, qrcode, PIL", ("reportlab.pdfgen.canvas", "qrcode", "PIL.Image")),
    ("PDF signing: pyhanko (+ aiohttp)", ("pyhanko.sign.signers", "pyhanko.sign.validation",
                                          "pyhanko_certvalidator")),
    ("tokens and login: joserfc, authlib, webauthn", ("joserfc.jws", "authlib.oauth2", "webauthn")),
    ("pages, metrics, jobs: jinja2, prometheus, procrastinate, httpx",
     ("jinja2", "prometheus_client", "procrastinate", "httpx")),
)
OUR_PACKAGES = (("ours: signing", "signing.pdf"), ("ours: issuing service", "license_service.app"),
                ("ours: verification service", "verify_app.app"), ("ours: devapp (both in one)", "devapp"))
EXT_A = "\u3400"  # 㐀: not in WenQuanYi Micro Hei; HanaMin A draws it
EXT_B = "\U00020001"  # 𠀁: only HanaMin B


def _rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    rss, hwm = (int(re.search(rf"^{k}:\s+(\d+) kB", status, re.M).group(1)) / 1024  # type: ignore[union-attr]
                for k in ("VmRSS", "VmHWM"))
    return rss, hwm


class _Table:
    def __init__(self) -> None:
        self.last = _rss_mb()[0]
        print(f"{'step':66s} {'RSS MB':>7s} {'added':>7s}")
        print(f"{'Python interpreter':66s} {self.last:7.1f}")

    def step(self, name: str, action: Callable[[], Any] = lambda: None) -> Any:
        out = action()
        rss = _rss_mb()[0]
        print(f"{name:66s} {rss:7.1f} {rss - self.last:+7.1f}", flush=True)
        self.last = rss
        return out


def main(n: int = 40) -> None:
    t = _Table()
    for label, modules in IMPORT_GROUPS:
        t.step(label, lambda m=modules: [importlib.import_module(x) for x in m])  # type: ignore[misc]
    for label, module in OUR_PACKAGES:
        t.step(label, lambda m=module: importlib.import_module(m))  # type: ignore[misc]

    from devapp import create_app
    from license_service.api.schemas import RegistrationIn
    from license_service.config import Settings
    from license_service.demo import demo_events
    from license_service.intake import parse_registration
    from license_service.runtime.issuing import IssuingRuntime
    from signing.keys.files import ensure_dev_keys

    home = Path(tempfile.mkdtemp(prefix="elicense-bench-memory-"))
    t.step("development keys generated (as `elicense keys init`)",
           lambda: ensure_dev_keys(home / "keys", at=datetime.now(UTC)))
    settings = Settings(database_url=f"sqlite:///{home}/bench.db", keys_dir=home / "keys")
    subprocess.run([str(Path(sys.executable).parent / "elicense"), "db", "upgrade"], check=True, capture_output=True,
                   env={**os.environ, "ELICENSE_DATABASE_URL": settings.database_url})
    runtime = t.step("runtime: engine, schema check, public and private keys", lambda: IssuingRuntime.build(settings))
    t.step("the app: routes of both services", lambda: create_app(settings, runtime))
    issuance = t.step("issuance service: primary font face, sealer, signers", lambda: runtime.issuance)

    bodies = [b for b in demo_events() if b["kind"] == "establishment"][: n + 3]

    def issue(body: dict[str, Any]) -> None:
        ev = parse_registration(RegistrationIn.model_validate(body), frozenset(), at=datetime.now(UTC))
        issuance.apply(ev, at=datetime.now(UTC))

    t.step("first license (lazy imports, seal appearance, caches)", lambda: issue(bodies[0]))
    t.step(f"{n} more licenses", lambda: [issue(b) for b in bodies[1:n + 1]])
    print(f"{'steady worker before any rare character: peak (VmHWM)':66s} {_rss_mb()[1]:7.1f}")

    def rare(ch: str, i: int) -> dict[str, Any]:
        body = copy.deepcopy(bodies[n + i])
        body["event_id"] = f"MEM-U{ord(ch):X}"
        body["entity"]["representative"] = f"欧阳{ch}"
        return body

    t.step(f"a license with U+{ord(EXT_A):04X}: fallback face HanaMin A loaded", lambda: issue(rare(EXT_A, 1)))
    t.step(f"a license with U+{ord(EXT_B):04X}: fallback face HanaMin B loaded", lambda: issue(rare(EXT_B, 2)))
    print(f"{'peak (VmHWM)':66s} {_rss_mb()[1]:7.1f}")
    unused = sorted({m.split(".")[0] for m in sys.modules} & {"alembic", "mako"})
    print(f"modules loaded: {len(sys.modules)}; Alembic and Mako imported: {', '.join(unused) or 'no'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
