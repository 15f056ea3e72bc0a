"""Bulk re-issuance through the real command, on SQLite (in process) and on PostgreSQL (procrastinate
jobs, two queue workers): one new version per entity in good standing, same registered items, the
old versions superseded; a campaign run again changes nothing; one left half-done resumes; the
log still reconciles with the registry."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import entity, event, pg_database

from .conftest import ELICENSE, Server


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("reissue")
    if request.param == "sqlite":
        s = Server(home)
        s.start()
        yield s
        s.stop()
        return
    with pg_database("elicense_ri_") as url:
        s = Server(home, env={"ELICENSE_DATABASE_URL": url})
        s.start()
        yield s
        s.stop()


def _reissue(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ELICENSE, "reissue", *args], env=server.env, cwd=server.home, capture_output=True,
                          text=True, timeout=300)


def test_reissue_campaign(server: Server) -> None:
    reg = server.client("registrations:write licenses:read")
    ents = [entity() for _ in range(5)]
    lics = [reg.post("/api/v1/registrations", json=event("establishment", e)).json()["license"] for e in ents]
    r = reg.post("/api/v1/registrations", json=event("revocation", {"uscc": ents[4]["uscc"]}, reason="吊销",
                                                       decided_at="2019-01-01T10:00:00+08:00"))
    assert r.status_code == 200
    queue_only = server.env["ELICENSE_DATABASE_URL"].startswith("postgresql")
    if queue_only:  # queue the jobs only: nothing is issued yet, and it says how to go on
        half = _reissue(server, "--all", "--campaign", "k2", "--workers", "0")
        assert half.returncode == 0 and "queued 4 jobs" in half.stdout, half.stdout + half.stderr
        assert len(reg.get(f"/api/v1/entities/{ents[0]['uscc']}").json()["licenses"]) == 1
    # the queued jobs and those queued again now are run: each entity still gets one new version
    done = _reissue(server, "--all", "--campaign", "k2", "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "issued 4, skipped 0, failed 0, of 4" in done.stdout
    again = _reissue(server, "--all", "--campaign", "k2")
    assert again.returncode == 0 and "issued 0" in again.stdout and "4 already done" in again.stdout
    plat = server.client("verify")
    for e, old in zip(ents[:4], lics[:4], strict=True):
        history = reg.get(f"/api/v1/entities/{e['uscc']}").json()["licenses"]
        assert [v["version"] for v in history] == [1, 2], history  # exactly one new version, however run
        report = plat.post("/api/v1/verify/token", json={"token": old["token"]}).json()
        assert report["status"] == "superseded" and report["license"]["superseded_by"]["version"] == 2
        new = reg.get(f"/api/v1/licenses/{report['license']['superseded_by']['license_id']}").json()
        now = plat.post("/api/v1/verify/token", json={"token": new["token"]}).json()
        assert now["verdict"] == "valid" and now["license"]["name"] == e["name"]
        assert now["license"]["address"] == e["address"]
        pdf = reg.get(f"/api/v1/licenses/{new['license_id']}/pdf").content
        assert plat.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")}
                         ).json()["verdict"] == "valid"
    # the revoked entity was not re-issued
    assert len(reg.get(f"/api/v1/entities/{ents[4]['uscc']}").json()["licenses"]) == 1
    # the log names each re-issuance, and still reconciles with the registry
    creds = json.loads(server.cli("clients", "create", "--name", "a", "--scopes", "audit", "--json"))
    audit = subprocess.run([ELICENSE, "audit", "--base-url", server.base, "--state", str(Path(server.home) / "a.json"),
                            "--client-id", creds["client_id"], "--client-secret", creds["client_secret"]],
                           env=server.env, capture_output=True, text=True, timeout=120)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    size = int(httpx.get(server.base + "/log/checkpoint").text.split("\n")[1])
    leaves = httpx.get(server.base + "/log/entries", params={"start": 0, "end": size}).json()["entries"]
    actions = [json.loads(base64.b64decode(x["data"]))["action"] for x in leaves]
    assert actions.count("reissue") == 4


def test_reissue_refuses_bad_selections(server: Server) -> None:
    for args, message in ((["--all", "--uscc", "X"], "exactly one of"), ([], "exactly one of"),
                          (["--since", "yesterday"], "not a date")):
        r = _reissue(server, *args)
        assert r.returncode == 2 and message in r.stderr, r.stderr
