from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import yaml
from fastapi.testclient import TestClient

from license_service.config import REPO_ROOT
from license_service.demo import DIVISIONS, demo_events, load_demo
from license_service.runtime.issuing import IssuingRuntime


def test_openapi_yaml_is_identical_to_what_the_app_serves(anon: TestClient) -> None:
    served = anon.get("/openapi.json").json()
    assert yaml.safe_load((REPO_ROOT / "openapi.yaml").read_text()) == served, \
        "openapi.yaml is stale: run `python -m devapp.openapi > openapi.yaml`"


def test_demo_workload_shape() -> None:
    events = list(demo_events())
    kinds = Counter(e["kind"] for e in events)
    assert kinds == {"establishment": 1164, "change": 362}
    est = [e for e in events if e["kind"] == "establishment"]
    assert {e["authority"]["division_code"] for e in est} == set(DIVISIONS)
    assert {e["entity"]["entity_kind"] for e in est} == {"company", "branch", "partnership", "sole_proprietorship",
                                                          "cooperative", "individual_business"}
    assert all("2018-01-01" < e["decided_at"] < "2018-06-01" for e in events)
    assert len({e["entity"]["uscc"] for e in est}) == 1164
    assert len({e["entity"]["name"] for e in est}) > 500  # varied, not one name repeated


def test_demo_twice_adds_nothing(runtime: IssuingRuntime) -> None:
    small = list(demo_events(establishments=6, changes=3, seed=7))
    clock = lambda: datetime.now(UTC)  # noqa: E731
    first = load_demo(runtime.issuance, small, clock=clock)
    assert sum(first.issued.values()) == 9 and first.already_applied == 0
    second = load_demo(runtime.issuance, small, clock=clock)
    assert sum(second.issued.values()) == 0 and second.already_applied == 9


def test_every_api_operation_declares_its_oauth2_scope(anon: TestClient) -> None:
    """A platform developer reads from the contract how to authenticate and which scope each call
    needs: OAuth 2.0 client credentials, and a security requirement on every /api/ operation."""
    served = anon.get("/openapi.json").json()
    flow = served["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == {"registrations:write", "licenses:read", "verify", "audit", "holders:invite"}
    for path, ops in served["paths"].items():
        for method, op in ops.items():
            needs = op.get("security")
            if path.startswith("/api/"):
                assert needs and set(needs[0]["oauth2"]) <= set(flow["scopes"]), (method, path)
            elif path in ("/v/{token}", "/oauth/token", "/healthz", "/.well-known/jwks.json"):
                assert needs is None, (method, path)
