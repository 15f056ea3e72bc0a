"""The compact license token (form 2, ``signing/compact_tokens.py``): the same refusals as form 1
(tests/unit/test_tokens.py, tests/adversarial/token_malleability.py), and the two forms never pass for
each other."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import KeySet

from signing.compact_tokens import CompactClaims, CompactVerifier, is_compact, sign_compact
from signing.errors import SigningPackageError
from signing.keys.devpki import write_private_key
from signing.keys.files import TokenSigningKey
from signing.tokens import MAX_TOKEN_LENGTH, InvalidToken, Keyring, sign_claims, sign_jws, verify_claims
from tests.adversarial.token_malleability import P256_N, spellings

CLAIMS = CompactClaims("91433101MA4L1A2B9M", 3, 1527732000, 4_294_967_295)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TokenSigningKey:
    p = tmp_path_factory.mktemp("k") / "t.key"
    write_private_key(p, ec.generate_private_key(ec.SECP256R1()))
    return TokenSigningKey.from_pem(p.read_text())


@pytest.fixture(scope="module")
def ring(key: TokenSigningKey) -> Keyring:
    return Keyring.from_jwks({"keys": [key.public_jwk]})


def _reason(token: str, ring: Keyring) -> str:
    with pytest.raises(InvalidToken) as e:
        CompactVerifier(ring).verify(token)
    return e.value.reason


def _forge(header: dict[str, object], payload: object, sig: bytes = b"\x01" * 64) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{_b64(sig)}"


def test_round_trip_and_the_exact_spelling(key: TokenSigningKey, ring: Keyring) -> None:
    tok = sign_compact(CLAIMS, key)
    assert CompactVerifier(ring).verify(tok) == CLAIMS
    h, p, _ = tok.split(".")
    assert _decode(h) == b'{"alg":"ES256","kid":"' + key.kid.encode() + b'"}'  # no typ
    assert _decode(p) == b'["91433101MA4L1A2B9M",3,1527732000,4294967295]'
    assert is_compact(tok) and not is_compact(sign_claims({"uscc": CLAIMS.uscc}, key))
    assert not is_compact("not a token")


def test_any_jose_library_verifies_it_with_the_jwks(key: TokenSigningKey) -> None:
    """joserfc, which we do not use to sign, with the JWKS as published: the conformance check's way."""
    obj = jws.deserialize_compact(sign_compact(CLAIMS, key), KeySet.import_key_set({"keys": [key.public_jwk]}),
                                  algorithms=["ES256"])
    assert json.loads(obj.payload) == ["91433101MA4L1A2B9M", 3, 1527732000, 4294967295]


def test_the_two_forms_never_pass_for_each_other(key: TokenSigningKey, ring: Keyring) -> None:
    full = sign_claims({"uscc": CLAIMS.uscc, "ver": 3, "iat": CLAIMS.iat}, key)
    assert _reason(full, ring) == "token.typ"
    # an object payload under a compact header, and the compact payload under form 1's header
    assert _reason(sign_jws(b'{"uscc":"91433101MA4L1A2B9M"}', key, typ=None), ring) == "token.malformed"
    with pytest.raises(InvalidToken) as e:
        verify_claims(sign_jws(CLAIMS.payload(), key, typ="JWT"), ring, at=AT)
    assert e.value.reason == "token.malformed"
    with pytest.raises(InvalidToken) as e:
        verify_claims(sign_compact(CLAIMS, key), ring, at=AT)
    assert e.value.reason == "token.typ"


def test_one_payload_character_changed(key: TokenSigningKey, ring: Keyring) -> None:
    h, p, s = sign_compact(CLAIMS, key).split(".")
    assert _reason(f"{h}.{_b64(_decode(p).replace(b',3,', b',4,'))}.{s}", ring) == "token.signature"
    assert _reason(f"{h}.{_b64(_decode(p).replace(b'9M', b'9N'))}.{s}", ring) == "token.signature"


def test_alg_none_and_hs256_keyed_with_our_public_jwk(key: TokenSigningKey, ring: Keyring) -> None:
    assert _reason(_forge({"alg": "none", "kid": key.kid}, CLAIMS.payload().decode(), b""), ring) == "token.alg"
    h = _b64(json.dumps({"alg": "HS256", "kid": key.kid}).encode())
    p = _b64(CLAIMS.payload())
    mac = hmac.new(json.dumps(key.public_jwk).encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert _reason(f"{h}.{p}.{_b64(mac)}", ring) == "token.alg"


def test_unknown_kid(key: TokenSigningKey) -> None:
    assert _reason(sign_compact(CLAIMS, key), Keyring.from_jwks({"keys": []})) == "token.unknown_kid"


def test_oversized_is_refused_unread(key: TokenSigningKey, ring: Keyring) -> None:
    tok = sign_jws(b"[" + b"1," * MAX_TOKEN_LENGTH + b"1]", key, typ=None)
    assert _reason(tok, ring) == "token.oversized"


def test_other_spellings_high_s_included_are_refused(key: TokenSigningKey, ring: Keyring) -> None:
    tok = sign_compact(CLAIMS, key)
    assert int.from_bytes(_decode(tok.split(".")[2])[32:], "big") <= P256_N // 2
    for name, other in spellings(tok).items():
        assert _reason(other, ring) == "token.malformed", name


@pytest.mark.parametrize("payload", [
    ["91433101MA4L1A2B9M", 3, 1527732000],  # too short
    ["91433101MA4L1A2B9M", 3, 1527732000, 1, 1],  # too long
    ["91433101MA4L1A2B9M", True, 1527732000, 1],  # a boolean is not a version
    ["91433101MA4L1A2B9M", 3, 1527732000.0, 1],  # nor a float a time
    ["", 3, 1527732000, 1], ["91433101MA4L1A2B9M0", 3, 1527732000, 1],  # no subject, too long a subject
    ["91433101MA4L1A2B9M", 0, 1527732000, 1], ["91433101MA4L1A2B9M", 3, 1527732000, -1],
    {"uscc": "91433101MA4L1A2B9M"}, "91433101MA4L1A2B9M",
])
def test_a_genuine_signature_over_a_malformed_payload_is_malformed(key: TokenSigningKey, ring: Keyring,
                                                                   payload: object) -> None:
    assert _reason(sign_jws(json.dumps(payload).encode(), key, typ=None), ring) == "token.malformed"


def test_claims_refuse_invalid_state_on_construction() -> None:
    for bad in [("", 1, 0, 0), ("X" * 19, 1, 0, 0), ("X", 1000, 0, 0), ("X", 1, -1, 0), ("X", 1, 0, True)]:
        with pytest.raises(SigningPackageError):
            CompactClaims(*bad)  # type: ignore[arg-type]


def test_dangerous_headers_are_refused(key: TokenSigningKey, ring: Keyring) -> None:
    _, p, s = sign_compact(CLAIMS, key).split(".")
    for extra in ({"jwk": key.public_jwk}, {"crit": ["b64"], "b64": False}, {"jku": "https://evil.example/jwks"}):
        header = _b64(json.dumps({"alg": "ES256", "kid": key.kid, **extra}).encode())
        assert _reason(f"{header}.{p}.{s}", ring) == "token.malformed", extra


def test_key_windows_hold_as_for_form_1(key: TokenSigningKey) -> None:
    """A key compromised at T signs nothing that verifies with ``iat`` at or after T; a key retired at
    T nothing after T (``Keyring.check_window``, the same as form 1)."""
    jwk = key.public_jwk
    compromised = Keyring.from_jwks({"keys": [{**jwk, "compromised_at": CLAIMS.iat}]})
    retired = Keyring.from_jwks({"keys": [{**jwk, "retired_at": CLAIMS.iat - 1}]})
    tok = sign_compact(CLAIMS, key)
    assert _reason(tok, compromised) == "token.key_compromised"
    assert _reason(tok, retired) == "token.key_retired"
    earlier = sign_compact(CompactClaims(CLAIMS.uscc, 3, CLAIMS.iat - 1, 7), key)
    assert CompactVerifier(compromised).verify(earlier).sidx == 7


def test_an_invalid_token_is_never_cached(key: TokenSigningKey, ring: Keyring) -> None:
    verifier = CompactVerifier(ring)
    tok = sign_compact(CLAIMS, key)
    bad = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BA")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(bad)
    assert verifier.verify(tok) == CLAIMS


def test_the_qr_budget_holds_for_the_largest_values_and_a_39_character_base_url(key: TokenSigningKey) -> None:
    """README "Token formats": with a base URL of 39 characters at most, every license's QR code is of
    version 12 at most at level M: the longest USCC, version 999, an ``iat`` of ten digits (until the
    year 2286) and a status index of twelve (a million lists of 2^17 bits); at 40 characters not."""
    from license_service.claims import compact_claims
    from license_service.rendering.qr import qr_matrix
    from license_service.urls import verify_url

    worst = compact_claims(uscc="91433101MA4L1A2B9M", version=999, issued_at=datetime(2286, 11, 20, tzinfo=UTC),
                           status_index=10**12 - 1)
    assert len(str(worst.iat)) == 10
    tokens = [sign_compact(worst, key) for _ in range(4)]  # the signature's length is fixed, its text is not
    assert {len(t) for t in tokens} == {245}

    def version(base_length: int) -> int:
        base = "https://" + "v" * (base_length - len("https://.gov.cn")) + ".gov.cn"
        assert len(base) == base_length
        return max((len(qr_matrix(verify_url(base, t))) - 17) // 4 for t in tokens)

    assert (version(22), version(39), version(40)) == (12, 12, 13)
