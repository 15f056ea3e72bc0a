"""`elicense archive` against a real server's registry: once the grace period has passed, the long-term
form is made, checked and stored, and from then on the API serves the stored form."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.conftest import entity, event

from .conftest import ELICENSE, Server


def test_the_archive_command_stores_the_long_term_form_served_afterwards(tmp_path: Path) -> None:
    server = Server(tmp_path / "home")
    server.home.mkdir()
    server.start()
    try:
        reg = server.client("registrations:write licenses:read")
        issued = time.monotonic()
        lic = reg.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
        run = [ELICENSE, "archive", "--grace-hours", "0.004", "--json"]  # 14.4 s
        early = subprocess.run(run, env=server.env, cwd=server.home, capture_output=True, text=True, timeout=120)
        assert early.returncode == 0 and json.loads(early.stdout)["archived"] == [], early.stderr
        time.sleep(max(0.0, issued + 16 - time.monotonic()))
        done = subprocess.run(run, env=server.env, cwd=server.home, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"archived": [lic["license_id"]], "renewed": [], "blocked": [],
                                           "failed": []}
        url = f"/api/v1/licenses/{lic['license_id']}/pdf?form=long-term"
        first, again = reg.get(url), reg.get(url)
        assert first.status_code == 200 and first.content == again.content  # the stored form, not a new one
        again_run = subprocess.run(run, env=server.env, cwd=server.home, capture_output=True, text=True, timeout=120)
        assert json.loads(again_run.stdout)["archived"] == []  # once
    finally:
        server.stop()
