"""`elicense serve --port P` in development: the public base URL (what QR codes, links and the
banner say) follows the host and port actually served, unless ELICENSE_PUBLIC_BASE_URL is set."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import entity, event

from .conftest import ELICENSE, _free_port


def test_the_public_base_url_follows_the_port_served(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ELICENSE_PUBLIC_BASE_URL"}
    env.update({"ELICENSE_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", "ELICENSE_KEYS_DIR": str(tmp_path / "keys"),
                "ELICENSE_ENV": "development"})
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([ELICENSE, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        banner = (tmp_path / "server.log").read_text()
        assert f"public base URL {base}" in banner and ":8000" not in banner
        creds = subprocess.run([ELICENSE, "clients", "create", "--name", "t", "--scopes", "registrations:write",
                                "--json"], env=env, cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout
        c = json.loads(creds)
        tok = httpx.post(base + "/oauth/token", data={"grant_type": "client_credentials", "client_id": c["client_id"],
                                                      "client_secret": c["client_secret"]}).json()["access_token"]
        lic = httpx.post(base + "/api/v1/registrations", json=event("establishment", entity()),
                         headers={"Authorization": f"Bearer {tok}"}, timeout=60).json()["license"]
        assert lic["verify_url"].startswith(f"{base}/v/") and lic["pdf_url"].startswith(base)
    finally:
        proc.terminate()
        proc.wait(15)
