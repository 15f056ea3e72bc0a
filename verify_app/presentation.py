"""亮照 redeemed: a dynamic QR's handle (``license_service.holders.presentations``) turned into a
REPORT of the entity's current license plus who presented it, in which role and scope, at what time.
A handle is redeemed once; a second scan, an expired handle, a holder revoked, suspended, expired or
ended, or a license not in force each fail the ``presentation`` check with a reason of their own, so
the verdict is never ``valid`` for them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from license_service.db.models import MarketEntity
from license_service.domain.holding import HolderRole, role_label
from license_service.holders.presentations import Redemption, redeem
from license_service.registry import current_license

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
    def __init__(self, service: VerificationService, engine: Engine, write_sessions: sessionmaker[Session]) -> None:
        self._service = service
        self._engine = engine
        self._write_sessions = write_sessions

    def verify(self, handle: str, *, by: str, at: datetime) -> VerificationReport:
        """Redeem ``handle`` (``by``: ``public`` or ``client:<id>``) and report on the license it shows."""
        with self._write_sessions.begin() as s:
            r = redeem(s, handle, by=by, at=at)
            who = _presenter(s, r) if r.holder is not None else None
        if not r.ok or who is None:
            return VerificationReport([Check("presentation", False, r.reason, _FAILED.get(r.reason, ""))], None, at)
        with self._engine.connect() as c:
            row = current_license(c, who["uscc"])
        if row is None:
            return VerificationReport([Check("presentation", False, "presentation.unknown",
                                             "the entity has no license")], None, at)
        report = self._service.verify_token(row.lic.token, at=at)
        in_force = report.status == "current"
        check = Check("presentation", in_force, "presentation.ok" if in_force else "presentation.license_not_in_force",
                      f"shown by the {who['role']} at {who['presented_at']}" if in_force else
                      "the license shown is not in force")
        return replace(report, checks=[*report.checks, check], extra={**report.extra, "presentation": who},
                       _timeless=None)


def _presenter(s: Session, r: Redemption) -> dict[str, Any]:
    assert r.holder is not None and r.presentation is not None
    h, p = r.holder, r.presentation
    entity = s.get(MarketEntity, h.uscc)
    kind = entity.entity_kind if entity else "company"
    return {"uscc": h.uscc, "role": h.role, "role_label": {"zh": role_label(HolderRole(h.role), kind),
                                                           "en": role_label(HolderRole(h.role), kind, "en")},
            "name": h.name, "scope": h.scope, "presented_at": p.created_at.isoformat(),
            "expires_at": p.expires_at.isoformat(), "redeemed_at": p.redeemed_at.isoformat() if p.redeemed_at else None}
