"""亮照 redeemed: a dynamic QR's handle (``license_service.holders.presentations``) turned into a
REPORT of the entity's current license plus who presented it, in which role and scope, at what time.
A handle is redeemed once; a second scan, an expired handle, a holder revoked, suspended, expired or
ended, or a license not in force each fail the ``presentation`` check with a reason of their own, so
the verdict is never ``valid`` for them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from license_service.holders.presentations import redeem

from .report import Check, VerificationReport
from .service import VerificationService

__all__ = ["PresentationVerifier"]

_FAILED = {
    "presentation.unknown": "no QR code was shown with this handle",
    "presentation.redeemed": "this QR code was already scanned: a presented code is good for one scan",
    "presentation.expired": "this QR code has expired: ask the holder to refresh it",
    "presentation.holder_revoked": "the person who showed it no longer holds the license (revoked)",
    "presentation.holder_suspended": "the person who showed it is suspended (the legal representative changed)",
    "presentation.holder_expired": "the grant of the person who showed it has expired",
    "presentation.holder_not_yet": "the grant of the person who showed it is not yet valid",
    "presentation.holder_ended": "the person who showed it no longer holds the license (the holding ended)",
}


class PresentationVerifier:
    def __init__(self, service: VerificationService, write_sessions: sessionmaker[Session],
                 write_lock: AbstractContextManager[Any]) -> None:
        self._service = service
        self._write_sessions = write_sessions
        self._write_lock = write_lock  # the recorder's: one writer at a time in this process (SQLite)

    def verify(self, handle: str, *, by: str, at: datetime) -> VerificationReport:
        """Redeem ``handle`` (``by``: ``public`` or ``client:<id>``) and report on the license it shows."""
        with self._write_lock, self._write_sessions.begin() as s:
            r = redeem(s.connection(), handle, by=by, at=at)
        if not r.ok or r.presenter is None:
            return VerificationReport([Check("presentation", False, r.reason, _FAILED.get(r.reason, ""))], None, at)
        who = r.presenter
        token = self._service.current_token(who["uscc"])
        if token is None:
            return VerificationReport([Check("presentation", False, "presentation.unknown",
                                             "the entity has no license")], None, at)
        report = self._service.verify_token(token, at=at)
        in_force = report.status == "current"
        check = Check("presentation", in_force, "presentation.ok" if in_force else "presentation.license_not_in_force",
                      f"shown by the {who['role']} at {who['presented_at']}" if in_force else
                      "the license shown is not in force")
        return replace(report, checks=[*report.checks, check], extra={**report.extra, "presentation": who},
                       _timeless=None)
