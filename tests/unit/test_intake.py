"""Intake (license_service/intake.py ``parse_registration``): a v1 registration body to a validated
domain event, at a given time. Good bodies of every registration kind and entity kind; bad ones each
refused with the field and the rule it breaks, all of them in one answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from license_service.domain.entity import EntityKind
from license_service.domain.errors import InvalidInput
from license_service.domain.lifecycle import RegistrationKind
from license_service.domain.uscc import check_character, organisation_check
from license_service.intake import RegistrationIn, parse_registration

AT = datetime(2018, 6, 1, 9, 0, tzinfo=UTC)  # the time of the check: after every decision below
DECIDED = "2018-05-31T10:00:00+08:00"
TYPE_CODE = {"company": "1", "branch": "1", "partnership": "1", "sole_proprietorship": "1", "cooperative": "3",
             "individual_business": "2"}


def _uscc(type_code: str = "1", org8: str = "MA4L1A2B") -> str:
    first17 = "9" + type_code + "433101" + org8 + organisation_check(org8)
    return first17 + check_character(first17)


def _bad_check(code: str) -> str:
    """``code`` with a check character (position 18) that GB 32100 s.4.2 refuses."""
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def _entity(kind: str = "company", **over: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "uscc": _uscc(TYPE_CODE[kind]), "name": "湘西峒河生态农业科技有限公司", "entity_kind": kind,
        "entity_type": "有限责任公司（自然人投资或控股）", "representative": "向喆",
        "registered_capital": {"amount": "350", "unit": "万元", "currency": "CNY"} if kind in (
            "company", "cooperative") else None,
        "established_on": "2018-05-31",
        "term": {"from": "2018-05-31", "to": None} if kind in ("company", "branch", "partnership") else None,
        "business_scope": "猕猴桃、椪柑、茶叶种植及销售", "address": "湖南省湘西土家族苗族自治州吉首市世纪大道88号",
        "composition": "个人经营" if kind == "individual_business" else None,
    }
    e.update(over)
    return e


def _body(kind: str = "establishment", entity: dict[str, Any] | None = None, **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"event_id": "T-1", "kind": kind, "decided_at": DECIDED,
                         "authority": {"name": "湘西土家族苗族自治州市场监督管理局", "division_code": "433100"},
                         "entity": _entity() if entity is None else entity}
    b.update(over)
    return b


def _parse(body: dict[str, Any], *, legacy: frozenset[str] = frozenset(), at: datetime = AT) -> Any:
    return parse_registration(RegistrationIn.model_validate(body), legacy, at=at)


def _refusals(body: dict[str, Any], **kw: Any) -> set[tuple[str, str]]:
    with pytest.raises(InvalidInput) as e:
        _parse(body, **kw)
    return {(x.field, x.code) for x in e.value.errors}


# -- accepted -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(EntityKind))
def test_an_establishment_of_each_entity_kind(kind: EntityKind) -> None:
    ev = _parse(_body(entity=_entity(kind.value)))
    assert ev.kind is RegistrationKind.ESTABLISHMENT and ev.details is not None
    assert ev.details.kind is kind and ev.uscc.value == _uscc(TYPE_CODE[kind.value])
    assert ev.authority.division_code == "433100" and ev.reason is None


def test_a_change_carries_the_items() -> None:
    ev = _parse(_body("change", _entity(address="吉首市人民路9号"), reason="变更住所"))
    assert ev.kind is RegistrationKind.CHANGE and ev.details is not None and ev.details.address == "吉首市人民路9号"


@pytest.mark.parametrize("kind", ["cancellation", "revocation", "replacement"])
def test_uscc_and_reason_suffice_for_the_other_kinds(kind: str) -> None:
    ev = _parse(_body(kind, {"uscc": _uscc()}, reason="遗失补发"))
    assert ev.kind is RegistrationKind(kind) and ev.details is None and ev.reason == "遗失补发"


def test_the_uscc_is_normalised() -> None:
    code = _uscc()
    ev = _parse(_body("cancellation", {"uscc": f" {code[:8].lower()}-{code[8:]} "}, reason="解散"))
    assert ev.uscc.value == code


def test_a_legacy_code_on_the_allow_list_is_accepted() -> None:
    legacy = _bad_check(_uscc())  # stands for a genuine early pilot code
    assert _parse(_body("cancellation", {"uscc": legacy}, reason="解散"), legacy=frozenset({legacy})).uscc.legacy


def test_the_digest_names_the_body() -> None:
    a, b = _parse(_body()), _parse(_body())
    assert a.body_sha256 == b.body_sha256 and len(a.body_sha256) == 64
    assert _parse(_body(entity=_entity(address="吉首市人民路9号"))).body_sha256 != a.body_sha256


def test_a_decision_a_little_ahead_of_our_clock_is_accepted() -> None:
    """The registration system's clock may run up to five minutes ahead of ours."""
    decided = datetime(2018, 5, 31, 2, 0, tzinfo=UTC)
    ev = _parse(_body(decided_at=decided.isoformat()), at=datetime(2018, 5, 31, 1, 56, tzinfo=UTC))
    assert ev.decided_at == decided


# -- refused, naming each field and rule ------------------------------------------------------------
@pytest.mark.parametrize("entity,refusal", [
    (_entity(uscc=_bad_check(_uscc())), ("entity.uscc", "uscc.check_character")),
    (_entity(uscc=_uscc()[:17]), ("entity.uscc", "uscc.length")),
    (_entity(uscc=_uscc("2")), ("entity.uscc", "uscc.entity_kind")),
    (_entity(registered_capital=None), ("entity.registered_capital", "required")),
    (_entity("branch", registered_capital={"amount": "1", "unit": "万元", "currency": "CNY"}),
     ("entity.registered_capital", "not_allowed")),
    (_entity(term=None), ("entity.term", "required")),
    (_entity("cooperative", term={"from": "2018-05-31", "to": None}), ("entity.term", "not_allowed")),
    (_entity("individual_business", composition=None), ("entity.composition", "required")),
    (_entity(composition="家庭经营"), ("entity.composition", "not_allowed")),
    (_entity(name=None), ("entity.name", "required")),
    (_entity(term={"from": "2018-05-30", "to": None}), ("entity.term.from", "term.before_establishment")),
    (_entity(term={"from": "2018-05-31", "to": "2018-05-30"}), ("entity.term.to", "term.order")),
    (_entity(registered_capital={"amount": "1", "unit": "万元", "currency": "XYZ"}),
     ("entity.registered_capital.currency", "capital.currency")),
    (_entity(established_on="2018-06-01"), ("entity.established_on", "date.after_decision")),
], ids=lambda v: v[1] if isinstance(v, tuple) else "")
def test_a_bad_establishment_names_the_field_and_the_rule(entity: dict[str, Any], refusal: tuple[str, str]) -> None:
    assert _refusals(_body(entity=entity)) == {refusal}


@pytest.mark.parametrize("item", ["entity_kind", "entity_type", "representative", "established_on", "business_scope",
                                  "address"])
@pytest.mark.parametrize("kind", ["establishment", "change"])
def test_the_full_items_are_required_for_establishment_and_change(kind: str, item: str) -> None:
    assert _refusals(_body(kind, _entity("company", **{item: None}))) == {(f"entity.{item}", "required")}


@pytest.mark.parametrize("kind", ["cancellation", "revocation", "replacement"])
def test_the_other_kinds_state_a_reason(kind: str) -> None:
    assert _refusals(_body(kind, {"uscc": _uscc()})) == {("reason", "required")}


def test_a_decision_in_the_future_is_refused() -> None:
    refused = _refusals(_body(decided_at="2018-06-01T09:05:01+00:00"), at=AT)
    assert refused == {("decided_at", "date.future")}


def test_every_broken_rule_is_reported_together() -> None:
    body = _body(entity=_entity(uscc=_uscc()[:17], representative=None), decided_at="2030-01-01T00:00:00+08:00")
    assert _refusals(body) == {("entity.uscc", "uscc.length"), ("entity.representative", "required"),
                               ("decided_at", "date.future")}


def test_per_kind_rules_are_reported_together() -> None:
    entity = _entity("branch", name=None, registered_capital={"amount": "1", "unit": "万元", "currency": "CNY"},
                     term=None, composition="个人经营")
    assert _refusals(_body(entity=entity)) == {
        ("entity.name", "required"), ("entity.registered_capital", "not_allowed"), ("entity.term", "required"),
        ("entity.composition", "not_allowed")}


@pytest.mark.parametrize("body", [
    _body(extra="x"),  # unknown fields are refused everywhere
    _body(entity=_entity(nickname="x")),
    _body(kind="reissue"),  # re-issuance is the registrar's own act, never sent by the registration system
    _body(decided_at="2018-05-31T10:00:00"),  # a time without its offset
    _body(entity=_entity(registered_capital={"amount": "0", "unit": "万元", "currency": "CNY"})),
    _body(entity=_entity(registered_capital={"amount": "1", "unit": "元", "currency": "CNY"})),
    _body(authority={"name": "湘西", "division_code": "43310"}),
    _body(event_id="has space"),
])
def test_the_contract_model_refuses_malformed_bodies(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RegistrationIn.model_validate(body)
