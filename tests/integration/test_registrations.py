"""Intake over HTTP through the real app, on SQLite and PostgreSQL: issuance, idempotency,
conflicts, the lifecycle, and what every class of bad input gets (422 problem+json naming the
field; nothing written)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from license_service.db.models import LicenseVersion, LogLeaf
from license_service.domain.identifiers import LicenseId
from license_service.runtime.issuing import IssuingRuntime
from tests.conftest import entity, event
from tests.integration.helpers import problem as problem_of
from tests.integration.helpers import row_counts


def test_establishment_issues_version_1(registrar: TestClient) -> None:
    ev = event("establishment", entity())
    r = registrar.post("/api/v1/registrations", json=ev)
    assert r.status_code == 201, r.text
    lic = r.json()["license"]
    assert r.json()["event_id"] == ev["event_id"]
    assert lic["uscc"] == ev["entity"]["uscc"] and lic["version"] == 1 and lic["status"] == "current"
    assert len(lic["serial"]) == 20 and lic["serial"].startswith("433100")
    lid = LicenseId.parse(lic["license_id"])  # GB/T 36904 form with a valid MOD 37,36 check
    assert lid.serial == lic["serial"] and lid.version == 1
    # the QR code's URL carries the compact token (form 2), the API the full one (form 1)
    qr_token = lic["verify_url"].removeprefix("http://testserver/v/")
    payload = json.loads(base64.urlsafe_b64decode(qr_token.split(".")[1] + "=="))
    assert payload[:2] == [lic["uscc"], 1] and qr_token.split(".")[0] != lic["token"].split(".")[0]
    pdf = registrar.get(f"/api/v1/licenses/{lic['license_id']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    got = registrar.get(f"/api/v1/licenses/{lic['license_id']}").json()
    assert got == lic


def test_replay_converges_and_conflicting_replay_is_409(registrar: TestClient, runtime: IssuingRuntime) -> None:
    ev = event("establishment", entity())
    first = registrar.post("/api/v1/registrations", json=ev)
    assert first.status_code == 201
    before = row_counts(runtime)
    again = registrar.post("/api/v1/registrations", json=ev)
    assert again.status_code == 200 and again.json() == first.json()
    changed = copy.deepcopy(ev)
    changed["entity"]["address"] = "别的地址1号"
    body = problem_of(registrar.post("/api/v1/registrations", json=changed), 409)
    assert body["code"] == "event.conflict"
    assert row_counts(runtime) == before


def test_establishing_an_existing_uscc_is_409(registrar: TestClient, runtime: IssuingRuntime) -> None:
    ent = entity()
    assert registrar.post("/api/v1/registrations", json=event("establishment", ent)).status_code == 201
    before = row_counts(runtime)
    body = problem_of(registrar.post("/api/v1/registrations", json=event("establishment", ent)), 409)
    assert body["code"] == "entity.exists"
    assert row_counts(runtime) == before


def test_changing_an_unknown_uscc_is_409(registrar: TestClient) -> None:
    body = problem_of(registrar.post("/api/v1/registrations", json=event("change", entity())), 409)
    assert body["code"] == "entity.unknown"


def test_change_supersedes_and_lifecycle(registrar: TestClient) -> None:
    ent = entity()
    v1 = registrar.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    ent2 = {**ent, "address": "湖南省湘西土家族苗族自治州吉首市人民路1号"}
    r = registrar.post("/api/v1/registrations", json=event("change", ent2, decided_at="2018-07-02T09:30:00+08:00",
                                                            reason="变更住所"))
    assert r.status_code == 201, r.text
    v2 = r.json()["license"]
    assert v2["version"] == 2 and v2["serial"] != v1["serial"] and v2["uscc"] == v1["uscc"]
    old = registrar.get(f"/api/v1/licenses/{v1['license_id']}").json()
    assert old["status"] == "superseded" and old["superseded_by"] == v2["license_id"]
    assert old["status_changed_at"].startswith("2018-07-02T01:30")
    # revocation (吊销): the entity still exists, the license loses force at once
    r = registrar.post("/api/v1/registrations", json={
        "event_id": "REV-" + v2["license_id"][-8:] + ent["uscc"], "kind": "revocation",
        "decided_at": "2018-09-01T10:00:00+08:00", "authority": {"name": "湘西州市场监督管理局", "division_code": "433100"},
        "entity": {"uscc": ent["uscc"]}, "reason": "未按规定公示年度报告"})
    assert r.status_code == 200, r.text
    assert r.json()["entity"]["status"] == "revoked" and r.json()["license"]["status"] == "revoked"
    assert r.json()["license"]["status_reason"] == "未按规定公示年度报告"
    # a revoked entity cannot register a change
    body = problem_of(registrar.post("/api/v1/registrations", json=event("change", ent2)), 409)
    assert body["code"] == "entity.revoked"
    # cancellation (注销) of the revoked entity
    r = registrar.post("/api/v1/registrations", json=event("cancellation", {"uscc": ent["uscc"]}, reason="决议解散"))
    assert r.status_code == 200 and r.json()["entity"]["status"] == "cancelled"
    e = registrar.get(f"/api/v1/entities/{ent['uscc']}").json()
    assert e["status"] == "cancelled" and [lic["status"] for lic in e["licenses"]] == ["superseded", "revoked"]
    body = problem_of(registrar.post("/api/v1/registrations", json=event("cancellation", {"uscc": ent["uscc"]},
                                                                       reason="again")), 409)
    assert body["code"] == "entity.cancelled"


def test_cancellation_sets_cancelled(registrar: TestClient) -> None:
    ent = entity("individual_business", name=None)
    assert registrar.post("/api/v1/registrations", json=event("establishment", ent)).status_code == 201
    r = registrar.post("/api/v1/registrations", json=event("cancellation", {"uscc": ent["uscc"]}, reason="歇业"))
    assert r.status_code == 200
    assert r.json()["license"]["status"] == "cancelled" and r.json()["entity"]["status"] == "cancelled"


def _bad(**over: Any) -> dict[str, Any]:
    return event("establishment", entity(**over))


BAD_INPUTS = [
    # (what is wrong, body, field named, rule)
    ("check character", _bad(uscc="91433101MA4L1A2B9N"), "entity.uscc", "uscc.check_character"),
    ("letter I", _bad(uscc="91433101MA4I1A2B9M"), "entity.uscc", "uscc.alphabet"),
    ("17 characters", _bad(uscc="91433101MA4L1A2B9"), "entity.uscc", "uscc.length"),
    ("division not digits", _bad(uscc="9143310AMA4L1A2B9P"), "entity.uscc", "uscc.division"),
    ("organisation check", _bad(uscc="91433101MA4L1A2B59"), "entity.uscc", "uscc.organisation_check"),
    ("kind vs type code", _bad(uscc="92433123MA4L5E9F96"), "entity.uscc", "uscc.entity_kind"),
    ("unknown field", {**_bad(), "extra": 1}, "extra", "extra_forbidden"),
    ("unknown entity field", _bad(phone="13800000000"), "entity.phone", "extra_forbidden"),
    ("missing name", _bad(name=None), "entity.name", "required"),
    ("missing capital", _bad(registered_capital=None), "entity.registered_capital", "required"),
    ("capital not decimal", _bad(registered_capital={"amount": "1e2x", "unit": "万元", "currency": "CNY"}),
     "entity.registered_capital.amount", "decimal_parsing"),
    ("capital negative", _bad(registered_capital={"amount": "-5", "unit": "万元", "currency": "CNY"}),
     "entity.registered_capital.amount", "greater_than"),
    ("capital unit", _bad(registered_capital={"amount": "5", "unit": "元", "currency": "CNY"}),
     "entity.registered_capital.unit", "literal_error"),
    ("capital currency", _bad(registered_capital={"amount": "5", "unit": "万元", "currency": "XXX"}),
     "entity.registered_capital.currency", "capital.currency"),
    ("bad date", _bad(established_on="2018-02-30"), "entity.established_on", "date_from_datetime_parsing"),
    ("term before establishment", _bad(term={"from": "2017-01-01", "to": None}), "entity.term.from",
     "term.before_establishment"),
    ("term ends before start", _bad(term={"from": "2018-05-31", "to": "2018-01-01"}), "entity.term.to", "term.order"),
    ("scope too long", _bad(business_scope="农" * 2001), "entity.business_scope", "string_too_long"),
    ("term on a co-op", event("establishment", entity("cooperative", term={"from": "2018-05-31", "to": None})),
     "entity.term", "not_allowed"),
    ("capital on a branch", event("establishment", entity("branch", registered_capital={
        "amount": "5", "unit": "万元", "currency": "CNY"})), "entity.registered_capital", "not_allowed"),
    ("no composition", event("establishment", entity("individual_business", composition=None)),
     "entity.composition", "required"),
    ("naive decided_at", {**_bad(), "decided_at": "2018-05-31T10:00:00"}, "decided_at", "timezone_aware"),
    ("future decided_at", {**_bad(), "decided_at": "2199-01-01T00:00:00+08:00"}, "decided_at", "date.future"),
    ("bad kind", {**_bad(), "kind": "merger"}, "kind", "literal_error"),
    ("division code", {**_bad(), "authority": {"name": "x", "division_code": "4331"}}, "authority.division_code",
     "string_pattern_mismatch"),
    ("revocation without reason", event("revocation", {"uscc": "91433101MA4L1A2B9M"}), "reason", "required"),
    ("unrenderable character", _bad(name="湘西\U00013000科技有限公司"), "entity.name", "text.unrenderable"),
]


@pytest.mark.parametrize("what,body,field,rule", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_422_naming_field_and_nothing_written(registrar: TestClient, runtime: IssuingRuntime, what: str,
                                                           body: dict[str, Any], field: str, rule: str) -> None:
    before = row_counts(runtime)
    problem = problem_of(registrar.post("/api/v1/registrations", json=body), 422)
    assert {"field": field, "rule": rule} in [{"field": e["field"], "rule": e["rule"]} for e in problem["errors"]], \
        problem
    assert row_counts(runtime) == before


def test_malformed_json_is_422(registrar: TestClient) -> None:
    r = registrar.post("/api/v1/registrations", content=b"{not json", headers={"content-type": "application/json"})
    problem_of(r, 422)


def test_oversized_body_is_413(registrar: TestClient) -> None:
    problem_of(registrar.post("/api/v1/registrations", content=b"{" + b" " * 300_000 + b"}",
                            headers={"content-type": "application/json"}), 413)


def test_auth_401_without_token_403_without_scope(anon: TestClient, client_for: Any) -> None:
    body = problem_of(anon.post("/api/v1/registrations", json=_bad()), 401)
    assert body["code"] == "auth.missing"
    bad = TestClient(anon.app, base_url=str(anon.base_url), headers={"Authorization": "Bearer x.y.z"})
    assert problem_of(bad.get("/api/v1/entities/91433101MA4L1A2B9M"), 401)["code"] == "auth.invalid_token"
    reader = client_for("licenses:read")
    assert problem_of(reader.post("/api/v1/registrations", json=_bad()), 403)["code"] == "auth.scope"


def test_token_endpoint_errors(anon: TestClient) -> None:
    """The token endpoint answers errors in RFC 6749 s.5.2's form (test_oauth_endpoint.py has the rest)."""
    r = anon.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "nobody",
                                        "client_secret": "x"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = anon.post("/oauth/token", data={"grant_type": "password", "client_id": "a", "client_secret": "b"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_unknown_license_and_entity_are_404(registrar: TestClient) -> None:
    assert problem_of(registrar.get("/api/v1/licenses/nope"), 404)["code"] == "license.unknown"
    assert problem_of(registrar.get("/api/v1/entities/91433101MA4L1A2B9M"), 404)["code"] in ("entity.unknown",)


def test_public_keys(anon: TestClient) -> None:
    jwks = anon.get("/.well-known/jwks.json").json()
    assert jwks["keys"] and all(k["alg"] == "ES256" and "d" not in k for k in jwks["keys"])
    pem = anon.get("/trust/roots.pem")
    assert pem.status_code == 200 and b"BEGIN CERTIFICATE" in pem.content and b"PRIVATE" not in pem.content


def test_replacement_on_loss_issues_a_new_version_with_the_same_items(registrar: TestClient,
                                                                       runtime: IssuingRuntime) -> None:
    """补发: a new serial and version with unchanged registered items, the old version superseded with
    the reason, logged as its own action; refused for a revoked or unknown entity, and without a reason."""
    ent = entity()
    v1 = registrar.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    r = registrar.post("/api/v1/registrations", json=event(
        "replacement", {"uscc": ent["uscc"]}, decided_at="2019-04-01T09:00:00+08:00", reason="遗失补发"))
    assert r.status_code == 201, r.text
    v2 = r.json()["license"]
    assert v2["version"] == 2 and v2["serial"] != v1["serial"] and v2["status"] == "current"
    old = registrar.get(f"/api/v1/licenses/{v1['license_id']}").json()
    assert old["status"] == "superseded" and old["superseded_by"] == v2["license_id"]
    assert old["status_reason"] == "遗失补发"
    with runtime.sessions() as s:
        records = {lv.version: json.loads(lv.record) for lv in s.scalars(
            select(LicenseVersion).where(LicenseVersion.uscc == ent["uscc"]))}
        leaf = json.loads(s.get(LogLeaf, s.get(LicenseVersion, v2["license_id"]).leaf_index).data)
    assert records[2]["entity"] == records[1]["entity"]  # the registered items, unchanged
    assert leaf["action"] == "replacement" and leaf["supersedes"] == v1["license_id"]

    bad = registrar.post("/api/v1/registrations", json=event("replacement", {"uscc": ent["uscc"]}))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    unknown = registrar.post("/api/v1/registrations", json=event("replacement", {"uscc": entity()["uscc"]},
                                                                reason="遗失补发"))
    assert unknown.status_code == 409 and unknown.json()["code"] == "entity.unknown"
    registrar.post("/api/v1/registrations", json=event("revocation", {"uscc": ent["uscc"]}, reason="吊销",
                                                       decided_at="2019-05-01T09:00:00+08:00"))
    revoked = registrar.post("/api/v1/registrations", json=event("replacement", {"uscc": ent["uscc"]},
                                                                reason="遗失补发"))
    assert revoked.status_code == 409 and revoked.json()["code"] == "entity.revoked"
