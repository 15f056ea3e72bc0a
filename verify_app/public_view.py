"""What anyone may see of a license version: the registered items the public credit system shows
(DOMAIN.md "Privacy on public pages"), its version and status history. No ID numbers. Data, not
display: dates are ISO 8601 and the registered items are the record's own values; the page formats
them for people (``page.py``, through the same printing rules as the PDF)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from license_service.registry import LicenseRow
from license_service.urls import verify_url

from .report import VerificationReport

if TYPE_CHECKING:
    from .evidence import LogView

__all__ = ["Found", "public_license"]

#: the registered items a public view carries, as the canonical record has them
_ITEMS = ("entity_kind", "name", "entity_type", "representative", "registered_capital", "established_on", "term",
          "composition", "business_scope", "address")


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def _version_ref(v: Any, base_url: str) -> dict[str, Any]:
    return {"license_id": v.license_id, "version": v.version, "status": v.status,
            "issued_at": v.issued_at.isoformat(), "verify_url": verify_url(base_url, v.qr_token or v.token)}


@dataclass(eq=False)
class Found:
    """A license version as the registry has it (``LicenseRow``), with what verification derives
    from it computed once: an entry lives in the registry cache across verifications until a log leaf
    names its entity (``freshness.RegistryCache``)."""

    row: LicenseRow
    base_url: str
    #: token -> (the log view its log check used, its complete report). The same token asks the
    #: same questions of the same registry state: until this entry is dropped or a newer checkpoint is
    #: read, a new report differs only in its time. A memo, bounded by its users (a few per entry).
    answers: dict[str, tuple[LogView, VerificationReport]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.lic: Any = self.row.lic  # the license row itself, read on every verification
    @cached_property
    def record(self) -> dict[str, Any]:
        return dict(json.loads(self.row.lic.record))

    @cached_property
    def public(self) -> dict[str, Any]:
        """The public view (shared by every report that uses this entry: never mutate it)."""
        return public_license(self.row, self.record, self.base_url)


def public_license(row: LicenseRow, record: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The public view of ``row`` (its canonical ``record`` parsed).

    ``superseded_by`` is the license id of the version that replaced this one (a string, as in the
    LICENSE object of the API), ``successor`` that version and when; ``current`` is the entity's
    current version when it is not this one, with its registered ``items`` (so a page can mark what
    has changed since); ``entity_status`` is the entity's registration status now (active, revoked,
    cancelled), whatever this version's own status.
    """
    lic = row.lic
    successor = next((v for v in row.siblings if v.license_id == lic.superseded_by), None)
    current = next((v for v in row.siblings if v.version == row.current_version), None)
    return {
        "license_id": lic.license_id, "uscc": lic.uscc, "serial": lic.serial, "version": lic.version,
        "status": lic.status, "issued_at": lic.issued_at.isoformat(), "registered_on": lic.registered_on.isoformat(),
        **_items(record),
        "authority": record["authority"]["name"],
        "status_changed_at": _iso(lic.status_changed_at),
        "status_reason": lic.status_reason,
        "entity_status": row.entity_status,
        "superseded_by": lic.superseded_by,
        "successor": ({**_version_ref(successor, base_url), "on": _iso(lic.status_changed_at)}
                      if successor else None),
        "current": ({**_version_ref(current, base_url), "items": _items(json.loads(current.record))}
                    if current and current.license_id != lic.license_id else None),
    }


def _items(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record["entity"].get(k) for k in _ITEMS}
