"""The verification service on PostgreSQL under a role that can read the registry and insert only its
own verification records: it verifies everything and records verifications; the role can write
nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.conftest import entity, event, pg_database

from .conftest import Server


@pytest.fixture(scope="module")
def pg_split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, str]]:
    with pg_database("elicense_ro_") as admin_url:
        home = tmp_path_factory.mktemp("ro")
        issuing = Server(home / "issuing", app="issuing", keys=home / "keys",
                         env={"ELICENSE_DATABASE_URL": admin_url})
        issuing.home.mkdir()
        issuing.start()  # dev: migrates the schema, makes the keys
        role = "elicense_verify_" + uuid.uuid4().hex[:8]
        grants = issuing.cli("db", "verifier-grants", role)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {role} LOGIN")
            conn.execute(grants)
        ro_url = admin_url.replace("postgres@", f"{role}@", 1)
        verify = Server(home / "verify", app="verify", keys=home / "keys",
                        env={"ELICENSE_DATABASE_URL": ro_url})
        verify.home.mkdir()
        verify.start()
        try:
            yield issuing, verify, ro_url
        finally:
            verify.stop()
            issuing.stop()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"REASSIGN OWNED BY {role} TO postgres")
                conn.execute(f"DROP OWNED BY {role}")
            with psycopg.connect(admin_url.rsplit("/", 1)[0] + "/test", autocommit=True) as conn:
                conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_verifier_works_with_no_write_privilege(pg_split: tuple[Server, Server, str]) -> None:
    issuing, verify, ro_url = pg_split
    reg = issuing.client("registrations:write licenses:read")
    ent = entity()
    lic = reg.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    pdf = reg.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content
    v = httpx.Client(base_url=verify.base, headers=issuing.client("verify").headers, timeout=30)
    assert httpx.get(f"{verify.base}/readyz").json() == {"status": "ready"}
    assert v.post("/api/v1/verify/token", json={"token": lic["token"]}).json()["verdict"] == "valid"
    assert v.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")}).json()["verdict"] == "valid"
    assert v.get(f"/api/v1/verify/entity/{ent['uscc']}").json()["verdict"] == "valid"
    assert httpx.get(f"{verify.base}/v/{lic['token']}").status_code == 200
    assert httpx.get(f"{verify.base}/log/checkpoint").status_code == 200
    verify.stop()  # a graceful stop writes the queued verification records
    auditor = issuing.client("audit licenses:read")
    seen = auditor.get(f"/api/v1/entities/{ent['uscc']}/verifications").json()["verifications"]
    assert {x["channel"] for x in seen} == {"token", "pdf", "entity"}
    # and the role really cannot write anything else
    with psycopg.connect(ro_url, autocommit=True) as conn:
        for statement in ("UPDATE market_entities SET status = 'cancelled'",
                          "DELETE FROM log_leaves", "INSERT INTO log_head (id, size, root) VALUES (2, 0, '')",
                          "CREATE TABLE x (a int)",
                          # nor read what it has no use for: secrets' hashes, stored PDFs, events
                          "SELECT secret_hash FROM api_clients", "SELECT * FROM api_clients",
                          "SELECT pdf FROM license_documents", "SELECT body_sha256 FROM registration_events"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
