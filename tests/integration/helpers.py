"""Helpers the integration tests share: registry row counts, problem+json checks, applying a
registration body straight through the issuance service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from license_service.db.models import LicenseVersion, MarketEntity, RegistrationEvent
from license_service.intake import RegistrationIn, parse_registration
from license_service.runtime.issuing import IssuingRuntime


def row_counts(runtime: IssuingRuntime) -> tuple[int, int, int]:
    """Entities, license versions and registration events: what a refused request must not change."""
    with runtime.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (MarketEntity, LicenseVersion, RegistrationEvent))


def problem(r: Any, status: int) -> dict[str, Any]:
    """The RFC 9457 body of response ``r``, which must have ``status``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["code"] and body["title"] and body["type"]
    return dict(body)


def apply_body(runtime: IssuingRuntime, body: dict[str, Any]) -> None:
    """Apply a registration body (the API's JSON) through intake and the issuance service, now."""
    at = datetime.now(UTC)
    runtime.issuance.apply(parse_registration(RegistrationIn.model_validate(body), frozenset(), at=at), at=at)


def versions(runtime: IssuingRuntime, uscc: str) -> list[tuple[int, str]]:
    """(version, status) of each license version of ``uscc``, oldest first."""
    with runtime.sessions() as s:
        return [(v, st) for v, st in s.execute(select(LicenseVersion.version, LicenseVersion.status)
                                               .where(LicenseVersion.uscc == uscc).order_by(LicenseVersion.version))]
