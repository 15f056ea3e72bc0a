"""Readiness and metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import entity, event


def test_readyz(anon: TestClient) -> None:
    r = anon.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    assert anon.get("/healthz").text == "ok"


def test_metrics_count_issuance_verifications_and_the_log(anon: TestClient, client_for: object) -> None:
    registrar = client_for("registrations:write licenses:read")  # type: ignore[operator]
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    client_for("verify").post("/api/v1/verify/token", json={"token": lic["token"]})  # type: ignore[operator]
    text = anon.get("/metrics").text
    assert 'elicense_licenses_issued_total{kind="establishment"}' in text
    assert 'elicense_issuance_seconds_bucket{kind="establishment",le="0.5"}' in text
    assert 'elicense_verifications_total{channel="token",verdict="valid"}' in text
    size = next(line for line in text.splitlines() if line.startswith("elicense_log_size "))
    assert float(size.split()[1]) >= 1


def test_request_ids_and_json_logs(anon: TestClient) -> None:
    import json
    import logging

    from license_service.web.observability import JsonFormatter

    r = anon.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = anon.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert len(r.headers["x-request-id"]) == 32  # refused and replaced
    assert anon.get("/nope").headers["x-request-id"]  # errors carry it too
    record = logging.makeLogRecord({"name": "elicense.access", "msg": "request", "levelname": "INFO",
                                    "status": 200, "path": "/healthz"})
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["status"] == 200 and line["path"] == "/healthz" and line["ts"]
