"""JSON views of registry rows: the LICENSE and entity objects of the v1 contract."""

from __future__ import annotations

from typing import Any

from .db.models import LicenseVersion, MarketEntity

__all__ = ["entity_view", "license_view"]


def _iso(v: Any) -> str | None:
    return v.isoformat() if v is not None else None


def license_view(lic: LicenseVersion, base_url: str) -> dict[str, Any]:
    """LICENSE (DESIGN.md), plus the record digest, the registration date and the status change."""
    return {
        "license_id": lic.license_id,
        "serial": lic.serial,
        "uscc": lic.uscc,
        "version": lic.version,
        "status": lic.status,
        "issued_at": _iso(lic.issued_at),
        "superseded_by": lic.superseded_by,
        "pdf_url": f"{base_url}/api/v1/licenses/{lic.license_id}/pdf",
        "verify_url": f"{base_url}/v/{lic.token}",
        "token": lic.token,
        "registered_on": _iso(lic.registered_on),
        "record_digest": lic.record_digest,
        "pdf_sha256": lic.pdf_sha256,
        "status_changed_at": _iso(lic.status_changed_at),
        "status_reason": lic.status_reason,
        "leaf_index": lic.leaf_index,
    }


def entity_view(entity: MarketEntity, base_url: str) -> dict[str, Any]:
    return {
        "uscc": entity.uscc,
        "entity_kind": entity.entity_kind,
        "name": entity.name,
        "status": entity.status,
        "status_changed_at": _iso(entity.status_changed_at),
        "status_reason": entity.status_reason,
        "established_on": _iso(entity.established_on),
        "current_version": entity.current_version,
        "licenses": [license_view(lic, base_url) for lic in entity.licenses],
    }
