from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devapp import create_app as create_combined_app
from license_service.config import Settings
from license_service.oauth import create_client
from license_service.runtime.issuing import IssuingRuntime

BASE = "http://testserver"


@pytest.fixture(scope="session")
def runtime(database_url: str, keys_dir: Path) -> IssuingRuntime:
    settings = Settings(database_url=database_url, keys_dir=keys_dir, public_base_url=BASE,
                        rate_api_per_second=1000, rate_api_burst=10_000, rate_page_per_second=1000,
                        rate_page_burst=10_000, verification_record_interval_ms=0)
    return IssuingRuntime.build(settings)


@pytest.fixture(scope="session")
def app(runtime: IssuingRuntime) -> FastAPI:
    return create_combined_app(runtime.settings, runtime)


@pytest.fixture(scope="session")
def anon(app: FastAPI) -> TestClient:
    return TestClient(app, base_url=BASE)


@pytest.fixture(scope="session")
def client_for(runtime: IssuingRuntime, app: FastAPI, anon: TestClient) -> Callable[[str], TestClient]:
    """A client over the real app holding an access token with exactly ``scopes`` (one per scope set)."""
    cache: dict[str, TestClient] = {}

    def make(scopes: str) -> TestClient:
        if scopes not in cache:
            cid, secret = create_client(runtime.sessions, "test", scopes.split(), at=datetime.now(UTC))
            r = anon.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                "client_secret": secret, "scope": scopes})
            assert r.status_code == 200, r.text
            cache[scopes] = TestClient(app, base_url=BASE,
                                       headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        return cache[scopes]

    return make


@pytest.fixture
def registrar(client_for: Callable[[str], TestClient]) -> TestClient:
    return client_for("registrations:write licenses:read")
