"""The verification report (DESIGN.md REPORT): a verdict plus one entry per check, each with a
stable reason code. Judgements are data; the verdict is derived in one place (:func:`verdict_of`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson

__all__ = ["Check", "Verdict", "VerificationReport", "verdict_of"]


class Verdict(enum.StrEnum):
    VALID = "valid"  # genuine and in force
    NOT_IN_FORCE = "not_in_force"  # genuine, but superseded, revoked or cancelled
    INVALID = "invalid"  # not issued by us, or altered
    INDETERMINATE = "indeterminate"  # cannot be decided; the failing check says why


@dataclass(frozen=True)
class Check:
    """One check. ``reason`` is a stable code (``token.signature``, ``pdf.modified``...).
    A failed check with ``indeterminate`` set makes the verdict indeterminate rather than invalid."""

    name: str
    ok: bool
    reason: str
    detail: str = ""
    indeterminate: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "reason": self.reason, "detail": self.detail}


def verdict_of(checks: list[Check], status: str | None) -> Verdict:
    """invalid if any check failed outright; else indeterminate if any could not be decided; else
    valid when the registry says current, not_in_force otherwise."""
    if any(not c.ok and not c.indeterminate for c in checks):
        return Verdict.INVALID
    if any(not c.ok for c in checks) or status is None:
        return Verdict.INDETERMINATE
    return Verdict.VALID if status == "current" else Verdict.NOT_IN_FORCE


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

    def again(self, at: datetime) -> VerificationReport:
        """The same checks and views as of ``at`` (they are shared, never mutated)."""
        if self._timeless is None:
            self._timeless = self._timeless_json()
        return VerificationReport(self.checks, self.status, at, self.license, self.subject_uscc, self.extra,
                                  self._timeless)

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
        if genuine:
            out.update(self.extra)
        return out
