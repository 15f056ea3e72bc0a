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

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from license_service.db.raw import RawSql
from license_service.holders.presentations import Redemption, redeem
from license_service.reasons import Reason

from .report import Check, VerificationReport
from .service import VerificationService

__all__ = ["PresentationVerifier"]


class PresentationVerifier:
    def __init__(self, service: VerificationService, write_sessions: sessionmaker[Session],
                 write_lock: AbstractContextManager[Any], *, keep_connection: bool = False) -> None:
        self._service = service
        # the write sessions' engine, used bare (``RawSql.transaction``: BEGIN IMMEDIATE on SQLite): a
        # Session's or Core's begin, statements and commit cost three times the redemption's SQL
        self._writer: Engine = write_sessions.kw["bind"]
        self._write_lock = write_lock  # the recorder's: one writer at a time in this process (SQLite)
        #: with ``keep_connection`` (SQLite, where redemptions run one at a time under the write lock on
        #: the event loop's thread) one connection serves them all: a pool checkout and return per
        #: redemption cost more than its statements
        self._kept = self._writer.raw_connection() if keep_connection else None

    def verify(self, handle: str, *, by: str, at: datetime) -> VerificationReport:
        """Redeem ``handle`` (``by``: ``public`` or ``client:<id>``) and report on the license it shows."""
        with self._write_lock, RawSql.transaction(self._writer, connection=self._kept) as sql:
            r = redeem(sql, handle, by=by, at=at)
        if not r.ok or r.presenter is None:
            return VerificationReport([Check(Reason.of(r.reason), _detail(r))], None, at)
        who = r.presenter
        token = self._service.current_token(who["uscc"])
        if token is None:
            return VerificationReport([Check(Reason.PRESENTATION_UNKNOWN, "the entity has no license")], None, at)
        report = self._service.verify_token(token, at=at)
        in_force = report.status == "current"
        check = Check(Reason.PRESENTATION_OK, f"shown by the {who['role']} at {who['presented_at']}") if in_force \
            else Check(Reason.PRESENTATION_LICENSE_NOT_IN_FORCE,
                       f"the license shown is {report.status or 'not verifiable'}")
        return replace(report, checks=[*report.checks, check], extra={**report.extra, "presentation": who},
                       _timeless=None)


def _detail(r: Redemption) -> str:
    """What was found, for a code that is no good."""
    if r.reason == Reason.PRESENTATION_REDEEMED and r.when:
        return f"scanned already, at {r.when.isoformat()}"
    if r.reason == Reason.PRESENTATION_EXPIRED and r.when:
        return f"expired at {r.when.isoformat()}, unscanned"
    if r.presenter is not None:
        return f"shown by the {r.presenter['role']} at {r.presenter['presented_at']}, whose holding is " \
               f"{r.reason.rsplit('_', 1)[-1] if 'not_yet' not in r.reason else 'not yet valid'}"
    return "no code was shown with this handle"
