"""Response models of the issuing API (v1 contract); the request model is intake's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from ..intake import RegistrationIn
from ..web.problems import Problem

__all__ = ["EntityOut", "IssuedOut", "LicenseOut", "Problem", "RegistrationIn", "StatusChangeOut", "TokenOut"]


class LicenseOut(BaseModel):
    license_id: str
    serial: str
    uscc: str
    version: int
    status: Literal["current", "superseded", "revoked", "cancelled"]
    issued_at: str
    superseded_by: str | None
    pdf_url: str
    verify_url: str
    token: str
    registered_on: str
    record_digest: str
    pdf_sha256: str
    status_changed_at: str | None
    status_reason: str | None
    leaf_index: int | None


class IssuedOut(BaseModel):
    event_id: str
    license: LicenseOut


class EntityStatusOut(BaseModel):
    uscc: str
    status: Literal["active", "revoked", "cancelled"]
    status_changed_at: str
    reason: str | None


class StatusChangeOut(BaseModel):
    event_id: str
    entity: EntityStatusOut
    license: LicenseOut


class EntityOut(BaseModel):
    uscc: str
    entity_kind: str
    name: str | None
    status: Literal["active", "revoked", "cancelled"]
    status_changed_at: str
    status_reason: str | None
    established_on: str
    current_version: int
    licenses: list[LicenseOut]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    scope: str


class VerificationOut(BaseModel):
    client_id: str
    client_name: str | None
    checked_at: str
    channel: Literal["token", "pdf", "entity"]
    license_id: str | None
    verdict: Literal["valid", "not_in_force", "invalid", "indeterminate"]


class VerificationsOut(BaseModel):
    uscc: str
    verifications: list[VerificationOut]


class AuditLicense(BaseModel):
    """A license version as stored, for the auditor. Plain strings, never a narrower type: a row
    edited to hold anything must reach the auditor as it is, not fail the response."""

    license_id: str
    uscc: str
    version: int
    serial: str
    status: str
    issued_at: str
    registered_on: str
    record: str
    record_digest: str
    pdf_sha256: str
    token: str
    #: the compact token its QR code carries (form 2, docs/token-formats.md); None if issued before it
    qr_token: str | None = None
    event_id: str
    leaf_index: int | None
    superseded_by: str | None
    status_changed_at: str | None
    status_reason: str | None


class AuditLicensesOut(BaseModel):
    licenses: list[AuditLicense]
    next: str | None


class AuditEntity(BaseModel):
    """A market entity's row as stored, for the auditor."""

    uscc: str
    entity_kind: str
    name: str | None
    status: str
    status_changed_at: str
    status_reason: str | None
    current_version: int
    established_on: str


class AuditEntitiesOut(BaseModel):
    entities: list[AuditEntity]
    next: str | None


class AuditEvent(BaseModel):
    """A registration result as stored (the idempotency record), for the auditor."""

    event_id: str
    kind: str
    uscc: str
    body_sha256: str
    received_at: str
    response_status: int
    response_body: str


class AuditEventsOut(BaseModel):
    events: list[AuditEvent]
    next: str | None
