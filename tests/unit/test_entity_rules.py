"""Per-kind rules of the registered items (domain/entity.py, DOMAIN.md's table): which lines each
kind's license carries (capital, term, 组成形式, name), the USCC's type code for the kind, and the
value objects' own rules. Every refusal is checked by the field and the rule it names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from license_service.domain.entity import KIND_RULES, Capital, EntityDetails, EntityKind, KindRules, Term
from license_service.domain.errors import FieldError, InvalidInput
from license_service.domain.uscc import Uscc, check_character, organisation_check

K = EntityKind
ESTABLISHED = date(2018, 5, 31)


def _uscc(type_code: str, authority: str = "9", org8: str = "MA4L1A2B") -> Uscc:
    first17 = authority + type_code + "433101" + org8 + organisation_check(org8)
    return Uscc.parse(first17 + check_character(first17))


def test_the_rules_are_domain_md_s_table() -> None:
    """Written out, so that a change to the table is a change to this test too."""
    assert KIND_RULES == {
        K.COMPANY: KindRules("1", capital=True, term=True),
        K.BRANCH: KindRules("1", term=True),
        K.PARTNERSHIP: KindRules("1", term=True),
        K.SOLE_PROPRIETORSHIP: KindRules("1"),
        K.COOPERATIVE: KindRules("3", capital=True),
        K.INDIVIDUAL_BUSINESS: KindRules("2", name_required=False, composition=True),
    }


def _good(kind: EntityKind, **over: Any) -> EntityDetails:
    """A valid entity of ``kind`` built with ``over`` replacing items (construction validates)."""
    rules = KIND_RULES[kind]
    items: dict[str, Any] = {
        "uscc": _uscc(rules.uscc_type_code), "kind": kind, "name": "湘西峒河生态农业科技有限公司",
        "entity_type": "有限责任公司（自然人投资或控股）", "representative": "向喆", "established_on": ESTABLISHED,
        "business_scope": "猕猴桃、椪柑、茶叶种植及销售", "address": "湖南省湘西土家族苗族自治州吉首市世纪大道88号",
        "capital": Capital(Decimal("350")) if rules.capital else None,
        "term": Term(ESTABLISHED, None) if rules.term else None,
        "composition": "个人经营" if rules.composition else None,
    }
    items.update(over)
    return EntityDetails(**items)


def _refusals(kind: EntityKind, **over: Any) -> set[tuple[str, str]]:
    with pytest.raises(InvalidInput) as e:
        _good(kind, **over)
    return {(x.field, x.code) for x in e.value.errors}


@pytest.mark.parametrize("kind", list(EntityKind))
def test_a_well_formed_entity_of_each_kind_is_accepted(kind: EntityKind) -> None:
    details = _good(kind)
    # and survives the record round trip (a stored USCC is taken as it was accepted, so legacy-marked)
    assert EntityDetails.from_record(details.as_record()).as_record() == details.as_record()


@pytest.mark.parametrize("kind", [k for k in EntityKind if KIND_RULES[k].capital])
def test_capital_required(kind: EntityKind) -> None:
    assert _refusals(kind, capital=None) == {("registered_capital", "required")}


@pytest.mark.parametrize("kind", [k for k in EntityKind if not KIND_RULES[k].capital])
def test_capital_not_allowed(kind: EntityKind) -> None:
    assert _refusals(kind, capital=Capital(Decimal("10"))) == {("registered_capital", "not_allowed")}


@pytest.mark.parametrize("kind", [k for k in EntityKind if KIND_RULES[k].term])
def test_term_required(kind: EntityKind) -> None:
    assert _refusals(kind, term=None) == {("term", "required")}


@pytest.mark.parametrize("kind", [k for k in EntityKind if not KIND_RULES[k].term])
def test_term_not_allowed(kind: EntityKind) -> None:
    assert _refusals(kind, term=Term(ESTABLISHED)) == {("term", "not_allowed")}


@pytest.mark.parametrize("composition", [None, "合伙经营"])
def test_an_individual_business_states_its_composition(composition: str | None) -> None:
    assert _refusals(K.INDIVIDUAL_BUSINESS, composition=composition) == {("composition", "required")}
    assert _good(K.INDIVIDUAL_BUSINESS, composition="家庭经营").composition == "家庭经营"


@pytest.mark.parametrize("kind", [k for k in EntityKind if not KIND_RULES[k].composition])
def test_composition_not_allowed(kind: EntityKind) -> None:
    assert _refusals(kind, composition="个人经营") == {("composition", "not_allowed")}


@pytest.mark.parametrize("kind", [k for k in EntityKind if KIND_RULES[k].name_required])
@pytest.mark.parametrize("name", [None, ""])
def test_name_required(kind: EntityKind, name: str | None) -> None:
    assert _refusals(kind, name=name) == {("name", "required")}


def test_an_individual_business_may_have_no_name() -> None:
    assert _good(K.INDIVIDUAL_BUSINESS, name=None).name is None


@pytest.mark.parametrize("kind", list(EntityKind))
def test_the_uscc_type_code_matches_the_kind(kind: EntityKind) -> None:
    wrong = next(c for c in "123" if c != KIND_RULES[kind].uscc_type_code)
    assert _refusals(kind, uscc=_uscc(wrong)) == {("uscc", "uscc.entity_kind")}


def test_a_license_is_for_a_market_regulation_code() -> None:
    assert _refusals(K.COMPANY, uscc=_uscc("1", authority="5")) == {("uscc", "uscc.authority")}


def test_a_legacy_code_skips_the_authority_and_type_checks() -> None:
    code = _uscc("2", authority="5").value  # wrong authority and type for a company, but allow-listed
    legacy = Uscc.parse(code, legacy_allow=frozenset({code}))
    assert _good(K.COMPANY, uscc=legacy).uscc.legacy


def test_the_term_starts_no_earlier_than_the_establishment() -> None:
    assert _refusals(K.COMPANY, term=Term(date(2018, 5, 30))) == {("term.from", "term.before_establishment")}


def test_every_broken_rule_is_reported_together() -> None:
    got = _refusals(K.BRANCH, name=None, capital=Capital(Decimal("1")), term=None, composition="个人经营",
                    uscc=_uscc("2"))
    assert got == {("name", "required"), ("registered_capital", "not_allowed"), ("term", "required"),
                   ("composition", "not_allowed"), ("uscc", "uscc.entity_kind")}


# -- the value objects ---------------------------------------------------------------------------
@pytest.mark.parametrize("build,field,code", [
    (lambda: Capital(Decimal("100"), unit="元"), "unit", "capital.unit"),
    (lambda: Capital(Decimal("100"), currency="XYZ"), "currency", "capital.currency"),
    (lambda: Capital(Decimal("0")), "amount", "capital.positive"),
    (lambda: Capital(Decimal("-1")), "amount", "capital.positive"),
    (lambda: Capital(Decimal("NaN")), "amount", "capital.positive"),
    (lambda: Term(date(2018, 5, 31), date(2018, 5, 30)), "to", "term.order"),
])
def test_value_objects_refuse_invalid_state(build: Any, field: str, code: str) -> None:
    with pytest.raises(FieldError) as e:
        build()
    assert (e.value.field, e.value.code) == (field, code)


def test_an_open_ended_term_and_a_one_day_term_are_valid() -> None:
    assert Term(ESTABLISHED).end is None  # 长期
    assert Term(ESTABLISHED, ESTABLISHED).end == ESTABLISHED


def test_capital_keeps_exact_decimals() -> None:
    assert Capital(Decimal("1280.50")).as_record() == {"amount": "1280.5", "unit": "万元", "currency": "CNY"}
    assert replace(_good(K.COMPANY), capital=Capital(Decimal("0.000001"))).capital is not None  # one 分
