"""Migrations on SQLite and PostgreSQL: a fresh database upgraded to head has exactly the schema the
models declare, and a service refuses a schema that is not current (production, and the verifier)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from license_service.config import Settings
from license_service.db.engine import make_engine
from license_service.db.migrate import (
    _SCRIPTS,
    SchemaNotCurrent,
    current_revision,
    head_revision,
    include_object,
    upgrade,
)
from license_service.db.models import Base
from license_service.runtime.issuing import IssuingRuntime
from license_service.runtime.read import ReadRuntime
from tests.conftest import pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    with pg_database("elicense_m_") as url:
        yield url


def test_upgrade_gives_the_models_schema(empty_url: str) -> None:
    engine = make_engine(empty_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == current_revision(engine)
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}), Base.metadata)
    assert diff == [], diff
    upgrade(engine)  # idempotent


def test_postgresql_stores_the_pdfs_uncompressed_out_of_line() -> None:
    """0012: the signed PDFs are compressed already; pglz over each one only cost the server time."""
    with pg_database("elicense_m_") as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.connect() as conn:
            modes = conn.exec_driver_sql(
                "SELECT c.relname, a.attstorage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "WHERE a.attname = 'pdf' AND c.relname IN ('license_documents', 'long_term_forms') ORDER BY 1").all()
        engine.dispose()
    assert [tuple(m) for m in modes] == [("license_documents", "e"), ("long_term_forms", "e")]


def test_services_refuse_a_schema_that_is_not_current(empty_url: str, keys_dir: Path) -> None:
    with pytest.raises(SchemaNotCurrent, match="run `elicense db upgrade`"):
        ReadRuntime.build(Settings(database_url=empty_url, keys_dir=keys_dir))
    if empty_url.startswith("postgresql"):
        with pytest.raises(SchemaNotCurrent):
            IssuingRuntime.build(Settings(env="production", database_url=empty_url, keys_dir=keys_dir,
                                    cert_type_code="T1", issuer_code="I1"))


def test_cli_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    elicense = str(Path(sys.executable).parent / "elicense")
    r = subprocess.run([elicense, "db", "upgrade"], env={"ELICENSE_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"empty -> {head_revision()}" in r.stdout
    assert current_revision(make_engine(url)) == head_revision()


def test_the_head_is_the_one_alembic_finds() -> None:
    scripts = ScriptDirectory(str(_SCRIPTS))
    assert head_revision() == scripts.get_current_head()
    assert len(list(scripts.walk_revisions())) == len(list((_SCRIPTS / "versions").glob("*.py")))


def test_a_worker_on_a_current_schema_never_imports_alembic(tmp_path: Path, keys_dir: Path) -> None:
    """The check is two strings compared; Alembic and Mako would be 11 MB more in every worker."""
    url = f"sqlite:///{tmp_path}/current.db"
    upgrade(make_engine(url))
    worker = (
        "import sys\n"
        "from devapp import create_app\n"
        "from license_service.config import Settings\n"
        "from license_service.runtime.issuing import IssuingRuntime\n"
        f"settings = Settings(database_url={url!r}, keys_dir={str(keys_dir)!r})\n"
        "runtime = IssuingRuntime.build(settings)\n"
        "from fastapi.testclient import TestClient\n"
        "assert TestClient(create_app(settings, runtime)).get('/readyz').status_code == 200\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))\n"
    )
    r = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
