"""The verification service as deployed: its own process, a keys folder with no private key in it,
the registry shared with the issuing service. It still verifies everything."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import entity, event
from tests.unit.test_structure import forbidden

from .conftest import Server


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, Path]]:
    home = tmp_path_factory.mktemp("split")
    issuing = Server(home / "issuing", app="issuing", db=home / "registry.db", keys=home / "keys")
    issuing.home.mkdir()
    issuing.start()  # generates the dev keys and the schema
    public_keys = home / "public-keys"
    public_keys.mkdir()
    for f in (home / "keys").iterdir():
        if f.suffix in (".pem", ".vkey") or f.name.endswith("jwks.json"):
            shutil.copy(f, public_keys / f.name)
    # every module the process imports is written to its log (python -X importtime)
    verify = Server(home / "verify", app="verify", db=home / "registry.db", keys=public_keys,
                    env={"PYTHONPROFILEIMPORTTIME": "1"})
    verify.home.mkdir()
    verify.start()
    yield issuing, verify, public_keys
    verify.stop()
    issuing.stop()


def test_verifier_without_private_keys_verifies_everything(split: tuple[Server, Server, Path]) -> None:
    issuing, verify, public_keys = split
    assert not [p for p in public_keys.iterdir() if p.suffix == ".key"]
    assert not any(b"PRIVATE KEY" in p.read_bytes() for p in public_keys.iterdir())
    reg = issuing.client("registrations:write licenses:read")
    ent = entity()
    lic = reg.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    pdf = reg.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content
    # an access token from the issuing service, checked by the verifier with the public key alone
    plat = issuing.client("verify")
    v = httpx.Client(base_url=verify.base, headers=plat.headers, timeout=30)
    assert v.post("/api/v1/verify/token", json={"token": lic["token"]}).json()["verdict"] == "valid"
    assert v.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")}).json()["verdict"] == "valid"
    assert v.get(f"/api/v1/verify/entity/{ent['uscc']}").json()["verdict"] == "valid"
    page = httpx.get(f"{verify.base}/v/{lic['token']}")
    assert page.status_code == 200 and 'class="banner valid"' in page.text
    assert httpx.get(f"{verify.base}/.well-known/jwks.json").json() == httpx.get(
        f"{issuing.base}/.well-known/jwks.json").json()
    # the issuance log is served by the verifier too, with the public key alone
    assert httpx.get(f"{verify.base}/log/key").text == (public_keys / "log.vkey").read_text()
    assert httpx.get(f"{verify.base}/log/checkpoint").text.split("\n")[1] == "1"
    report = v.post("/api/v1/verify/token", json={"token": lic["token"]}).json()
    assert report["log"]["leaf_index"] == 0 and report["log"]["tree_size"] == 1
    # the verifier serves no issuing route, and still holds no private key afterwards
    assert v.post("/api/v1/registrations", json={}).status_code == 404
    assert not [p for p in public_keys.iterdir() if p.suffix == ".key"]


def test_verifier_sees_a_change_made_by_another_process_at_once(split: tuple[Server, Server, Path]) -> None:
    """The verifier caches what it read of an entity until the issuance log names it again: a change
    committed by the issuing process is seen by the very next verification, with no delay."""
    issuing, verify, _ = split
    reg = issuing.client("registrations:write licenses:read")
    v = httpx.Client(base_url=verify.base, headers=issuing.client("verify").headers, timeout=30)
    ent, other = entity(), entity()
    lic = reg.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    other_lic = reg.post("/api/v1/registrations", json=event("establishment", other)).json()["license"]
    for _ in range(3):  # read, then answered from the cache
        assert v.post("/api/v1/verify/token", json={"token": lic["token"]}).json()["verdict"] == "valid"
        assert v.get(f"/api/v1/verify/entity/{ent['uscc']}").json()["verdict"] == "valid"
        assert v.post("/api/v1/verify/token", json={"token": other_lic["token"]}).json()["verdict"] == "valid"
    r = reg.post("/api/v1/registrations", json=event("revocation", {"uscc": ent["uscc"]},
                                                       decided_at="2020-01-02T10:00:00+08:00", reason="吊销"))
    assert r.status_code == 200, r.text
    token_report = v.post("/api/v1/verify/token", json={"token": lic["token"]}).json()
    assert (token_report["verdict"], token_report["status"]) == ("not_in_force", "revoked")
    assert v.get(f"/api/v1/verify/entity/{ent['uscc']}").json()["verdict"] == "not_in_force"
    assert 'class="banner not_in_force"' in httpx.get(f"{verify.base}/v/{lic['token']}").text
    # an unrelated entity is unaffected
    assert v.post("/api/v1/verify/token", json={"token": other_lic["token"]}).json()["verdict"] == "valid"
    # a change: the old token names the new version at once
    v2 = reg.post("/api/v1/registrations", json=event("change", {**other, "address": "吉首市人民路9号"},
                                                        decided_at="2019-03-01T10:00:00+08:00")).json()["license"]
    report = v.post("/api/v1/verify/token", json={"token": other_lic["token"]}).json()
    assert report["status"] == "superseded" and report["license"]["superseded_by"] == v2["license_id"]


def test_the_verifier_process_never_loads_what_can_sign(split: tuple[Server, Server, Path]) -> None:
    """The real ``elicense serve --app verify`` process, after it has verified a token, a PDF and an
    entity and served a page: not one module that can sign was imported (python -X importtime logs
    each import as ``import time: self | cumulative | name``)."""
    issuing, verify, _ = split
    reg = issuing.client("registrations:write licenses:read")
    lic = reg.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    pdf = reg.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content
    v = httpx.Client(base_url=verify.base, headers=issuing.client("verify").headers, timeout=30)
    assert v.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")}).json()["verdict"] == "valid"
    assert httpx.get(f"{verify.base}/v/{lic['token']}").status_code == 200
    lines = (verify.home / "server.log").read_text().splitlines()
    loaded = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:") and "|" in line}
    assert "verify_app.service" in loaded and "signing.pdf_validation" in loaded
    assert not forbidden(loaded), forbidden(loaded)
