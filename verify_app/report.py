"""The verification report (DESIGN.md REPORT): a verdict plus one entry per check, each with a
stable reason code from the catalogue (``reasons.py``; ``docs/reason-codes.md``). Judgements are data;
the verdict is derived in one place (:func:`verdict_of`) from the codes' effects."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson

from license_service.reasons import Effect, Reason

__all__ = ["Check", "Verdict", "VerificationReport", "genuine", "verdict_of"]


class Verdict(enum.StrEnum):
    VALID = "valid"  # genuine and in force
    NOT_IN_FORCE = "not_in_force"  # genuine, but superseded, revoked or cancelled
    INVALID = "invalid"  # not issued by us, or altered
    INDETERMINATE = "indeterminate"  # cannot be decided; the failing check says why


@dataclass(frozen=True)
class Check:
    """One check: a catalogued :class:`~license_service.reasons.Reason` (which gives the check's name, whether
    it passed and its effect on the verdict) and ``detail``, a sentence for people saying what was found.
    ``on`` names the check when the reason belongs to more than one (``pdf.trailing_bytes``)."""

    reason: Reason
    detail: str = ""
    on: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reason, Reason):  # a bare string would be a code outside the catalogue
            raise TypeError(f"a check's reason is a catalogued Reason, not {self.reason!r}")
        if self.on is not None and self.on not in self.reason.checks:
            raise ValueError(f"{self.reason.value} is not a reason of the {self.on} check")

    @property
    def name(self) -> str:
        return self.on or self.reason.checks[0]

    @property
    def ok(self) -> bool:
        """The check passed; a license no longer in force fails its status check (``not_in_force``)."""
        return self.reason.ok

    @property
    def effect(self) -> Effect:
        return self.reason.effect

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "reason": self.reason.value, "detail": self.detail}


def genuine(checks: Iterable[Check]) -> bool:
    """No check says the object is not ours, altered, or undecidable (each passed or found it merely
    no longer in force)."""
    return all(c.effect in (Effect.PASSED, Effect.NOT_IN_FORCE) for c in checks)


def verdict_of(checks: list[Check], status: str | None) -> Verdict:
    """From the checks' effects (``reasons.Effect``) and the registry status: invalid if any check
    found the object not ours or altered; else indeterminate if any could not be decided, or there is
    no registry status; else not_in_force if any check found it no longer in force or the status is
    not ``current``; else valid."""
    effects = {c.effect for c in checks}
    if Effect.INVALID in effects:
        return Verdict.INVALID
    if Effect.INDETERMINATE in effects or status is None:
        return Verdict.INDETERMINATE
    if Effect.NOT_IN_FORCE in effects or status != "current":
        return Verdict.NOT_IN_FORCE
    return Verdict.VALID


@dataclass
class VerificationReport:
    checks: list[Check]
    status: str | None
    checked_at: datetime
    license: dict[str, Any] | None = None
    subject_uscc: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the JSON of everything but the times (:meth:`json_bytes`), shared by the reports of the same
    #: checks and views (``again``): it is built once, not per request
    _timeless: bytes | None = field(default=None, repr=False, compare=False)
    #: for a PDF, how its seal was checked: ``issued_copy`` (byte for byte the document issued, only
    #: what can change since checked again) or ``full`` (pyHanko's validation); None for other reports
    pdf_validation: str | None = None

    def again(self, at: datetime) -> VerificationReport:
        """The same checks and views as of ``at`` (they are shared, never mutated)."""
        if self._timeless is None:
            self._timeless = self._timeless_json()
        return VerificationReport(self.checks, self.status, at, self.license, self.subject_uscc, self.extra,
                                  self._timeless, self.pdf_validation)

    @cached_property
    def verdict(self) -> Verdict:
        """Derived once: the checks and status are set at construction and not changed after."""
        return verdict_of(self.checks, self.status)

    def _timeless_json(self) -> bytes:
        body = self.as_json()
        del body["checked_at"], body["status_as_of"]
        return orjson.dumps(body)

    def json_bytes(self) -> bytes:
        """:meth:`as_json` serialized (orjson), the times last."""
        timeless = self._timeless or self._timeless_json()
        when = orjson.dumps(self.checked_at.isoformat())
        genuine = self.verdict in (Verdict.VALID, Verdict.NOT_IN_FORCE)
        return b"".join((timeless[:-1], b',"checked_at":', when, b',"status_as_of":', when if genuine else b"null",
                         b"}"))

    def as_json(self) -> dict[str, Any]:
        verdict = self.verdict
        genuine = verdict in (Verdict.VALID, Verdict.NOT_IN_FORCE)
        out = {
            "verdict": verdict.value,
            "status": self.status if genuine else None,
            "checks": [c.as_json() for c in self.checks],
            "license": self.license if genuine else None,
            "checked_at": self.checked_at.isoformat(),
            # the status came from the registry as it stood at the check (nothing older is served:
            # verify_app/freshness.py); an offline check says how old its status list is instead
            "status_as_of": self.checked_at.isoformat() if genuine else None,
        }
        if self.pdf_validation is not None:
            out["pdf_validation"] = self.pdf_validation
        if genuine:
            out.update(self.extra)
        return out
