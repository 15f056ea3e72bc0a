"""The adversarial corpus and the token corpus against a real server process: every attack file gets
its verdict and reason code over HTTP, and none causes a 5xx."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.adversarial.attacks import build_corpus
from tests.adversarial.long_term_attacks import LONG_TERM_ATTACKS, build_long_term_corpus
from tests.adversarial.token_malleability import spellings
from tests.conftest import entity, event

from .conftest import Server


def test_corpus_over_http(server: Server, tmp_path_factory: pytest.TempPathFactory) -> None:
    reg = server.client("registrations:write licenses:read")
    plat = server.client("verify")
    ent = entity()
    genuine = reg.get(reg.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]["pdf_url"]
                      .split(server.base)[1]).content
    other_lic = reg.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    other = reg.get(f"/api/v1/licenses/{other_lic['license_id']}/pdf").content
    foreign_server = Server(tmp_path_factory.mktemp("foreign-server"))
    foreign_server.start()
    try:
        f = foreign_server.client("registrations:write licenses:read")
        flic = f.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
        foreign = f.get(f"/api/v1/licenses/{flic['license_id']}/pdf").content
    finally:
        foreign_server.stop()
    for path, attack in build_corpus(tmp_path_factory.mktemp("corpus"), genuine, other, foreign):
        r = plat.post("/api/v1/verify/pdf", files={"file": (path.name, path.read_bytes(), "application/pdf")})
        assert r.status_code == attack.status, (path.name, r.status_code, r.text[:300])
        body = r.json()
        if attack.verdict is None:
            assert {e["rule"] for e in body["errors"]} & attack.reasons, path.name
        else:
            assert body["verdict"] == attack.verdict and body["license"] is None, (path.name, body)
            assert {c["reason"] for c in body["checks"] if not c["ok"]} & attack.reasons, (path.name, body)
    # on the public page: our header and signature from another license, over a forged payload
    h, _, s = other_lic["token"].split(".")
    forged = f"{h}.{base64.urlsafe_b64encode(json.dumps({'uscc': ent['uscc']}).encode()).rstrip(b'=').decode()}.{s}"
    page = httpx.get(f"{server.base}/v/{forged}", headers={"Accept": "application/json"}).json()
    assert page["verdict"] == "invalid" and "token.signature" in {c["reason"] for c in page["checks"]}


def test_long_term_corpus_over_http(server: Server, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The long-term form's attacks (edits after the seal beyond validation data, trailing bytes)
    against the real server: each gets its verdict and reason; the controls stay valid."""
    reg = server.client("registrations:write licenses:read")
    plat = server.client("verify")
    lic = reg.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    issued = reg.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content
    long_term = reg.get(f"/api/v1/licenses/{lic['license_id']}/pdf", params={"form": "long-term"}).content
    corpus = build_long_term_corpus(tmp_path_factory.mktemp("long-term-corpus"), issued, long_term)
    assert len(corpus) == len(LONG_TERM_ATTACKS)
    for path, attack in corpus:
        r = plat.post("/api/v1/verify/pdf", files={"file": (path.name, path.read_bytes(), "application/pdf")})
        assert r.status_code == 200, (path.name, r.text[:300])
        body = r.json()
        failed = {c["reason"] for c in body["checks"] if not c["ok"]}
        assert body["verdict"] == attack.verdict, (path.name, failed)
        assert (failed & attack.reasons) if attack.reasons else not failed, (path.name, failed)


def test_token_spellings_over_http(server: Server) -> None:
    """Other spellings of a genuine license token and access token (high S, padding, loose bits)
    against the real server: invalid, and 401."""
    reg = server.client("registrations:write licenses:read")
    plat = server.client("verify")
    lic = reg.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    access = plat.headers["Authorization"].split(" ", 1)[1]
    for name, other in spellings(lic["token"]).items():
        assert plat.post("/api/v1/verify/token", json={"token": other}).json()["verdict"] == "invalid", name
    for name, other in spellings(access).items():
        r = plat.post("/api/v1/verify/token", json={"token": lic["token"]},
                      headers={"Authorization": f"Bearer {other}"})
        assert r.status_code == 401, (name, r.status_code)
