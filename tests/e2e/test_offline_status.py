"""The offline status example (docs/offline_status.py) against a real server: a relying party
fetches the JWKS and the status lists once, then checks tokens of both forms (the API's, the QR
code's) with no network at all (the script
runs in a network namespace of its own, so a fetch would fail). A superseded version and a revoked
license read as not in force from a list fetched after the change; a list cached before it still
says in force, and says how old it is."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import entity, event

from .conftest import Server

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "offline_status.py"


def _offline(token: str, folder: Path) -> tuple[int, dict[str, Any]]:
    cmd = [sys.executable, str(EXAMPLE), token, str(folder / "jwks.json"), str(folder / "status-jwks.json"),
           str(folder / "revocation.jwt"),
           str(folder / "suspension.jwt")]
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"]).returncode == 0:
        cmd = ["unshare", "-rn", *cmd]  # no network inside: the check really is offline
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def _fetch(server: Server, claims_uri: str, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "jwks.json").write_text(httpx.get(server.base + "/.well-known/jwks.json").text)
    (folder / "status-jwks.json").write_text(httpx.get(server.base + "/status/jwks.json").text)
    rev = httpx.get(claims_uri)
    assert rev.status_code == 200 and rev.headers["content-type"] == "application/vc+jwt"
    (folder / "revocation.jwt").write_text(rev.text)
    (folder / "suspension.jwt").write_text(httpx.get(claims_uri.replace("/revocation/", "/suspension/")).text)


def test_offline_status_example(server: Server, tmp_path: Path) -> None:
    c = server.client("registrations:write licenses:read")
    a, b = entity(), entity()
    lic_a = c.post("/api/v1/registrations", json=event("establishment", a)).json()["license"]
    lic_b = c.post("/api/v1/registrations", json=event("establishment", b)).json()["license"]
    uri = json.loads(_payload(lic_a["token"]))["status"]["uri"]
    assert uri == json.loads(_payload(lic_b["token"]))["status"]["uri"] == server.base + "/status/revocation/0"

    before = tmp_path / "before"
    _fetch(server, uri, before)  # cached before any change
    code, out = _offline(lic_a["token"], before)
    assert code == 0 and out["in_force"] and out["uscc"] == a["uscc"] and out["status_age_seconds"] >= 0
    assert (out["form"], out["name"], out["serial"]) == (1, a["name"], lic_a["serial"])
    # the QR code's compact token (form 2), given as the whole URL a scanner reads: the same status,
    # without the names or the serial it does not carry
    code, qr = _offline(lic_a["verify_url"], before)
    assert code == 0 and qr["in_force"] and (qr["form"], qr["uscc"], qr["version"]) == (2, a["uscc"], 1)
    assert qr["name"] is None and qr["serial"] is None

    lic_a2 = c.post("/api/v1/registrations", json=event("change", {**a, "address": "吉首市人民路5号"},
                                                         decided_at="2019-01-02T10:00:00+08:00")).json()["license"]
    assert c.post("/api/v1/registrations", json=event("revocation", {"uscc": b["uscc"]}, reason="未年报")
                  ).status_code == 200
    after = tmp_path / "after"
    _fetch(server, uri, after)
    assert _offline(lic_a["token"], after)[1]["revoked_or_superseded"] is True  # superseded by version 2
    assert _offline(lic_b["token"], after)[1]["in_force"] is False  # revoked
    assert _offline(lic_a2["token"], after)[0] == 0  # the current version
    assert _offline(lic_a["verify_url"], after)[1]["revoked_or_superseded"] is True  # the same by the QR code
    assert _offline(lic_b["verify_url"], after)[1]["in_force"] is False
    assert _offline(lic_a2["verify_url"], after)[0] == 0
    # the list cached before the changes still says in force: its age is what the report gives
    code, stale = _offline(lic_b["token"], before)
    assert code == 0 and stale["status_as_of"] <= json.loads(_payload((after / "revocation.jwt").read_text())
                                                             )["validFrom"]


def _payload(compact: str) -> str:
    import base64

    part = compact.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


@pytest.mark.parametrize("path,status", [("/status/revocation/7", 404), ("/status/other/0", 422)])
def test_status_list_errors(server: Server, path: str, status: int) -> None:
    r = httpx.get(server.base + path)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
