"""The verdict (verify_app/report.py ``verdict_of``): a check failed outright makes it invalid, whatever
else holds; else a check that could not be decided, or no registry status, makes it indeterminate;
else the registry's status decides, and only ``current`` is valid."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verify_app.report import Check, Verdict, VerificationReport, verdict_of

OK = Check("signature", ok=True, reason="token.ok")
FORGED = Check("signature", ok=False, reason="token.signature")
UNDECIDED = Check("log", ok=False, reason="log.unavailable", indeterminate=True)
STATUSES = ["current", "superseded", "revoked", "cancelled"]


@pytest.mark.parametrize("status,verdict", [
    ("current", Verdict.VALID),
    ("superseded", Verdict.NOT_IN_FORCE),
    ("revoked", Verdict.NOT_IN_FORCE),
    ("cancelled", Verdict.NOT_IN_FORCE),
])
def test_when_every_check_holds_the_status_decides(status: str, verdict: Verdict) -> None:
    assert verdict_of([OK, Check("issuer_key", True, "key.known")], status) is verdict


@pytest.mark.parametrize("status", [*STATUSES, None])
def test_a_failed_check_makes_it_invalid_whatever_the_status(status: str | None) -> None:
    assert verdict_of([OK, FORGED], status) is Verdict.INVALID


@pytest.mark.parametrize("status", [*STATUSES, None])
def test_invalid_beats_indeterminate(status: str | None) -> None:
    assert verdict_of([UNDECIDED, FORGED], status) is Verdict.INVALID
    assert verdict_of([FORGED, UNDECIDED], status) is Verdict.INVALID


@pytest.mark.parametrize("status", STATUSES)
def test_an_undecided_check_makes_it_indeterminate_whatever_the_status(status: str) -> None:
    assert verdict_of([OK, UNDECIDED], status) is Verdict.INDETERMINATE


def test_no_registry_status_is_indeterminate() -> None:
    assert verdict_of([OK], None) is Verdict.INDETERMINATE


def test_an_undecidable_check_that_passed_counts_as_passed() -> None:
    """``indeterminate`` says what a failure of the check would mean; a check that holds holds."""
    assert verdict_of([Check("log", ok=True, reason="log.included", indeterminate=True)], "current") is Verdict.VALID


def test_no_checks_and_current_is_valid() -> None:
    """The verdict adds nothing of its own: what is checked is the callers' job."""
    assert verdict_of([], "current") is Verdict.VALID


def test_the_report_shows_status_and_license_only_for_a_genuine_license() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    lic = {"license_id": "x", "version": 1}
    forged = VerificationReport([FORGED], "current", at, license=lic, extra={"log": {}}).as_json()
    assert (forged["verdict"], forged["status"], forged["license"], forged["status_as_of"]) == (
        "invalid", None, None, None)
    assert "log" not in forged
    old = VerificationReport([OK], "superseded", at, license=lic, extra={"log": {}}).as_json()
    assert (old["verdict"], old["status"], old["license"]) == ("not_in_force", "superseded", lic)
    assert old["status_as_of"] == at.isoformat() and "log" in old
    assert old["checks"] == [{"name": "signature", "ok": True, "reason": "token.ok", "detail": ""}]
