"""Intake: a registration result as the API receives it (``RegistrationIn``, the v1 contract's request
model; unknown fields are refused) -> a validated domain event.

Every text field, the USCC and the event id included, is person-entered text under
:mod:`.domain.text`'s rule (refused if it holds a control, format, separator, private-use or
unassigned character; stored NFC-normalised), and every date lies in [:data:`EARLIEST_DATE`,
:data:`END_OF_DATES`). Both hold while the body is validated, before anything else reads it, so
their refusals are 422s naming the field and the rule like any other validation error."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from signing.canonical import canonical_json

from .domain.entity import Capital, EntityDetails, EntityKind, Term
from .domain.errors import FieldError, InvalidInput
from .domain.lifecycle import RegistrationKind
from .domain.text import person_text
from .domain.uscc import Uscc, UsccError
from .events import Authority, RegistrationEventIn

__all__ = [
    "EARLIEST_DATE",
    "END_OF_DATES",
    "AuthorityIn",
    "CapitalIn",
    "EntityIn",
    "RegistrationIn",
    "TermIn",
    "parse_registration",
    "person_field",
]


def _person_text(value: object) -> object:
    """:func:`~.domain.text.person_text`'s rule as a validation error whose type is its rule code
    (``text.control_character``...), so the 422 names the field and the rule like any other.

    Runs before pydantic's own string checks: on the text as received (stripping cannot hide a
    trailing LF), and so that lengths count the normalised text, which is what is stored."""
    if not isinstance(value, str):
        return value  # not text: pydantic's string check refuses it next
    try:
        return person_text(value, field="text")  # pydantic supplies the field's location
    except FieldError as err:
        raise PydanticCustomError(err.code, "{detail}", {"detail": err.detail}) from None


def person_field(max_length: int) -> type[str]:
    """Person-entered text: :func:`_person_text`, then stripped, then 1 to ``max_length`` code points.

    (The validator must come after the constraints: pydantic runs the last ``BeforeValidator`` first,
    and constraints placed after a validator no longer apply to the string itself.)"""
    constraints = StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)
    return Annotated[str, constraints, BeforeValidator(_person_text)]  # type: ignore[return-value]


#: the dates a registration may carry: none before 1949-10-01 (the founding of the People's Republic,
#: before any registration in this registry) and none from 2200-01-01 on (beyond any business term;
#: also keeps every instant convertible between offsets, which year 1 at +14:00 is not)
EARLIEST_DATE = date(1949, 10, 1)
END_OF_DATES = date(2200, 1, 1)


def _refuse_out_of_range(on: date, what: str) -> None:
    if not EARLIEST_DATE <= on < END_OF_DATES:
        raise PydanticCustomError("date.out_of_range", "{detail}", {
            "detail": f"{what} {on.isoformat()} is outside {EARLIEST_DATE.isoformat()} to {END_OF_DATES.isoformat()} "
                      "(exclusive)"})


def _date_in_range(on: date) -> date:
    _refuse_out_of_range(on, "date")
    return on


def _instant_in_range(at: datetime) -> datetime:
    """Checks the date as written, in the instant's own offset: no conversion (to UTC or anything
    else) happens before the bound holds."""
    _refuse_out_of_range(at.date(), "date (in its own offset)")
    return at


_Date = Annotated[date, AfterValidator(_date_in_range)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapitalIn(_Strict):
    amount: Annotated[Decimal, Field(description="exact decimal, in 万元", gt=0, max_digits=18, decimal_places=6)]
    unit: Literal["万元"]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


class TermIn(_Strict):
    from_: Annotated[_Date, Field(alias="from")]
    to: _Date | None = Field(description="null: open-ended (长期)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EntityIn(_Strict):
    """All items but ``uscc`` are required for establishment and change, and ignored for
    cancellation and revocation."""

    uscc: person_field(32)  # type: ignore[valid-type]
    name: person_field(100) | None = None  # type: ignore[valid-type]
    entity_kind: Literal["company", "branch", "partnership", "sole_proprietorship", "cooperative",
                         "individual_business"] | None = None
    entity_type: person_field(60) | None = None  # type: ignore[valid-type]
    representative: person_field(100) | None = None  # type: ignore[valid-type]
    registered_capital: CapitalIn | None = None
    established_on: _Date | None = None
    term: TermIn | None = None
    business_scope: person_field(2000) | None = None  # type: ignore[valid-type]
    address: person_field(200) | None = None  # type: ignore[valid-type]
    composition: Literal["个人经营", "家庭经营"] | None = None


class AuthorityIn(_Strict):
    name: person_field(100)  # type: ignore[valid-type]
    division_code: Annotated[str, Field(pattern=r"^\d{6}$", description="GB/T 2260 division code")]


class RegistrationIn(_Strict):
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$"),
                        BeforeValidator(_person_text)]
    kind: Annotated[Literal["establishment", "change", "cancellation", "revocation", "replacement"], Field(
        description="设立 establishment and 变更 change carry the registered items; 注销 cancellation, 吊销 "
                    "revocation and 补发 replacement (a new license on loss or damage, same items) carry the "
                    "entity's USCC and a reason")]
    decided_at: Annotated[AwareDatetime, AfterValidator(_instant_in_range)]
    authority: AuthorityIn
    entity: EntityIn
    reason: person_field(500) | None = None  # type: ignore[valid-type]


_CLOCK_SKEW = timedelta(minutes=5)  # the registration system's clock may run a little ahead of ours
_FULL_ITEMS = ("entity_kind", "entity_type", "representative", "established_on", "business_scope", "address")


def parse_registration(body: RegistrationIn, legacy: frozenset[str], *, at: datetime) -> RegistrationEventIn:
    """The API model to the domain's event, checked at time ``at``.

    Raises :class:`InvalidInput` listing every field that breaks a rule (USCC, items required per
    registration kind, per-kind rules of :class:`EntityDetails`, dates).
    """
    errors: list[FieldError] = []
    e = body.entity
    try:
        uscc = Uscc.parse(e.uscc, legacy_allow=legacy)
    except UsccError as err:
        errors.append(FieldError("entity.uscc", err.code, err.detail))
        uscc = None
    kind = RegistrationKind(body.kind)
    details = None
    if kind in (RegistrationKind.ESTABLISHMENT, RegistrationKind.CHANGE):
        for item in _FULL_ITEMS:
            if getattr(e, item) is None:
                errors.append(FieldError(f"entity.{item}", "required", f"required for {kind.value}"))
        if body.kind == "establishment" and e.established_on and e.established_on > body.decided_at.date():
            errors.append(FieldError("entity.established_on", "date.after_decision",
                                     "established after the decision that registers it"))
        if not errors and uscc is not None:
            assert e.entity_kind and e.entity_type and e.representative and e.established_on
            assert e.business_scope and e.address
            try:
                details = EntityDetails(
                    uscc=uscc, kind=EntityKind(e.entity_kind), name=e.name, entity_type=e.entity_type,
                    representative=e.representative, established_on=e.established_on,
                    business_scope=e.business_scope, address=e.address,
                    capital=(Capital(e.registered_capital.amount, e.registered_capital.currency,
                                     e.registered_capital.unit) if e.registered_capital else None),
                    term=Term(e.term.from_, e.term.to) if e.term else None,
                    composition=e.composition,
                )
            except InvalidInput as err:
                errors.extend(FieldError(f"entity.{x.field}", x.code, x.detail) for x in err.errors)
            except FieldError as err:
                prefix = "entity.registered_capital." if err.code.startswith("capital.") else "entity.term."
                errors.append(FieldError(prefix + err.field, err.code, err.detail))
    elif body.reason is None:
        errors.append(FieldError("reason", "required", f"a {kind.value} states its reason"))
    if body.decided_at > at + _CLOCK_SKEW:
        errors.append(FieldError("decided_at", "date.future", "decided_at is in the future"))
    if errors:
        raise InvalidInput(errors)
    assert uscc is not None
    # over the body as validated, its text NFC-normalised: a replay converges however it spells the same text
    digest = hashlib.sha256(canonical_json(body.model_dump(mode="json", by_alias=True))).hexdigest()
    return RegistrationEventIn(
        event_id=body.event_id, kind=kind, decided_at=body.decided_at,
        authority=Authority(body.authority.name, body.authority.division_code), uscc=uscc, details=details,
        reason=body.reason, body_sha256=digest,
    )
