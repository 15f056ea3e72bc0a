from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc  # independent implementation of the mod-31 check

from license_service.domain.uscc import ALPHABET, Uscc, UsccError, check_character, organisation_check

VALID = ["91433101MA4L1A2B9M", "92433123MA4L5E9F96", "93433124MA4L2G4H2Q", "92433130MA4LD6PXXA",
         "91350100M000100Y43"]
INVALID = [
    ("91433101MA4L1A2B9N", "uscc.check_character", "should be M"),
    ("91433101MA4I1A2B9M", "uscc.alphabet", "'I'"),
    ("91433101MA4L1A2B9", "uscc.length", "18"),
    ("9143310AMA4L1A2B9P", "uscc.division", "43310A"),
    ("91433101MA4L1A2B59", "uscc.organisation_check", "should be 9"),
]


@pytest.mark.parametrize("code", VALID)
def test_domain_examples_are_valid(code: str) -> None:
    assert Uscc.parse(code).value == code


@pytest.mark.parametrize("code,rule,says", INVALID)
def test_domain_examples_are_refused_naming_the_rule(code: str, rule: str, says: str) -> None:
    with pytest.raises(UsccError) as e:
        Uscc.parse(code)
    assert e.value.code == rule and says in e.value.detail


def test_normalisation() -> None:
    assert Uscc.parse(" 91433101-ma4l1a2b9m ").value == "91433101MA4L1A2B9M"


def test_legacy_allow_list_lets_a_known_pilot_code_through() -> None:
    legacy = "91433101MA4L1A2B9N"  # fails the mod-31 check; stands for a genuine early pilot code
    assert Uscc.parse(legacy, legacy_allow=frozenset({legacy})).legacy
    with pytest.raises(UsccError):
        Uscc.parse(legacy)


def test_unknown_division_warns_but_is_accepted() -> None:
    first17 = "91993101MA4L1A2B" + organisation_check("MA4L1A2B")
    code = Uscc.parse(first17 + check_character(first17))
    assert code.warnings and "99" in code.warnings[0]


def test_constructor_refuses_invalid_state() -> None:
    with pytest.raises(UsccError):
        Uscc("91433101MA4L1A2B9N")


@given(st.text(alphabet=ALPHABET[1:], min_size=8, max_size=8), st.sampled_from(["433101", "110105", "350100"]))
def test_check_character_agrees_with_stdnum(org8: str, division: str) -> None:
    first17 = "91" + division + org8 + organisation_check(org8)
    code = first17 + check_character(first17)
    assert stdnum_uscc.is_valid(code)
    Uscc.parse(code)
