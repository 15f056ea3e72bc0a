"""The token endpoint's pure parts (``login.exchange``): reading the form (RFC 6749 s.3.1, s.3.2,
Appendix B) and the access token's form (it names its code's row)."""

from __future__ import annotations

import hashlib

import pytest

from license_service.errors import TokenRequestRefused
from license_service.login.exchange import access_token_for, code_of_access_token, token_form

_FORM = "application/x-www-form-urlencoded"


def test_form_is_read() -> None:
    body = b"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fp.example%2Fcb&code_verifier=a+b"
    assert token_form(body, _FORM + "; charset=UTF-8") == {
        "grant_type": "authorization_code", "code": "abc", "redirect_uri": "https://p.example/cb",
        "code_verifier": "a b"}


def test_empty_values_are_as_if_omitted() -> None:  # RFC 6749 s.3.1
    assert token_form(b"grant_type=authorization_code&code=&scope=", _FORM) == {"grant_type": "authorization_code"}
    assert token_form(b"", _FORM) == {}


@pytest.mark.parametrize(("body", "content_type"), [
    (b"code=a&code=b", _FORM),                      # repeated (s.3.2)
    (b"code=a", "application/json"),                 # not a form
    (b"code=a", None),
    (b"code=\xe4", _FORM),                           # not ASCII
    (b"code=%ff", _FORM),                            # an escape that is not UTF-8
    (b"code", _FORM),                                # no '='
    (b"&".join(b"p%d=1" % i for i in range(17)), _FORM),  # more fields than any token request has
])
def test_malformed_forms_are_invalid_requests(body: bytes, content_type: str | None) -> None:
    with pytest.raises(TokenRequestRefused) as e:
        token_form(body, content_type)
    assert e.value.code == "invalid_request"


def test_access_token_names_its_code() -> None:
    digest = hashlib.sha256(b"some code").hexdigest()
    a, b = access_token_for(digest), access_token_for(digest)
    assert a != b and len(a) == 87 and a.isascii()
    assert code_of_access_token(a) == code_of_access_token(b) == digest


@pytest.mark.parametrize("token", ["", "x", "a" * 87, "a" * 43 + "." + "b" * 42, "!" * 43 + "." + "b" * 43,
                                   "a" * 43 + ":" + "b" * 43])
def test_other_strings_name_no_code(token: str) -> None:
    assert code_of_access_token(token) is None
