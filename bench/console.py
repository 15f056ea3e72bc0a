"""The console's search (``license_service/console/search.py``) over the demo data plus 100,000
generated entities, on SQLite and on PostgreSQL, in this process (one core), as a clerk's page asks.

Queries, 2,000 of each kind, drawn at random from the data: a USCC prefix (6 to 16 characters); a
name substring of 2 to 4 characters; a common one (有限公司, 合作社, 湘西...); one that matches
nothing; each within a county (a clerk of 433101) or the prefecture (a supervisor of 433100), with
the kind filter on a third of them. Prints p50 and p99 per kind, and against the same run's baseline
(a primary-key lookup of one entity), with the database's own plans. Target: p99 < 50 ms.

The generated entities go straight into the tables (a row of ``market_entities`` and its name's
bigrams, as ``db/name_index.py`` writes them); only the demo's 1,526 registrations are issued.
Run: .venv/bin/python bench/console.py [--generated N] [--skip-demo]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).parents[1]))
from license_service.config import Settings
from license_service.console.search import search
from license_service.db.models import EntityNameGram, MarketEntity
from license_service.db.name_index import bigrams
from license_service.demo import DIVISIONS, demo_events, load_demo
from license_service.domain.staff import Division
from license_service.domain.uscc import ALPHABET, check_character, organisation_check
from license_service.runtime.issuing import IssuingRuntime
from signing.keys.files import ensure_dev_keys
from tests.conftest import PG_ADMIN_URL, ensure_postgres

_PLACES = ["吉首", "泸溪", "凤凰", "花垣", "保靖", "古丈", "永顺", "龙山", "湘西", "乾州", "峒河", "酉水", "沱江",
           "猛洞河"]
_WORDS = ["生态", "农业", "科技", "茶叶", "猕猴桃", "旅游", "文化", "建材", "物流", "电子", "商贸", "餐饮", "民宿",
          "食品", "酒业", "医药", "矿业", "服装", "苗绣", "土家", "林业", "水产", "家政", "教育", "咨询", "广告"]
_SUFFIX = {"company": "有限公司", "branch": "有限公司分公司", "partnership": "合伙企业（有限合伙）",
           "sole_proprietorship": "个人独资企业", "individual_business": "商行", "cooperative": "专业合作社"}
_COMMON = ["有限公司", "合作社", "湘西", "科技", "商行", "生态农业"]


def _generated(rng: random.Random, n: int, used: set[str]) -> list[dict[str, object]]:
    rows, kinds, divisions = [], list(_SUFFIX), list(DIVISIONS)
    at = datetime(2019, 1, 1, tzinfo=UTC)
    while len(rows) < n:
        kind, division = rng.choice(kinds), rng.choice(divisions)
        org8 = "MA" + "".join(rng.choice(ALPHABET[:-1]) for _ in range(6))
        first17 = "9" + {"individual_business": "2", "cooperative": "3"}.get(kind, "1") + division + org8 + \
            organisation_check(org8)
        uscc = first17 + check_character(first17)
        if uscc in used:
            continue
        used.add(uscc)
        name = rng.choice(_PLACES) + "".join(rng.sample(_WORDS, rng.randint(1, 3))) + _SUFFIX[kind]
        status = rng.choice(["active"] * 9 + ["cancelled"])
        rows.append({"uscc": uscc, "entity_kind": kind, "name": name, "status": status,
                     "status_changed_at": at, "status_reason": None, "current_version": 1,
                     "established_on": date(2019, 1, 1) + timedelta(days=rng.randint(0, 2000)), "created_at": at})
    return rows


def _load(runtime: IssuingRuntime, n: int, demo: bool) -> list[tuple[str, str]]:
    if demo:
        t0 = time.perf_counter()
        clock = [datetime(2018, 6, 1, tzinfo=UTC)]

        def tick() -> None:
            clock[0] += timedelta(seconds=1)

        load_demo(runtime.issuance, demo_events(), clock=lambda: clock[0], advance=tick)
        print(f"  demo issued in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    with runtime.sessions() as s:
        used = set(s.execute(select(MarketEntity.uscc)).scalars())
    rows = _generated(random.Random(16), n, used)
    for i in range(0, len(rows), 5000):
        chunk = rows[i:i + 5000]
        with runtime.write_sessions.begin() as s:
            s.execute(insert(MarketEntity), chunk)
            s.execute(insert(EntityNameGram), [{"gram": g, "uscc": r["uscc"]} for r in chunk
                                               for g in sorted(bigrams(str(r["name"])))])
    # statistics, and on PostgreSQL the visibility map, as autovacuum leaves the tables after a bulk load
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE" if runtime.engine.dialect.name == "postgresql" else "ANALYZE"))
    with runtime.sessions() as s:
        return [(u, nm or "") for u, nm in s.execute(select(MarketEntity.uscc, MarketEntity.name))]


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _p(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[int(q) - 1] if len(xs) > 1 else xs[0]


def _measure(runtime: IssuingRuntime, entities: list[tuple[str, str]], n: int) -> None:
    rng = random.Random(50)
    county, prefecture = Division("433101"), Division("433100")

    def ask(make_q: Callable[[], str]) -> Callable[[], object]:
        def run() -> object:
            q = make_q()
            division = county if rng.random() < 0.5 else prefecture
            kind = rng.choice(["company", "cooperative"]) if rng.random() < 1 / 3 else None
            with runtime.sessions() as s:
                return search(s, q, division=division, kind=kind)
        return run

    named = [nm for _, nm in entities if len(nm.strip()) >= 2]

    def substring() -> str:
        name = rng.choice(named)
        k = rng.randint(2, 4)
        i = rng.randint(0, max(0, len(name) - k))
        return name[i:i + k]

    def lookup() -> object:
        with runtime.sessions() as s:
            return s.get(MarketEntity, rng.choice(entities)[0])

    kinds = {
        "uscc prefix": ask(lambda: rng.choice(entities)[0][:rng.randint(6, 16)]),
        "name substring": ask(substring),
        "common substring": ask(lambda: rng.choice(_COMMON)),
        "no match": ask(lambda: "不存在的名字" + rng.choice(_WORDS)),
    }
    base = _timed(lookup, n)
    print(f"  {'baseline: primary-key lookup':32} p50 {_p(base, 50):6.2f} ms  p99 {_p(base, 99):6.2f} ms")
    for label, fn in kinds.items():
        xs = _timed(fn, n)
        verdict = "ok" if _p(xs, 99) < 50 else "OVER 50 ms"
        print(f"  {label:32} p50 {_p(xs, 50):6.2f} ms  p99 {_p(xs, 99):6.2f} ms  "
              f"(p99 {_p(xs, 99) / _p(base, 99):4.1f}x the lookup's)  {verdict}")
    sqlite = runtime.engine.dialect.name == "sqlite"
    with runtime.sessions() as s:
        for label, sql in (
            ("name", _name_sql(sqlite)),
            ("uscc", "SELECT uscc FROM market_entities WHERE uscc >= '9143310' AND uscc <= '9143310ZZZZZZZZZZZ' "
                     "ORDER BY uscc LIMIT 21")):
            plan = s.execute(text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql)).all()
            print(f"  plan ({label}): " + " | ".join(str(r[-1]).strip() for r in plan))


def _name_sql(sqlite: bool) -> str:
    """The name search's statement as ``search`` builds it on each database (the candidates' run,
    then each entity by its key: a join on SQLite, a lateral lookup on PostgreSQL)."""
    run = "(SELECT uscc FROM entity_name_grams WHERE gram = '猕猴' ORDER BY uscc LIMIT 4000) AS c"
    entity = ("JOIN market_entities e ON e.uscc = c.uscc" if sqlite else
              "JOIN LATERAL (SELECT * FROM market_entities m WHERE m.uscc = c.uscc LIMIT 1) e ON true")
    return (f"SELECT e.uscc FROM {run} {entity} WHERE lower(e.name) LIKE '%猕猴桃%' AND substr(e.uscc, 3, 6) = "
            "'433101' ORDER BY c.uscc LIMIT 21")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generated", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-console-"))
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    ensure_postgres()
    name = f"elicense_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    pg_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        for label, url in (("SQLite", f"sqlite:///{home}/bench.db"), ("PostgreSQL", pg_url)):
            runtime = IssuingRuntime.build(Settings(database_url=url, keys_dir=home / "keys"))
            entities = _load(runtime, args.generated, not args.skip_demo)
            print(f"{label}: {len(entities):,} entities; {args.queries} queries of each kind, one at a time")
            _measure(runtime, entities, args.queries)
            runtime.engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
