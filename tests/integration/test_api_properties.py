"""Property-based API tests with schemathesis against openapi.yaml, every route, on the real app:
no 5xx, every response conforms to the spec (status, content type, body schema), and every error
is problem+json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from license_service.config import REPO_ROOT


def errors_are_problem_json(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code >= 400:
        ctype = response.headers.get("content-type", [""])
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        # The one exception: RFC 6749 s.5.2 has the token endpoint answer its OAuth errors (400, and 401
        # invalid_client) as application/json {"error", "error_description"}, the form every OAuth
        # client library parses; openapi.yaml documents them as that route's default response.
        if case.path == "/oauth/token" and response.status_code in (400, 401):
            assert ctype == "application/json" and "error" in response.json(), response.text
            return None
        assert ctype.startswith("application/problem+json"), f"{response.status_code} answered with {ctype}"
    return None


# the OCSP responder's body is DER: arbitrary bytes (it must answer malformedRequest, never a 5xx)
schemathesis.openapi.media_type("application/ocsp-request", st.binary(max_size=512))

CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance, openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance, errors_are_problem_json]


def test_every_route_conforms_to_openapi_yaml(app: FastAPI, client_for: Callable[[str], TestClient]) -> None:
    schema = schemathesis.openapi.from_path(REPO_ROOT / "openapi.yaml")
    schema.app = app
    auth = {"Authorization": client_for("registrations:write licenses:read verify audit holders:invite")
            .headers["Authorization"]}
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            case.call_and_validate(headers={**auth, **(case.headers or {})}, checks=CHECKS)

        run()
