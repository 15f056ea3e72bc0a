"""Issuance-log figures at 10^4, 10^5 and 10^6 leaves, on SQLite, in one process.

For each size the tree is bulk-loaded (leaves, and the perfect-subtree hashes computed with the same
signing.merkle code, plus a signed checkpoint); then, through the real IssuanceLog code path:
- appends/s: 2,000 appends, each in its own transaction (locks the head, reads the right edge, writes
  the leaf and completed subtrees, checks the last checkpoint, signs a new one);
- inclusion-proof latency: 2,000 proofs of random leaves against the latest tree size, p50 and p99;
- peak memory (max RSS) of the process.
Then, in the same run, witnesses (C2SP tlog-witness): appends/s on a fresh log with no witnesses, and
with three local ``elicense witness serve`` processes and the issuing side's background collector
asking them (policy k = 2), and the cosign latency: from an append's commit to the first checkpoint
at least that large cosigned by k witnesses, p50 and p99.
Run: .venv/bin/python bench/log.py [max_exponent=6]
"""

from __future__ import annotations

import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from license_service.config import Settings, WitnessConfig
from license_service.db.engine import make_engine, make_session_factory, make_write_session_factory
from license_service.db.migrate import upgrade
from license_service.db.models import LogCheckpoint, LogHead, LogLeaf, LogNode
from license_service.log.writer import IssuanceLog
from license_service.witness.collector import WitnessCollector
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


_ELICENSE = str(Path(sys.executable).parent / "elicense")


def _witness(home: Path, name: str, log_vkey: str) -> tuple[subprocess.Popen[bytes], WitnessConfig]:
    """One ``elicense witness`` process of our own (init, serve), up and answering."""
    import httpx

    state = home / name
    vkey = subprocess.run([_ELICENSE, "witness", "init", "--state", str(state), "--name", f"bench.invalid/{name}"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([_ELICENSE, "witness", "serve", "--state", str(state), "--port", str(port),
                             "--log-vkey", log_vkey], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/key").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, WitnessConfig(url=url, vkey=vkey)


def _appends(url: str, log: IssuanceLog, start: int, n: int) -> tuple[float, list[tuple[int, float]]]:
    """``n`` appends, each in its own transaction: appends/s, and (size, commit time) of each."""
    writes = make_write_session_factory(make_engine(url))
    done = []
    t0 = time.perf_counter()
    for i in range(n):
        with writes.begin() as s:
            index = log.append(s, _leaf(start + i), at=datetime.now(UTC))
        done.append((index + 1, time.perf_counter()))
    return n / (time.perf_counter() - t0), done


def witnessed(home: Path, appends: int = 2000, k: int = 2) -> None:
    """Appends/s with no witnesses and with three at policy ``k``, same run; cosign latency."""
    keys = home / "keys"
    log_vkey = (keys / "log.vkey").read_text().strip()
    bare = _bulk_load(f"sqlite:///{home}/bare.db", 10_000, keys)
    none_before, _ = _appends(f"sqlite:///{home}/bare.db", bare, 10_000, appends)
    url = f"sqlite:///{home}/witnessed.db"
    log = _bulk_load(url, 10_000, keys)
    procs, configs = zip(*(_witness(home, f"w{i}", log_vkey) for i in (1, 2, 3)), strict=True)
    engine = make_engine(url)
    counts: dict[int, int] = {}
    reached: list[tuple[int, float]] = []  # (size, time) when k witnesses had cosigned it
    lock = threading.Lock()

    def on_cosigned(size: int, _witness: str) -> None:
        with lock:
            counts[size] = counts.get(size, 0) + 1
            if counts[size] == k:
                reached.append((size, time.perf_counter()))

    interval = Settings().witness_interval_ms / 1000  # as the service runs it
    collector = WitnessCollector(make_session_factory(engine), make_write_session_factory(engine), log,
                                 tuple(configs), interval=interval, now=lambda: datetime.now(UTC),
                                 on_cosigned=on_cosigned)
    collector.start()
    try:
        rate, done = _appends(url, log, 10_000, appends)
        last = done[-1][0]
        deadline = time.time() + 60
        while time.time() < deadline and not any(size >= last for size, _ in reached):
            time.sleep(0.01)
    finally:
        collector.stop()
        for p in procs:
            p.terminate()
            p.wait(10)
    none_after, _ = _appends(f"sqlite:///{home}/bare.db", bare, 10_000 + appends, appends)
    none_rate = max(none_before, none_after)  # the better of a run before and one after: the ratio is not flattered
    reached.sort()
    lat = []
    for size, committed in done:
        when = next((t for s, t in reached if s >= size), None)
        if when is not None:
            lat.append((when - committed) * 1000)
    lat.sort()
    rounds = len(reached)
    print(f"witnesses: appends/s with none {none_rate:.0f}, with three at k={k} {rate:.0f} "
          f"(ratio {rate / none_rate:.2f}; target >= 0.5); {rounds} cosigned checkpoints for {appends} appends "
          f"(batching); cosign latency p50 {statistics.median(lat):.1f} ms, p99 {lat[int(len(lat) * .99)]:.1f} ms "
          f"({len(lat)} of {appends} appends cosigned)")


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
    witnessed(home)


if __name__ == "__main__":
    if sys.argv[1:2] == ["witnesses"]:  # the witness figures alone
        d = Path(tempfile.mkdtemp(prefix="elicense-bench-log-"))
        ensure_dev_keys(d / "keys", ORIGIN, at=datetime.now(UTC))
        witnessed(d)
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
