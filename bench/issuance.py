"""Issuance throughput: the whole pipeline against its floor, in the same run.

pipeline = intake validation + registry transaction + canonical record + token + render + seal + store,
           one event after another in one process (one core), on a fresh SQLite database;
floor    = render alone + seal alone, on the same pages.
Prints licenses/s for both and the ratio pipeline-time / floor-time. Run: .venv/bin/python bench/issuance.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from license_service.api.schemas import RegistrationIn
from license_service.config import Settings
from license_service.demo import demo_events
from license_service.intake import parse_registration
from license_service.rendering.license_pdf import LicensePage
from license_service.runtime.issuing import IssuingRuntime
from signing.keys.files import ensure_dev_keys


def main(n: int = 120) -> None:
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-"))
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    settings = Settings(database_url=f"sqlite:///{home}/bench.db", keys_dir=home / "keys")
    runtime = IssuingRuntime.build(settings)
    issuance = runtime.issuance
    bodies = [b for b in demo_events() if b["kind"] == "establishment"][: n + 10]
    events = [parse_registration(RegistrationIn.model_validate(b), frozenset(), at=datetime.now(UTC)) for b in bodies]
    for ev in events[:10]:  # warm-up: font subsets, seal appearances, pyHanko imports
        issuance.apply(ev, at=datetime.now(UTC))
    events = events[10:]

    renderer, sealer = issuance._renderer, issuance._sealer  # the same objects the pipeline uses
    # Alternate blocks of pipeline and floor over the same events, so that drift in the machine's
    # load (it is shared and noisy) falls on both sides of the ratio alike.
    pipeline = 0.0
    render_t: list[float] = []
    seal_t: list[float] = []
    block = 20
    for b in range(0, len(events), block):
        chunk = events[b:b + block]
        t0 = time.perf_counter()
        tokens = [issuance.apply(ev, at=datetime.now(UTC)).body["license"]["token"] for ev in chunk]
        pipeline += time.perf_counter() - t0
        for ev, token in zip(chunk, tokens, strict=True):  # the same data: each license's own token and QR
            page = LicensePage(details=ev.details, serial="43310020180531000001", version=1,  # type: ignore[arg-type]
                               authority=ev.authority.name, registered_on=ev.decided_at.date(),
                               verify_url=f"{settings.public_base_url}/v/{token}", token=token)
            t = time.perf_counter()
            r = renderer.render(page)
            render_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            sealer.seal(r.pdf, box=r.seal_box, authority=page.authority, reason="bench", location="bench",
                        at=datetime.now(UTC))
            seal_t.append(time.perf_counter() - t)
    floor = sum(render_t) + sum(seal_t)

    print(f"licenses: {len(events)} (one process, one core, SQLite)")
    print(f"render alone: median {statistics.median(render_t) * 1e3:.1f} ms; "
          f"seal alone (PAdES B-T + timestamp): median {statistics.median(seal_t) * 1e3:.1f} ms")
    print(f"floor    (render + seal): {len(events) / floor:6.1f} licenses/s")
    print(f"pipeline (everything):    {len(events) / pipeline:6.1f} licenses/s per core")
    print(f"ratio pipeline/floor:     {pipeline / floor:6.2f}x  (target <= 1.30x, >= 10 licenses/s per core)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 120)
