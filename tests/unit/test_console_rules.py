"""The console's pure rules: divisions (GB/T 2260 codes covering the ones under them, an entity's
division from its USCC), roles, USCC-prefix reading and its narrowing to a division, and bigrams."""

from __future__ import annotations

import pytest

from license_service.console.search import _within, is_uscc_prefix
from license_service.db.name_index import bigrams
from license_service.domain.errors import FieldError
from license_service.domain.staff import Division, StaffRole


def test_divisions_cover_the_ones_under_them() -> None:
    prefecture, county = Division("433100"), Division("433101")
    assert prefecture.prefix == "4331" and county.prefix == "433101" and Division("430000").prefix == "43"
    assert prefecture.covers("91433101MA4L1A2B9M") and prefecture.covers("91433122MA4L1A2B9M")
    assert county.covers("91433101MA4L1A2B9M") and not county.covers("91433122MA4L1A2B9M")
    assert not prefecture.covers("91430100MA4L1A2B9M")
    assert prefecture.covers_division("433130") and not county.covers_division("433100")
    for bad in ("43310", "4331011", "033101", "四三三一〇一"):
        with pytest.raises(FieldError):
            Division(bad)


def test_roles() -> None:
    assert StaffRole.parse("clerk") is StaffRole.CLERK
    with pytest.raises(FieldError):
        StaffRole.parse("admin")


def test_a_uscc_prefix_is_narrowed_to_the_division() -> None:
    assert is_uscc_prefix("914331") and is_uscc_prefix("9") and not is_uscc_prefix("湘西")
    assert not is_uscc_prefix("ABC")  # a name in Latin letters, not a USCC
    county = Division("433101")
    assert _within("914331", county) == "91433101"
    assert _within("91433101MA", county) == "91433101MA"
    assert _within("91433122", county) is None
    assert _within("91433122", Division("433100")) == "91433122"
    assert _within("9", county) == "9" and _within("91", Division("433100")) == "914331"
    assert _within("914331", None) == "914331"


def test_bigrams() -> None:
    assert bigrams("湘西酉水") == {"湘西", "西酉", "酉水"}
    assert bigrams("ABab") == {"ab", "ba"}  # case-folded
    assert bigrams("湘") == set() and bigrams("") == set()
