"""Verification over HTTP through the real app (SQLite and PostgreSQL): verdicts through every
channel across the lifecycle, the adversarial corpus, the token corpus, records, limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from devapp import create_app as create_combined_app
from license_service.config import Settings
from license_service.runtime.issuing import IssuingRuntime
from signing.keys.files import TokenSigningKey, ensure_dev_keys
from signing.tokens import sign_claims
from tests.adversarial.attacks import build_corpus
from tests.conftest import entity, event

Client = Callable[[str], TestClient]


@pytest.fixture
def verifier(client_for: Client) -> TestClient:
    return client_for("verify")


def _issue(registrar: TestClient, ent: dict[str, Any], kind: str = "establishment", **over: Any) -> dict[str, Any]:
    r = registrar.post("/api/v1/registrations", json=event(kind, ent, **over))
    assert r.status_code in (200, 201), r.text
    return r.json()


def _pdf(registrar: TestClient, lic: dict[str, Any]) -> bytes:
    return registrar.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content


def _all_channels(anon: TestClient, verifier: TestClient, lic: dict[str, Any], pdf: bytes) -> list[dict[str, Any]]:
    reports = [
        verifier.post("/api/v1/verify/token", json={"token": lic["token"]}),
        verifier.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")}),
        anon.get(f"/v/{lic['token']}", headers={"Accept": "application/json"}),
    ]
    for r in reports:
        assert r.status_code == 200, r.text
    return [r.json() for r in reports]


def test_lifecycle_verdicts_through_every_channel(anon: TestClient, registrar: TestClient,
                                                 verifier: TestClient) -> None:
    ent = entity()
    v1 = _issue(registrar, ent)["license"]
    pdf1 = _pdf(registrar, v1)
    for rep in _all_channels(anon, verifier, v1, pdf1):
        assert rep["verdict"] == "valid" and rep["status"] == "current", rep
        assert all(c["ok"] for c in rep["checks"])
        assert rep["license"]["name"] == ent["name"] and rep["license"]["version"] == 1
    ent_report = verifier.get(f"/api/v1/verify/entity/{ent['uscc']}", params={"name": ent["name"]}).json()
    assert ent_report["verdict"] == "valid" and ent_report["license"]["license_id"] == v1["license_id"]

    # change (变更): the old version is genuine but superseded, and names its successor
    v2 = _issue(registrar, {**ent, "address": "吉首市人民路2号"}, "change",
                decided_at="2019-03-01T10:00:00+08:00", reason="变更住所")["license"]
    for rep in _all_channels(anon, verifier, v1, pdf1):
        assert rep["verdict"] == "not_in_force" and rep["status"] == "superseded", rep
        assert rep["license"]["superseded_by"] == v2["license_id"]  # a string, as in the LICENSE object
        assert rep["license"]["successor"]["version"] == 2
        assert rep["license"]["successor"]["license_id"] == v2["license_id"]
        assert rep["license"]["status_changed_at"].startswith("2019-03-01")
        assert rep["license"]["current"]["license_id"] == v2["license_id"]
    for rep in _all_channels(anon, verifier, v2, _pdf(registrar, v2)):
        assert rep["verdict"] == "valid"
    ent_report = verifier.get(f"/api/v1/verify/entity/{ent['uscc']}").json()
    assert ent_report["license"]["license_id"] == v2["license_id"]

    # revocation (吊销): not in force, with date and reason
    _issue(registrar, {"uscc": ent["uscc"]}, "revocation", decided_at="2020-01-02T10:00:00+08:00",
           reason="未按规定公示年度报告")
    for rep in _all_channels(anon, verifier, v2, _pdf(registrar, v2)):
        assert rep["verdict"] == "not_in_force" and rep["status"] == "revoked"
        assert rep["license"]["status_changed_at"].startswith("2020-01-02")
        assert rep["license"]["status_reason"] == "未按规定公示年度报告"
    assert verifier.get(f"/api/v1/verify/entity/{ent['uscc']}").json()["verdict"] == "not_in_force"


def _status_check(rep: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in rep["checks"] if c["name"] == "registry_status")


def test_a_license_no_longer_in_force_fails_its_status_check_yet_is_genuine(
        anon: TestClient, registrar: TestClient, verifier: TestClient) -> None:
    """``ok`` means the check passed: a superseded or revoked license's registry_status check is
    ``ok: false`` with ``registry.superseded``/``registry.revoked`` and a detail saying when and by
    which version, while the verdict stays not_in_force (genuine), the license shown; every other
    check passed. The entity check of a revoked entity likewise."""
    ent = entity()
    v1 = _issue(registrar, ent)["license"]
    pdf1 = _pdf(registrar, v1)
    for rep in _all_channels(anon, verifier, v1, pdf1):
        assert _status_check(rep)["ok"] is True and _status_check(rep)["reason"] == "registry.current", rep
    v2 = _issue(registrar, {**ent, "address": "吉首市人民路2号"}, "change",
                decided_at="2019-03-01T10:00:00+08:00")["license"]
    for rep in _all_channels(anon, verifier, v1, pdf1):
        assert (rep["verdict"], rep["status"]) == ("not_in_force", "superseded"), rep
        status = _status_check(rep)
        assert (status["ok"], status["reason"]) == (False, "registry.superseded"), status
        assert "2019-03-01T02:00:00+00:00" in status["detail"] and "by version 2" in status["detail"], status
        assert v2["license_id"] in status["detail"]
        assert all(c["ok"] for c in rep["checks"] if c["name"] != "registry_status"), rep
        assert rep["license"]["license_id"] == v1["license_id"]
    _issue(registrar, {"uscc": ent["uscc"]}, "revocation", decided_at="2020-01-02T10:00:00+08:00", reason="吊销")
    for rep in _all_channels(anon, verifier, v2, _pdf(registrar, v2)):
        assert (rep["verdict"], rep["status"]) == ("not_in_force", "revoked"), rep
        status = _status_check(rep)
        assert (status["ok"], status["reason"]) == (False, "registry.revoked"), status
        assert "revoked" in status["detail"] and "2020-01-02T02:00:00+00:00" in status["detail"], status
    by_entity = verifier.get(f"/api/v1/verify/entity/{ent['uscc']}").json()
    assert by_entity["verdict"] == "not_in_force" and by_entity["license"]["license_id"] == v2["license_id"]
    assert _status_check(by_entity) == {"name": "registry_status", "ok": False, "reason": "entity.revoked",
                                        "detail": "registered, but its license was revoked (吊销) at "
                                                  "2020-01-02T02:00:00+00:00"}


def test_the_page_words_a_status_no_longer_in_force_as_genuine_not_failed(
        anon: TestClient, registrar: TestClient) -> None:
    """The public page says what each check's outcome means: a superseded license's status check reads
    "genuine, but not in force" (真实，但已失效), never "failed" (未通过) as a forgery would."""
    ent = entity()
    v1 = _issue(registrar, ent)["license"]
    _issue(registrar, {**ent, "address": "吉首市人民路2号"}, "change", decided_at="2019-03-01T10:00:00+08:00")
    zh, en = anon.get(f"/v/{v1['token']}").text, anon.get(f"/v/{v1['token']}", params={"lang": "en"}).text
    assert '<li data-effect="not_in_force"><span aria-hidden="true">!</span> 登记簿中的状态：真实，但已失效</li>' in zh
    assert "未通过" not in zh and "✕" not in zh
    assert ('<li data-effect="not_in_force"><span aria-hidden="true">!</span> Status in the registry: genuine, '
            'but not in force</li>') in en
    assert "failed" not in en
    forged = anon.get(f"/v/{v1['token'][:-4]}AAAA").text
    assert "二维码签名完整：未通过" in forged and 'data-effect="invalid"' in forged


def test_cancelled_license(anon: TestClient, registrar: TestClient, verifier: TestClient) -> None:
    ent = entity("cooperative", name="湘西茶叶专业合作社")
    lic = _issue(registrar, ent)["license"]
    _issue(registrar, {"uscc": ent["uscc"]}, "cancellation", decided_at="2021-06-01T09:00:00+08:00", reason="决议解散")
    for rep in _all_channels(anon, verifier, lic, _pdf(registrar, lic)):
        assert rep["verdict"] == "not_in_force" and rep["status"] == "cancelled"
        assert rep["license"]["status_reason"] == "决议解散"


def test_entity_checks(verifier: TestClient, registrar: TestClient) -> None:
    ent = entity()
    _issue(registrar, ent)
    r = verifier.get(f"/api/v1/verify/entity/{ent['uscc']}", params={"name": "别的公司"}).json()
    assert r["verdict"] == "invalid" and {"name": "name", "ok": False, "reason": "entity.name_mismatch",
                                          "detail": "not the entity's name, now or before"} in r["checks"]
    unknown = verifier.get("/api/v1/verify/entity/91433101MA4L1A2B9M").json()
    assert unknown["verdict"] == "invalid" and unknown["checks"][0]["reason"] == "entity.unknown"
    bad = verifier.get("/api/v1/verify/entity/91433101MA4L1A2B9N")
    assert bad.status_code == 422 and bad.json()["errors"][0]["rule"] == "uscc.check_character"


def test_a_former_name_is_named_as_one(verifier: TestClient, registrar: TestClient) -> None:
    """A company that changed its name: its former name (曾用名) is not a forgery; the check says it
    was the name until the change was registered, and what the name is now."""
    ent = entity(name="吉首市旧名科技有限公司")
    _issue(registrar, ent)
    _issue(registrar, {**ent, "name": "湘西新名科技有限公司"}, "change", decided_at="2019-03-01T10:00:00+08:00")
    _issue(registrar, {**ent, "name": "湘西新名科技有限公司", "address": "吉首市人民路3号"}, "change",
           decided_at="2019-04-01T10:00:00+08:00")
    r = verifier.get(f"/api/v1/verify/entity/{ent['uscc']}", params={"name": "吉首市旧名科技有限公司"}).json()
    name = next(c for c in r["checks"] if c["name"] == "name")
    assert name == {"name": "name", "ok": False, "reason": "entity.former_name",
                    "detail": "a former name of this entity, until 2019-03-01; its name now is 湘西新名科技有限公司"}
    # genuine, but no longer its name: not in force, not a forgery
    assert r["verdict"] == "not_in_force" and r["license"]["name"] == "湘西新名科技有限公司"
    now = verifier.get(f"/api/v1/verify/entity/{ent['uscc']}", params={"name": "湘西新名科技有限公司"}).json()
    assert now["verdict"] == "valid"


def test_verifications_are_recorded(registrar: TestClient, verifier: TestClient, client_for: Client) -> None:
    """Who checked an entity: an auditor sees every check; a platform only its own (which platforms
    look at an entity is the entity's business, not another platform's)."""
    ent = entity()
    lic = _issue(registrar, ent)["license"]
    platform, other = client_for("verify licenses:read"), client_for("licenses:read verify")
    verifier.post("/api/v1/verify/token", json={"token": lic["token"]})
    verifier.get(f"/api/v1/verify/entity/{ent['uscc']}")
    platform.post("/api/v1/verify/token", json={"token": lic["token"]})
    got = client_for("audit licenses:read").get(f"/api/v1/entities/{ent['uscc']}/verifications").json()
    assert [(v["channel"], v["verdict"]) for v in got["verifications"]] == [
        ("token", "valid"), ("entity", "valid"), ("token", "valid")]
    assert got["verifications"][0]["client_name"] == "test" and got["verifications"][0]["checked_at"]
    own = platform.get(f"/api/v1/entities/{ent['uscc']}/verifications").json()["verifications"]
    assert [(v["channel"], v["client_id"]) for v in own] == [("token", got["verifications"][0]["client_id"])]
    assert other.get(f"/api/v1/entities/{ent['uscc']}/verifications").json()["verifications"] == []
    assert registrar.get(f"/api/v1/entities/{ent['uscc']}/verifications").json()["verifications"] == []
    assert verifier.get(f"/api/v1/entities/{ent['uscc']}/verifications").status_code == 403


def test_upload_limits(verifier: TestClient) -> None:
    r = verifier.post("/api/v1/verify/pdf", files={"file": ("x.pdf", b"%PDF-" + b"0" * (3 << 20), "application/pdf")})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
    r = verifier.post("/api/v1/verify/pdf", files={"file": ("x.txt", b"hello", "text/plain")})
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "file", "rule": "pdf.not_pdf", "detail": "the file is not a PDF (no %PDF- header)"}
    assert verifier.post("/api/v1/verify/pdf").status_code == 422


def test_scope_required(client_for: Client, anon: TestClient) -> None:
    assert anon.post("/api/v1/verify/token", json={"token": "x"}).status_code == 401
    assert client_for("licenses:read").post("/api/v1/verify/token", json={"token": "x"}).status_code == 403


# -- the adversarial corpus ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, client_for: Client) -> list[Any]:
    registrar = client_for("registrations:write licenses:read")
    ent = entity(name="湘西峒河生态农业科技有限公司")
    genuine = _pdf(registrar, _issue(registrar, ent)["license"])
    other = _pdf(registrar, _issue(registrar, entity(name="湘西另一家科技有限公司"))["license"])
    # the same layout and token format, from a CA and token key that are not ours, on another registry
    home = tmp_path_factory.mktemp("foreign")
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    foreign_runtime = IssuingRuntime.build(Settings(database_url=f"sqlite:///{home}/f.db", keys_dir=home / "keys"))
    foreign_app = TestClient(create_combined_app(foreign_runtime.settings, foreign_runtime))
    from license_service.oauth import create_client

    cid, secret = create_client(foreign_runtime.sessions, "f", ["registrations:write", "licenses:read"],
                                at=datetime.now(UTC))
    tok = foreign_app.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                 "client_secret": secret}).json()["access_token"]
    foreign_app.headers["Authorization"] = f"Bearer {tok}"
    flic = foreign_app.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    foreign = foreign_app.get(f"/api/v1/licenses/{flic['license_id']}/pdf").content
    return build_corpus(tmp_path_factory.mktemp("corpus"), genuine, other, foreign)


def test_corpus_attack(corpus: list[Any], verifier: TestClient) -> None:
    seen = []
    for path, attack in corpus:
        r = verifier.post("/api/v1/verify/pdf", files={"file": (path.name, path.read_bytes(), "application/pdf")})
        assert r.status_code == attack.status, (path.name, r.text)
        body = r.json()
        if attack.verdict is None:
            assert {e["rule"] for e in body["errors"]} & attack.reasons, (path.name, body)
        else:
            assert body["verdict"] == attack.verdict, (path.name, body)
            assert body["pdf_validation"] == "full", path.name  # no attack is byte for byte an issued PDF
            assert body["license"] is None and body["status"] is None
            failed = {c["reason"] for c in body["checks"] if not c["ok"]}
            assert failed & attack.reasons, (path.name, failed)
            assert all(c["detail"] for c in body["checks"] if not c["ok"]), (path.name, body)
        seen.append(path.name)
    assert len(seen) == 15


# -- the token corpus -------------------------------------------------------------------------------
def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def token_corpus(client_for: Client, keys_dir: Path) -> dict[str, tuple[str, str]]:
    registrar = client_for("registrations:write licenses:read")
    lic = _issue(registrar, entity())["license"]
    genuine = lic["token"]
    h, p, s = genuine.split(".")
    header = json.loads(base64.urlsafe_b64decode(h + "=="))
    claims = json.loads(base64.urlsafe_b64decode(p + "=="))
    key = TokenSigningKey.from_pem((keys_dir / "token.key").read_text())
    pub = serialization.load_pem_private_key(key.private_pem.encode(), None).public_key()
    forms = {
        "pem": pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "ssh": pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
    }

    def hs256(secret: bytes) -> str:
        hh = _b64(json.dumps({**header, "alg": "HS256"}).encode())
        return f"{hh}.{p}.{_b64(hmac.new(secret, f'{hh}.{p}'.encode(), hashlib.sha256).digest())}"

    now = int(datetime.now(UTC).timestamp())
    changed = base64.urlsafe_b64decode(p + "==").replace(b'"ver":1', b'"ver":2')
    out = {
        "alg_none": (f"{_b64(json.dumps({**header, 'alg': 'none'}).encode())}.{p}.", "token.alg"),
        **{f"hs256_keyed_with_public_key_{k}": (hs256(v), "token.alg") for k, v in forms.items()},
        "unknown_kid": (f"{_b64(json.dumps({**header, 'kid': 'x' * 43}).encode())}.{p}.{s}", "token.unknown_kid"),
        "expired": (sign_claims({**claims, "exp": now - 60}, key), "token.expired"),
        "not_yet_valid": (sign_claims({**claims, "nbf": now + timedelta(days=1).total_seconds().__int__()}, key),
                          "token.not_yet_valid"),
        "oversized": (sign_claims({**claims, "pad": "x" * 4000}, key), "token.oversized"),
        "one_payload_character_changed": (f"{h}.{_b64(changed)}.{s}", "token.signature"),
        "our_key_but_claims_disagree_with_registry": (sign_claims({**claims, "rep": "冒名"}, key),
                                                      "claims.registry_mismatch"),
    }
    return out


def test_token_corpus(token_corpus: dict[str, tuple[str, str]], verifier: TestClient, anon: TestClient) -> None:
    details: dict[str, str] = {}
    for name, (token, reason) in token_corpus.items():
        for r in (verifier.post("/api/v1/verify/token", json={"token": token}),
                  anon.get(f"/v/{token}", headers={"Accept": "application/json"})):
            assert r.status_code == 200, (name, r.status_code, r.text)
            body = r.json()
            assert body["verdict"] == "invalid", (name, body)
            assert reason in {c["reason"] for c in body["checks"] if not c["ok"]}, (name, body)
            assert all(c["detail"] for c in body["checks"] if not c["ok"]), (name, body)
            details[name] = next(c["detail"] for c in body["checks"] if c["reason"] == reason)
        page = anon.get(f"/v/{token}")
        assert page.status_code == 200 and 'class="banner invalid"' in page.text, name
    # each detail says what was found in this token
    assert 'alg "none"' in details["alg_none"] and 'alg "HS256"' in details["hs256_keyed_with_public_key_pem"]
    assert f'kid "{"x" * 43}"' in details["unknown_kid"]
    assert details["expired"].startswith("the token expired at 20")
    assert details["not_yet_valid"].startswith("the token is not valid before 20")
    assert details["oversized"].startswith("the token is ") and "over 2048" in details["oversized"]
    assert "with the key" in details["one_payload_character_changed"]
    assert details["our_key_but_claims_disagree_with_registry"].endswith('rep (token "冒名", registry "向喆")')


# -- limits -------------------------------------------------------------------------------------------
def test_rate_limits_answer_429_with_retry_after(runtime: IssuingRuntime, registrar: TestClient) -> None:
    settings = runtime.settings.model_copy(update={"rate_api_per_second": 0.01, "rate_api_burst": 2,
                                                    "rate_page_per_second": 0.01, "rate_page_burst": 3})
    app = create_combined_app(settings, runtime)
    from license_service.oauth import create_client

    cid, secret = create_client(runtime.sessions, "limited", ["verify"], at=datetime.now(UTC))
    c = TestClient(app)
    c.headers["Authorization"] = "Bearer " + c.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": cid, "client_secret": secret}).json()["access_token"]
    codes = [c.post("/api/v1/verify/token", json={"token": "a.b.c"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = c.post("/api/v1/verify/token", json={"token": "a.b.c"})
    assert r.headers["retry-after"].isdigit() and int(r.headers["retry-after"]) >= 1
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"] == "rate_limited"
    page = [c.get("/v/a.b.c").status_code for _ in range(4)]
    assert page == [200, 200, 200, 429]


def test_auditor_page(client_for: Client, anon: TestClient, registrar: TestClient) -> None:
    _issue(registrar, entity())
    page = client_for("audit").get("/audit")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and "Latest checkpoints" in page.text and "establishment" in page.text
    assert "<script" not in page.text
    assert anon.get("/audit").status_code == 401
    assert client_for("verify").get("/audit").status_code == 403


def test_a_report_answered_again_differs_only_in_its_time(app: Any, registrar: TestClient) -> None:
    """The verifier remembers a complete token report on the registry entry it came from; a second
    verification of the token is answered from it with its own time (the lifecycle test above shows
    that a change to the entity is never answered from it)."""
    lic = _issue(registrar, entity())["license"]
    service = app.state.verify.service
    at = datetime(2026, 1, 1, tzinfo=UTC)
    first = service.verify_token(lic["token"], at=at).as_json()
    again = service.verify_token(lic["token"], at=at + timedelta(hours=1)).as_json()
    assert first["verdict"] == again["verdict"] == "valid"
    assert (first["checked_at"], again["checked_at"]) == ("2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00")
    assert again["status_as_of"] == again["checked_at"]  # the registry as of this call
    assert {**first, "checked_at": None, "status_as_of": None} == {**again, "checked_at": None, "status_as_of": None}


def test_the_scanned_verify_url_is_accepted_as_the_token(verifier: TestClient, registrar: TestClient) -> None:
    """What a scanner gives is the whole URL in the QR code; a platform passes it on as it is."""
    lic = _issue(registrar, entity())["license"]
    for given in (lic["verify_url"], lic["verify_url"] + "?lang=en", "  " + lic["verify_url"] + "\n",
                  lic["verify_url"].replace("http://testserver", "https://elsewhere.example")):
        assert verifier.post("/api/v1/verify/token", json={"token": given}).json()["verdict"] == "valid", given
    forged = lic["verify_url"][:-4] + "AAAA"
    assert verifier.post("/api/v1/verify/token", json={"token": forged}).json()["verdict"] == "invalid"
