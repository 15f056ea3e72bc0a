"""Issuance-log figures at 10^4, 10^5 and 10^6 leaves, on SQLite, in one process.

For each size the tree is bulk-loaded (leaves, and the perfect-subtree hashes computed with the same
signing.merkle code, plus a signed checkpoint); then, through the real IssuanceLog code path:
- appends/s: 2,000 appends, each in its own transaction (locks the head, reads the right edge, writes
  the leaf and completed subtrees, checks the last checkpoint, signs a new one);
- inclusion-proof latency: 2,000 proofs of random leaves against the latest tree size, p50 and p99;
- peak memory (max RSS) of the process.
Run: .venv/bin/python bench/log.py [max_exponent=6]
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from license_service.db.engine import make_engine, make_session_factory, make_write_session_factory
from license_service.db.migrate import upgrade
from license_service.db.models import LogCheckpoint, LogHead, LogLeaf, LogNode
from license_service.log.writer import IssuanceLog
from signing.keys.files import FileSigners, ensure_dev_keys
from signing.merkle import fold, leaf_hash, node_hash
from signing.note import Checkpoint, format_checkpoint

ORIGIN = "elicense-bench.invalid/log"


def _leaf(i: int) -> bytes:
    return (b'{"action":"establishment","event_id":"BENCH-%08d","license_id":"1.2.156.3005.2.DEVBL001.DEVISSUER.'
            b'433100201805310%05d.001.X","logged_at":"2026-11-27T00:00:00+00:00","pdf_sha256":"%064x",'
            b'"record_digest":"%064x","uscc":"91433101MA4L1A2B9M","version":1}') % (i, i % 100000, i, i)


def _bulk_load(url: str, n: int, keys: Path) -> IssuanceLog:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    signer = FileSigners(keys).log_signer
    log = IssuanceLog(ORIGIN, signer=signer)
    frontier: list[tuple[int, bytes]] = []  # (level, hash) of the right edge
    batch_leaves, batch_nodes = [], []
    with engine.begin() as conn:
        for i in range(n):
            data = _leaf(i)
            h = leaf_hash(data)
            batch_leaves.append({"idx": i, "data": data, "created_at": now})
            batch_nodes.append({"level": 0, "idx": i, "hash": h})
            level, index = 0, i
            while index & 1:
                h = node_hash(frontier.pop()[1], h)
                level, index = level + 1, index >> 1
                batch_nodes.append({"level": level, "idx": index, "hash": h})
            frontier.append((level, h))
            if len(batch_leaves) >= 20000:
                conn.execute(insert(LogLeaf), batch_leaves)
                conn.execute(insert(LogNode), batch_nodes)
                batch_leaves, batch_nodes = [], []
        if batch_leaves:
            conn.execute(insert(LogLeaf), batch_leaves)
            conn.execute(insert(LogNode), batch_nodes)
        root = fold([h for _, h in frontier])
        conn.execute(insert(LogHead), [{"id": 1, "size": n, "root": root}])
        note = signer().sign(format_checkpoint(Checkpoint(ORIGIN, n, root)))
        conn.execute(insert(LogCheckpoint), [{"size": n, "root": root, "note": note, "created_at": now}])
    return log


def main(max_exp: int = 6) -> None:
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-log-"))
    ensure_dev_keys(home / "keys", ORIGIN, at=datetime.now(UTC))
    header = ("leaves", "load s", "appends/s", "proof p50 ms", "proof p99 ms", "peak RSS MB")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (9, 7, 10, 13, 13, 12), strict=True)))
    for exp in range(4, max_exp + 1):
        n = 10**exp
        url = f"sqlite:///{home}/log-{n}.db"
        t0 = time.perf_counter()
        log = _bulk_load(url, n, home / "keys")
        load = time.perf_counter() - t0
        engine = make_engine(url)
        writes, reads = make_write_session_factory(engine), make_session_factory(engine)
        appends = 2000
        t0 = time.perf_counter()
        for i in range(appends):
            with writes.begin() as s:
                log.append(s, _leaf(n + i), at=datetime.now(UTC))
        rate = appends / (time.perf_counter() - t0)
        size = n + appends
        rng = random.Random(exp)
        lat = []
        with reads() as s:
            for _ in range(2000):
                t = time.perf_counter()
                log.inclusion(s, rng.randrange(size), size)
                lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>9} {load:>7.1f} {rate:>10.0f} {statistics.median(lat):>13.3f} {lat[int(len(lat) * .99)]:>13.3f}"
              f" {rss:>12.0f}")
    print("targets: >= 1,000 appends/s; proof p99 < 2 ms at 10^6 leaves")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
