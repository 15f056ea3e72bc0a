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
        assert report["status"] == "superseded" and report["license"]["successor"]["version"] == 2
        new = reg.get(f"/api/v1/licenses/{report['license']['superseded_by']}").json()
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


def test_named_entities_that_cannot_be_reissued_are_refused_or_named(server: Server) -> None:
    """`--uscc` with a malformed code is refused (exit 2) naming it; an unregistered or deregistered
    entity is reported by name instead of a silent '0 entities ... of 0' and exit 0; campaigns are
    named by what they select, so another selection does not count the first one's work as done."""
    if server.env["ELICENSE_DATABASE_URL"].startswith("postgresql"):
        pytest.skip("the command's refusals come before any queue: SQLite shows them")
    reg = server.client("registrations:write licenses:read")
    good, gone = entity(), entity()
    for e in (good, gone):
        assert reg.post("/api/v1/registrations", json=event("establishment", e)).status_code == 201
    assert reg.post("/api/v1/registrations", json=event("cancellation", {"uscc": gone["uscc"]}, reason="决议解散",
                                                        decided_at="2019-01-01T10:00:00+08:00")).status_code == 200
    bad = _reissue(server, "--uscc", "91433101MA4L1A2B9N")  # wrong check character
    assert bad.returncode == 2 and "--uscc 91433101MA4L1A2B9N" in bad.stderr
    unknown = "91433101MA4L1A2B9M"
    none = _reissue(server, "--uscc", unknown, "--uscc", gone["uscc"])
    assert none.returncode == 1, none.stdout + none.stderr
    assert f"{unknown}: not re-issued: not registered" in none.stderr
    assert f"{gone['uscc']}: not re-issued: not in good standing (cancelled)" in none.stderr
    some = _reissue(server, "--uscc", good["uscc"], "--uscc", gone["uscc"])
    assert some.returncode == 0, some.stdout + some.stderr
    assert "issued 1, skipped 0, failed 0, of 1" in some.stdout and gone["uscc"] in some.stderr
    everything = _reissue(server, "--all")
    later = _reissue(server, "--since", "2099-01-01")
    assert "-all: " in everything.stdout and "already done" in everything.stdout
    assert "-since-2099-01-01: 0 entities, 0 already done, 0 to re-issue" in later.stdout
