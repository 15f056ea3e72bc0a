"""Request and response models of the v1 contract (unknown fields are refused everywhere)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["AuthorityIn", "CapitalIn", "EntityIn", "LicenseOut", "Problem", "RegistrationIn", "TermIn", "TokenOut"]


def _text(max_length: int) -> type[str]:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)]  # type: ignore[return-value]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapitalIn(_Strict):
    amount: Annotated[Decimal, Field(description="exact decimal, in 万元", gt=0, max_digits=18, decimal_places=6)]
    unit: Literal["万元"]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


class TermIn(_Strict):
    from_: Annotated[date, Field(alias="from")]
    to: date | None = Field(description="null: open-ended (长期)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EntityIn(_Strict):
    """All items but ``uscc`` are required for establishment and change, and ignored for
    cancellation and revocation."""

    uscc: _text(32)  # type: ignore[valid-type]
    name: _text(100) | None = None  # type: ignore[valid-type]
    entity_kind: Literal["company", "branch", "partnership", "sole_proprietorship", "cooperative",
                         "individual_business"] | None = None
    entity_type: _text(60) | None = None  # type: ignore[valid-type]
    representative: _text(100) | None = None  # type: ignore[valid-type]
    registered_capital: CapitalIn | None = None
    established_on: date | None = None
    term: TermIn | None = None
    business_scope: _text(2000) | None = None  # type: ignore[valid-type]
    address: _text(200) | None = None  # type: ignore[valid-type]
    composition: Literal["个人经营", "家庭经营"] | None = None


class AuthorityIn(_Strict):
    name: _text(100)  # type: ignore[valid-type]
    division_code: Annotated[str, Field(pattern=r"^\d{6}$", description="GB/T 2260 division code")]


class RegistrationIn(_Strict):
    event_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
    kind: Annotated[Literal["establishment", "change", "cancellation", "revocation", "replacement"], Field(
        description="设立 establishment and 变更 change carry the registered items; 注销 cancellation, 吊销 "
                    "revocation and 补发 replacement (a new license on loss or damage, same items) carry the "
                    "entity's USCC and a reason")]
    decided_at: AwareDatetime
    authority: AuthorityIn
    entity: EntityIn
    reason: _text(500) | None = None  # type: ignore[valid-type]


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


class FieldProblem(BaseModel):
    field: str
    rule: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details; ``code`` is stable, ``errors`` lists each field and rule broken."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None


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
    license_id: str
    uscc: str
    version: int
    status: str
    record: str
    record_digest: str
    pdf_sha256: str
    leaf_index: int | None
    superseded_by: str | None


class AuditLicensesOut(BaseModel):
    licenses: list[AuditLicense]
    next: str | None
