from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_37_36  # independent ISO/IEC 7064 implementation

from license_service.domain.errors import InputError
from license_service.domain.identifiers import LicenseId, LicenseSerial, mod37_36
from license_service.domain.numerals import capital_in_words, format_date, format_term, yuan_in_words


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=60))
def test_mod37_36_agrees_with_stdnum(text: str) -> None:
    assert mod37_36(text) == mod_37_36.calc_check_digit(text)
    assert mod_37_36.is_valid(text + mod37_36(text))


def test_license_id_round_trip_and_check() -> None:
    lid = LicenseId("DEVBL001", "DEVISSUER", "43310020180531000001", 2)
    text = str(lid)
    assert text.startswith("1.2.156.3005.2.DEVBL001.DEVISSUER.43310020180531000001.002.")
    assert LicenseId.parse(text) == lid
    wrong = text[:-1] + ("0" if text[-1] != "0" else "1")
    with pytest.raises(InputError) as e:
        LicenseId.parse(wrong)
    assert e.value.code == "identifier.check"


def test_serial() -> None:
    assert LicenseSerial.compose("433100", date(2018, 5, 31), 7).value == "43310020180531000007"
    with pytest.raises(InputError):
        LicenseSerial("123")


@pytest.mark.parametrize("amount,words", [
    ("100", "人民币壹佰万元整"), ("350", "人民币叁佰伍拾万元整"), ("5", "人民币伍万元整"), ("0.5", "人民币伍仟元整"),
    ("12.5", "人民币壹拾贰万伍仟元整"), ("10000", "人民币壹亿元整"), ("1000.0101", "人民币壹仟万零壹佰零壹元整"),
    ("100010", "人民币壹拾亿零壹拾万元整"), ("0.000001", "人民币壹分"), ("1280.5", "人民币壹仟贰佰捌拾万伍仟元整"),
    ("0.00105", "人民币壹拾元伍角"), ("0.000105", "人民币壹元零伍分"),
])
def test_capital_in_chinese_capital_numerals(amount: str, words: str) -> None:
    assert capital_in_words(Decimal(amount), "CNY") == words


def test_capital_other_currency_and_limits() -> None:
    assert capital_in_words(Decimal("10"), "USD") == "美元壹拾万元整"
    with pytest.raises(InputError):
        yuan_in_words(Decimal("0.001"))
    with pytest.raises(InputError):
        capital_in_words(Decimal("1"), "XXX")


def test_dates_and_terms() -> None:
    assert format_date(date(2018, 5, 31)) == "2018年05月31日"
    assert format_term(date(2018, 5, 31), None) == "2018年05月31日 至 长期"
    assert format_term(date(2018, 5, 31), date(2048, 5, 30)) == "2018年05月31日 至 2048年05月30日"
