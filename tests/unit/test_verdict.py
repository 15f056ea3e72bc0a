"""The verdict (verify_app/report.py ``verdict_of``), from the effects of the checks' reason codes
(license_service/reasons.py): a check that found the object not ours or altered makes it invalid, whatever
else holds; else a check that could not be decided, or no registry status, makes it indeterminate;
else a check that found it no longer in force, or a registry status other than ``current``, makes it
not_in_force. ``ok`` is true only for a check that passed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from license_service.reasons import LICENSE_STATUS, Effect, Reason
from verify_app.report import Check, Verdict, VerificationReport, genuine, verdict_of

OK = Check(Reason.TOKEN_SIGNATURE_OK)
FORGED = Check(Reason.TOKEN_SIGNATURE, "the ES256 signature does not verify")
UNDECIDED = Check(Reason.REGISTRY_UNKNOWN_LICENSE, "not in the registry")
STATUSES = ["current", "superseded", "revoked", "cancelled"]


@pytest.mark.parametrize("status,verdict", [
    ("current", Verdict.VALID),
    ("superseded", Verdict.NOT_IN_FORCE),
    ("revoked", Verdict.NOT_IN_FORCE),
    ("cancelled", Verdict.NOT_IN_FORCE),
])
def test_when_every_check_holds_the_status_decides(status: str, verdict: Verdict) -> None:
    assert verdict_of([OK, Check(Reason.KEY_KNOWN)], status) is verdict


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


@pytest.mark.parametrize("status", STATUSES)
def test_a_status_check_that_found_it_no_longer_in_force_fails_and_makes_it_not_in_force(status: str) -> None:
    """A revoked license's status check says so: ``ok`` false (the check did not pass), yet the verdict is
    not_in_force (genuine), not invalid (forged)."""
    check = Check(LICENSE_STATUS[status], "as the registry has it")
    assert check.ok is (status == "current") and check.name == "registry_status"
    assert check.as_json()["ok"] is (status == "current")
    expected = Verdict.VALID if status == "current" else Verdict.NOT_IN_FORCE
    assert verdict_of([OK, Check(Reason.CLAIMS_MATCH_REGISTRY), check], status) is expected


def test_a_not_in_force_check_makes_it_not_in_force_even_with_a_current_license() -> None:
    """The entity check on a current license whose entity was revoked, or a former name asked about:
    the check's effect decides, not only the license's status."""
    for reason in (Reason.ENTITY_REVOKED, Reason.ENTITY_CANCELLED, Reason.ENTITY_FORMER_NAME):
        assert verdict_of([Check(Reason.ENTITY_ACTIVE), Check(reason, "x")], "current") is Verdict.NOT_IN_FORCE
    assert verdict_of([Check(Reason.ENTITY_ACTIVE), Check(Reason.ENTITY_NAME_MATCHES)], "current") is Verdict.VALID


@pytest.mark.parametrize("status", [*STATUSES, None])
def test_forged_and_undecided_beat_not_in_force(status: str | None) -> None:
    revoked = Check(Reason.REGISTRY_REVOKED, "revoked")
    assert verdict_of([revoked, FORGED], status) is Verdict.INVALID
    assert verdict_of([revoked, UNDECIDED], status) is Verdict.INDETERMINATE


def test_ok_is_exactly_passed_and_genuine_is_passed_or_not_in_force() -> None:
    for reason in Reason:
        check = Check(reason)
        assert check.ok is (reason.effect is Effect.PASSED), reason
        assert genuine([OK, check]) is (reason.effect in (Effect.PASSED, Effect.NOT_IN_FORCE)), reason


def test_a_check_is_built_only_from_the_catalogue() -> None:
    with pytest.raises(TypeError):
        Check("token.signature")  # type: ignore[arg-type]  # the point: a bare string is refused
    with pytest.raises(ValueError, match="not in the catalogue"):
        Reason.of("token.made_up")
    with pytest.raises(ValueError):
        Check(Reason.PDF_MODIFIED, on="long_term")  # not a reason of that check
    assert Check(Reason.PDF_TRAILING_BYTES, on="long_term").name == "long_term"
    assert Check(Reason.PDF_TRAILING_BYTES).name == "coverage"


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
    assert old["checks"] == [{"name": "token_signature", "ok": True, "reason": "token.signature_ok", "detail": ""}]
