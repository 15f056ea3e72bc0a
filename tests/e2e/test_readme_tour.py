"""The README's tour, run exactly as written (its shell blocks, taken from README.md) against a real
`elicense serve`, twice: so it cannot drift from what the service does, and it can be run again."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from license_service.config import REPO_ROOT

from .conftest import Server


def tour_blocks() -> list[str]:
    """The ```sh blocks of the README's tour section, in order."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## A five-minute tour"):readme.index("`elicense audit` pins the log key")]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def tour_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder laid out like the repository root after `scripts/serve.sh`: the demo client
    in var/demo-client.json and .venv/bin/elicense."""
    home = tmp_path_factory.mktemp("tour")
    (home / ".venv").symlink_to(REPO_ROOT / ".venv")
    (home / "var").mkdir()
    return home


def test_the_tour_runs_as_written_and_again(tour_home: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = Server(tmp_path_factory.mktemp("tour-server"))
    server.home.mkdir(exist_ok=True)
    server.start()
    try:
        client = server.cli("clients", "create", "--name", "demo", "--scopes",
                            "registrations:write licenses:read verify audit holders:invite", "--json")
        (tour_home / "var" / "demo-client.json").write_text(client)
        script = "set -euo pipefail\n" + "\n".join(tour_blocks())
        env = {**os.environ, "BASE": server.base, "PATH": f"{REPO_ROOT / '.venv/bin'}:{os.environ['PATH']}"}
        for run in (1, 2):
            r = subprocess.run(["bash", "-c", script], cwd=tour_home, env=env, capture_output=True, text=True,
                               timeout=300)
            out = r.stdout + r.stderr
            assert r.returncode == 0, f"run {run}:\n{out}"
            assert '"license_id"' in out and "Signature is Valid" in out and "Total document signed" in out
            assert "Certificate is Trusted" in out
            assert out.count('"verdict": "valid"') >= 1 and '"verdict":"valid"' in out  # the page's JSON, the API
            assert '"rule":"uscc.check_character"' in out  # the bad input, named
            assert '"invitation_url": "http://localhost:' in out  # the holder's invitation, on the passkeys' host
            assert "audit passed" in out, f"run {run}:\n{out}"
    finally:
        server.stop()
