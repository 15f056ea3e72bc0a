"""Market entities (市场主体) and what their licenses show, per entity kind (DOMAIN.md's table)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .errors import FieldError, InvalidInput
from .numerals import CURRENCY_NAMES, yuan_in_words
from .uscc import Uscc

__all__ = [
    "KIND_RULES",
    "Capital",
    "EntityDetails",
    "EntityKind",
    "KindRules",
    "Term",
]


class EntityKind(enum.StrEnum):
    COMPANY = "company"  # 公司
    BRANCH = "branch"  # 分公司
    PARTNERSHIP = "partnership"  # 合伙企业
    SOLE_PROPRIETORSHIP = "sole_proprietorship"  # 个人独资企业
    COOPERATIVE = "cooperative"  # 农民专业合作社
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户


@dataclass(frozen=True)
class KindRules:
    """Which optional lines a kind's license carries (labels live in its template under
    ``templates/license/``; a test keeps the two in agreement)."""

    uscc_type_code: str  # GB 32100 position 2 under authority 9 (market regulation)
    capital: bool = False  # 注册资本 / 成员出资总额
    term: bool = False  # 营业期限 / 合伙期限
    name_required: bool = True
    composition: bool = False  # 组成形式 (个人经营/家庭经营), individual businesses only


KIND_RULES: dict[EntityKind, KindRules] = {
    EntityKind.COMPANY: KindRules("1", capital=True, term=True),
    EntityKind.BRANCH: KindRules("1", term=True),
    EntityKind.PARTNERSHIP: KindRules("1", term=True),
    EntityKind.SOLE_PROPRIETORSHIP: KindRules("1"),
    EntityKind.COOPERATIVE: KindRules("3", capital=True),
    EntityKind.INDIVIDUAL_BUSINESS: KindRules("2", name_required=False, composition=True),
}

COMPOSITIONS = ("个人经营", "家庭经营")


@dataclass(frozen=True)
class Capital:
    """Registered capital as an exact decimal in 万元 with its ISO 4217 currency."""

    amount: Decimal
    currency: str = "CNY"
    unit: str = "万元"

    def __post_init__(self) -> None:
        if self.unit != "万元":
            raise FieldError("unit", "capital.unit", "capital is stated in 万元")
        if self.currency not in CURRENCY_NAMES:
            raise FieldError(
                "currency", "capital.currency", f"currency must be one of {', '.join(sorted(CURRENCY_NAMES))}"
            )
        if not self.amount.is_finite() or self.amount <= 0:
            raise FieldError("amount", "capital.positive", "amount must be a positive decimal")
        yuan_in_words(self.amount * 10000)  # raises for range and sub-分 precision

    def as_record(self) -> dict[str, str]:
        return {"amount": format(self.amount.normalize(), "f"), "unit": self.unit, "currency": self.currency}


@dataclass(frozen=True)
class Term:
    """营业期限 / 合伙期限: from a date to a date, or to ``None`` (长期, open-ended)."""

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise FieldError("to", "term.order", "term ends before it starts")


@dataclass(frozen=True)
class EntityDetails:
    """The registered items of one entity as one license version prints them.

    Construction enforces the per-kind rules (lines required and allowed, USCC type code, term vs
    establishment date) and raises :class:`InvalidInput` listing every field that breaks one.
    Field paths in errors are relative to the ``entity`` object of a registration.
    """

    uscc: Uscc
    kind: EntityKind
    name: str | None
    entity_type: str
    representative: str
    established_on: date
    business_scope: str
    address: str
    capital: Capital | None = None
    term: Term | None = None
    composition: str | None = None

    def __post_init__(self) -> None:
        rules = KIND_RULES[self.kind]
        errors: list[FieldError] = []

        def need(ok: bool, field: str, code: str, detail: str) -> None:
            if not ok:
                errors.append(FieldError(field, code, detail))

        kind = self.kind.value
        need(bool(self.name) or not rules.name_required, "name", "required", f"a {kind} must have a name")
        need(
            self.capital is not None or not rules.capital,
            "registered_capital", "required", f"a {kind} license shows its capital",
        )
        need(
            self.capital is None or rules.capital,
            "registered_capital", "not_allowed", f"a {kind} license has no capital line; send null",
        )
        need(
            self.term is not None or not rules.term,
            "term", "required", f"a {kind} license shows its term",
        )
        need(
            self.term is None or rules.term,
            "term", "not_allowed", f"a {kind} license has no term line; send null",
        )
        if rules.composition:
            need(
                self.composition in COMPOSITIONS,
                "composition", "required", f"组成形式 must be one of {', '.join(COMPOSITIONS)}",
            )
        else:
            need(self.composition is None, "composition", "not_allowed", f"a {kind} has no 组成形式; send null")
        if self.term is not None:
            need(
                self.term.start >= self.established_on,
                "term.from", "term.before_establishment", "term starts before the establishment date",
            )
        if not self.uscc.legacy:
            need(
                self.uscc.authority_code == "9",
                "uscc", "uscc.authority", "business licenses are for codes of authority 9 (market regulation)",
            )
            need(
                self.uscc.type_code == rules.uscc_type_code,
                "uscc", "uscc.entity_kind",
                f"a {kind} has type code {rules.uscc_type_code} at position 2, got {self.uscc.type_code}",
            )
        if errors:
            raise InvalidInput(errors)

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> EntityDetails:
        """The inverse of :meth:`as_record`, for a record this registry wrote (its USCC is taken as
        it was accepted then, legacy codes included)."""
        cap, term = r["registered_capital"], r["term"]
        return cls(
            uscc=Uscc.parse(r["uscc"], legacy_allow=frozenset({r["uscc"]})), kind=EntityKind(r["entity_kind"]),
            name=r["name"], entity_type=r["entity_type"], representative=r["representative"],
            established_on=date.fromisoformat(r["established_on"]), business_scope=r["business_scope"],
            address=r["address"],
            capital=Capital(Decimal(cap["amount"]), cap["currency"], cap["unit"]) if cap else None,
            term=(Term(date.fromisoformat(term["from"]), date.fromisoformat(term["to"]) if term["to"] else None)
                  if term else None),
            composition=r["composition"],
        )

    def as_record(self) -> dict[str, object]:
        """The canonical-record form (JSON types only; dates ISO 8601; capital as an exact string)."""
        return {
            "uscc": self.uscc.value,
            "entity_kind": self.kind.value,
            "name": self.name,
            "entity_type": self.entity_type,
            "representative": self.representative,
            "registered_capital": self.capital.as_record() if self.capital else None,
            "established_on": self.established_on.isoformat(),
            "term": (
                {"from": self.term.start.isoformat(), "to": self.term.end.isoformat() if self.term.end else None}
                if self.term
                else None
            ),
            "business_scope": self.business_scope,
            "address": self.address,
            "composition": self.composition,
        }
