"""Shared fixtures: a keys directory made from the declared dev PKI (once per session), databases
(SQLite, and PostgreSQL started if it is down), and event builders."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from license_service.domain.uscc import ALPHABET, check_character, organisation_check
from signing.keys.files import ensure_dev_keys

PG_ADMIN_URL = os.environ.get("ELICENSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    ensure_dev_keys(d, at=datetime.now(UTC))
    return d


def make_uscc(kind_code: str = "1", division: str = "433101") -> str:
    org8 = "MA4" + "".join(ALPHABET[b % 30 + 1] for b in os.urandom(5))
    first17 = "9" + kind_code + division + org8 + organisation_check(org8)
    return first17 + check_character(first17)


TYPE_CODE = {"company": "1", "branch": "1", "partnership": "1", "sole_proprietorship": "1", "cooperative": "3",
             "individual_business": "2"}


def entity(kind: str = "company", **over: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "uscc": make_uscc(TYPE_CODE[kind]), "name": "湘西峒河生态农业科技有限公司", "entity_kind": kind,
        "entity_type": "有限责任公司（自然人投资或控股）", "representative": "向喆",
        "registered_capital": {"amount": "350", "unit": "万元", "currency": "CNY"},
        "established_on": "2018-05-31", "term": {"from": "2018-05-31", "to": None},
        "business_scope": "猕猴桃、椪柑、茶叶种植及销售；农产品初加工", "address": "湖南省湘西土家族苗族自治州吉首市世纪大道88号",
        "composition": None,
    }
    if kind in ("branch", "partnership", "sole_proprietorship", "individual_business"):
        e["registered_capital"] = None
    if kind in ("sole_proprietorship", "cooperative", "individual_business"):
        e["term"] = None
    if kind == "individual_business":
        e["composition"] = "个人经营"
    e.update(over)
    return e


def event(kind: str, ent: dict[str, Any], **over: Any) -> dict[str, Any]:
    ev = {"event_id": "T-" + uuid.uuid4().hex, "kind": kind, "decided_at": "2018-05-31T10:00:00+08:00",
          "authority": {"name": "湘西土家族苗族自治州市场监督管理局", "division_code": "433100"}, "entity": ent}
    ev.update(over)
    return ev


def _pg_running() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


def ensure_postgres() -> None:
    """Start the local PostgreSQL cluster if it is down (CI machines have it installed)."""
    if _pg_running():
        return
    versions = os.listdir("/etc/postgresql") if os.path.isdir("/etc/postgresql") else []
    if versions:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"], check=False)
    if not _pg_running():
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is not reachable and could not be started")


@contextmanager
def pg_database(prefix: str = "elicense_t_") -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration (started first if the server is down)."""
    ensure_postgres()
    import psycopg

    name = prefix + uuid.uuid4().hex[:10]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/elicense.db"
        return
    with pg_database() as url:
        yield url
