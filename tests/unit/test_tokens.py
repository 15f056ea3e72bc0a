"""Regression tests for the token wrapper (DESIGN.md): none of these may verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing.keys.devpki import write_private_key
from signing.keys.files import TokenSigningKey
from signing.tokens import MAX_TOKEN_LENGTH, CachingVerifier, InvalidToken, Keyring, sign_claims, verify_claims


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TokenSigningKey:
    p = tmp_path_factory.mktemp("k") / "t.key"
    write_private_key(p, ec.generate_private_key(ec.SECP256R1()))
    return TokenSigningKey.from_pem(p.read_text())


@pytest.fixture(scope="module")
def ring(key: TokenSigningKey) -> Keyring:
    return Keyring.from_jwks({"keys": [key.public_jwk]})


CLAIMS = {"uscc": "91433101MA4L1A2B9M", "name": "湘西𠮷祥科技有限公司", "sn": "43310020180531000001", "ver": 1}
AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_round_trip_and_kid_is_rfc7638(key: TokenSigningKey, ring: Keyring) -> None:
    tok = sign_claims(CLAIMS, key)
    assert verify_claims(tok, ring, at=AT) == CLAIMS
    header = json.loads(base64.urlsafe_b64decode(tok.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["kid"] == key.kid
    # RFC 7638 s.3.1 by hand
    jwk = key.public_jwk
    members = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    assert key.kid == _b64(hashlib.sha256(members.encode()).digest())
    assert "湘西" in base64.urlsafe_b64decode(tok.split(".")[1] + "==").decode()  # unescaped UTF-8


def _forge(header: dict[str, object], payload: dict[str, object], sig: bytes = b"") -> str:
    h = _b64(json.dumps(header).encode())
    p = _b64(json.dumps(payload).encode())
    return f"{h}.{p}.{_b64(sig)}"


def _reason(token: str, ring: Keyring, *, at: datetime = AT) -> str:
    with pytest.raises(InvalidToken) as e:
        verify_claims(token, ring, at=at)
    return e.value.reason


def test_alg_none(key: TokenSigningKey, ring: Keyring) -> None:
    assert _reason(_forge({"alg": "none", "kid": key.kid}, CLAIMS), ring) == "token.alg"
    assert _reason(_forge({"alg": "None", "kid": key.kid}, CLAIMS), ring) == "token.alg"


def _public_forms(key: TokenSigningKey) -> dict[str, bytes]:
    pub = serialization.load_pem_private_key(key.private_pem.encode(), None).public_key()
    return {
        "pem": pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "ssh": pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
    }


@pytest.mark.parametrize("form", ["pem", "der", "ssh"])
def test_hs256_keyed_with_our_public_key(key: TokenSigningKey, ring: Keyring, form: str) -> None:
    secret = _public_forms(key)[form]
    h = _b64(json.dumps({"alg": "HS256", "kid": key.kid}).encode())
    p = _b64(json.dumps(CLAIMS).encode())
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert _reason(f"{h}.{p}.{_b64(sig)}", ring) == "token.alg"


def test_unknown_kid(key: TokenSigningKey, ring: Keyring) -> None:
    tok = sign_claims(CLAIMS, key)
    other = Keyring.from_jwks({"keys": []})
    assert _reason(tok, other) == "token.unknown_kid"


def test_oversized(key: TokenSigningKey, ring: Keyring) -> None:
    tok = sign_claims({**CLAIMS, "pad": "x" * MAX_TOKEN_LENGTH}, key)
    assert _reason(tok, ring) == "token.oversized"


def test_one_payload_character_changed(key: TokenSigningKey, ring: Keyring) -> None:
    h, p, s = sign_claims(CLAIMS, key).split(".")
    payload = base64.urlsafe_b64decode(p + "==").replace(b"9M", b"9N")
    assert _reason(f"{h}.{_b64(payload)}.{s}", ring) == "token.signature"


@pytest.mark.parametrize("bad", ["", "a.b", "a.b.c.d", "!!!.x.y", _b64(b"[1]") + ".x.y"])
def test_malformed(ring: Keyring, bad: str) -> None:
    assert _reason(bad, ring) == "token.malformed"


def test_expiry_and_not_before(key: TokenSigningKey, ring: Keyring) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    t = int(at.timestamp())
    assert _reason(sign_claims({**CLAIMS, "exp": t}, key), ring, at=at) == "token.expired"
    assert _reason(sign_claims({**CLAIMS, "nbf": t + 60}, key), ring, at=at) == "token.not_yet_valid"
    assert verify_claims(sign_claims({**CLAIMS, "exp": t + 1}, key), ring, at=at)["ver"] == 1


def test_the_time_is_required_so_an_expired_token_is_always_refused(key: TokenSigningKey, ring: Keyring) -> None:
    """Before, ``at=None`` skipped the time claims; now there is no way to verify without a time."""
    expired = sign_claims({**CLAIMS, "exp": int(AT.timestamp()) - 1}, key)
    with pytest.raises(TypeError):
        verify_claims(expired, ring)  # type: ignore[call-arg]
    assert _reason(expired, ring, at=AT) == "token.expired"
    # the cache remembers signatures, never times: the same token is refused once it has expired
    verifier = CachingVerifier(ring)
    assert verifier.verify(expired, at=AT - timedelta(seconds=2))["ver"] == 1
    with pytest.raises(InvalidToken) as e:
        verifier.verify(expired, at=AT)
    assert e.value.reason == "token.expired"


def test_embedded_key_headers_are_refused(key: TokenSigningKey, ring: Keyring) -> None:
    _, p, s = sign_claims(CLAIMS, key).split(".")
    header = {"alg": "ES256", "kid": key.kid, "jwk": key.public_jwk}
    assert _reason(f"{_b64(json.dumps(header).encode())}.{p}.{s}", ring) == "token.malformed"


def test_an_empty_signature_with_a_known_key_is_malformed_not_a_crash(key: TokenSigningKey, ring: Keyring) -> None:
    assert _reason(_forge({"alg": "ES256", "kid": key.kid, "typ": "JWT"}, CLAIMS), ring) == "token.malformed"


def test_each_kind_of_token_has_its_typ(key: TokenSigningKey, ring: Keyring) -> None:
    """RFC 8725 s.3.11: a JWS of one kind never passes for another, even under the same key."""
    assert verify_claims(sign_claims(CLAIMS, key), ring, at=AT) == CLAIMS
    assert _reason(sign_claims(CLAIMS, key, typ="at+jwt"), ring) == "token.typ"
    assert verify_claims(sign_claims(CLAIMS, key, typ="vc+jwt"), ring, at=AT, typ="vc+jwt") == CLAIMS
