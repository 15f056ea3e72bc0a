"""A real ``elicense serve`` process on SQLite with dev keys, as a user runs it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import pg_database

ELICENSE = str(Path(sys.executable).parent / "elicense")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``elicense serve`` in ``home``; ``app`` is all | issuing | verify; ``db`` and ``keys`` may be shared."""

    def __init__(self, home: Path, *, app: str = "all", db: Path | None = None, keys: Path | None = None,
                 env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.home = home
        self.app = app
        self.workers = workers
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "ELICENSE_DATABASE_URL": f"sqlite:///{db or home / 'elicense.db'}",
                    "ELICENSE_KEYS_DIR": str(keys or home / "keys"), "ELICENSE_PUBLIC_BASE_URL": self.base,
                    "ELICENSE_ENV": "development", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        r = subprocess.run([ELICENSE, *args], env=self.env, cwd=self.home, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def start(self) -> None:
        log = open(self.home / "server.log", "wb")
        self.proc = subprocess.Popen([ELICENSE, "serve", "--port", str(self.port), "--app", self.app,
                                      "--workers", str(self.workers)], env=self.env, cwd=self.home,
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc.poll() is None, (self.home / "server.log").read_text()
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("server did not come up")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)

    def client(self, scopes: str) -> httpx.Client:
        creds = json.loads(self.cli("clients", "create", "--name", "e2e", "--scopes", scopes, "--json"))
        tok = httpx.post(self.base + "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"]}).json()["access_token"]
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {tok}"}, timeout=60)


def require_tools() -> None:
    for tool in ("pdfsig", "pdftotext", "pdftoppm", "certutil"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: the README's test command installs poppler-utils and libnss3-tools")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per database, shared by the tests that only talk to it over HTTP: every such
    test runs against SQLite and against PostgreSQL."""
    require_tools()
    env = {"ELICENSE_RATE_PAGE_BURST": "1000"}
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            env["ELICENSE_DATABASE_URL"] = stack.enter_context(pg_database("elicense_e2e_"))
        s = Server(tmp_path_factory.mktemp(f"server-{request.param}"), env=env)
        s.start()
        stack.callback(s.stop)
        yield s
