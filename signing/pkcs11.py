"""Key custody in an HSM (PKCS#11, through python-pkcs11): the PAdES document signer's key and the
token key are used inside the token and never leave it; certificates, the JWKS and the rest of the
keys folder stay files.

Selected by configuration (``ELICENSE_KEY_PROVIDER=pkcs11`` with the module, token label, PIN and key
labels). The suite runs it against SoftHSM2. ``generate_keys`` makes the two keys inside a token
(non-extractable, sensitive) and writes what the folder needs for them: the document signer's
certificate (from the development issuing CA; in production the authority's CA certifies the
public key) and the token key's JWK.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from .devpki import dev_ca, issue_document_signer, write_atomically
from .errors import KeyMaterialError, SigningError
from .keys import FileKeyProvider
from .rotation import publish_key
from .tokens import public_jwk_of

__all__ = ["HsmEcKey", "Pkcs11KeyProvider", "generate_keys"]

_P256 = "secp256r1"


class _Token:
    """One PKCS#11 session, opened on first use and shared (python-pkcs11 sessions are not meant for
    concurrent use: a lock serializes the operations)."""

    def __init__(self, module: str, label: str, pin: str) -> None:
        self._module, self._label, self._pin = module, label, pin
        self._lock = threading.Lock()
        self._session: Any = None

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self._lock:
            if self._session is None:
                try:
                    token = pkcs11.lib(self._module).get_token(token_label=self._label)
                    try:
                        self._session = token.open(user_pin=self._pin, rw=True)
                    except pkcs11.exceptions.UserAlreadyLoggedIn:  # login is per process: another session did
                        self._session = token.open(rw=True)
                except (pkcs11.PKCS11Error, RuntimeError) as e:
                    raise KeyMaterialError(f"the HSM token {self._label!r} is out of reach: {type(e).__name__}",
                                           code="keys.hsm") from None
            yield self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None


@dataclass(frozen=True)
class HsmEcKey:
    """An ECDSA P-256 private key inside the token, with the interface our signers use of a
    ``cryptography`` key: ``sign(data, ECDSA(hash))`` returning a DER signature, and ``public_key()``.
    The digest is computed here; the token signs it (CKM_ECDSA)."""

    token: _Token
    label: str

    @cached_property
    def _public(self) -> ec.EllipticCurvePublicKey:
        with self.token.session() as s:
            pub = s.get_key(object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC, label=self.label)
            der = encode_ec_public_key(pub)
        key = serialization.load_der_public_key(der)
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def _raw(self, digest: bytes) -> bytes:
        try:
            with self.token.session() as s:
                priv = s.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=self.label)
                return bytes(priv.sign(digest, mechanism=Mechanism.ECDSA))
        except pkcs11.PKCS11Error as e:
            raise SigningError(f"the HSM refused to sign: {type(e).__name__}") from None

    def sign(self, data: bytes, signature_algorithm: ec.ECDSA) -> bytes:
        algorithm = signature_algorithm.algorithm
        assert isinstance(algorithm, hashes.HashAlgorithm)
        digest = hashes.Hash(algorithm)
        digest.update(data)
        raw = self._raw(digest.finalize())
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


@dataclass(frozen=True)
class _HsmTokenSigner:
    """The token key in the HSM, as ``sign_claims`` uses it (``TokenSigner``)."""

    key: HsmEcKey

    @cached_property
    def public_jwk(self) -> dict[str, str]:
        return public_jwk_of(self.key.public_key())

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    def sign_es256(self, signing_input: bytes) -> bytes:
        return self.key._raw(hashlib.sha256(signing_input).digest())


class Pkcs11KeyProvider(FileKeyProvider):
    """The keys folder's provider, with the PDF signer's and the token's private keys in an HSM."""

    def __init__(self, directory: Path, *, module: str, token_label: str, pin: str,
                 pdf_key_label: str = "document-signer", token_key_label: str = "token") -> None:
        super().__init__(directory)
        self._token = _Token(module, token_label, pin)
        self._pdf_key = HsmEcKey(self._token, pdf_key_label)
        self._token_key_hsm = _HsmTokenSigner(HsmEcKey(self._token, token_key_label))

    def _pdf_signer_key(self) -> ec.EllipticCurvePrivateKey:
        return self._pdf_key  # type: ignore[return-value]  # signs as one: sign(data, ECDSA(hash)), public_key()

    def token_signing_key(self) -> _HsmTokenSigner:  # type: ignore[override]
        return self._token_key_hsm


def generate_keys(directory: Path, *, module: str, token_label: str, pin: str,
                  pdf_key_label: str = "document-signer", token_key_label: str = "token",
                  at: datetime | None = None) -> dict[str, str]:
    """Generate the PDF signer's and the token's P-256 keys inside the token (sensitive, never
    extractable), then write the document signer's certificate from the development issuing CA (in
    production, its public key, ``document-signer.pub.pem``, for the authority's CA to certify) and add
    the token key's JWK to the JWKS as the current key. Returns the key labels and the new kid."""
    at = at or datetime.now(UTC)
    tok = _Token(module, token_label, pin)
    try:
        return _generate(directory, tok, pdf_key_label, token_key_label, at)
    finally:
        tok.close()


def _generate(directory: Path, tok: _Token, pdf_key_label: str, token_key_label: str,
              at: datetime) -> dict[str, str]:
    with tok.session() as s:
        for label in (pdf_key_label, token_key_label):
            params = s.create_domain_parameters(KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(_P256)},
                                                local=True)
            params.generate_keypair(store=True, label=label, private_template={
                Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True})
    pdf_key = HsmEcKey(tok, pdf_key_label)
    if dev_ca(directory) is not None:  # development: our own CA issues the certificate
        issue_document_signer(directory, pdf_key, at)  # type: ignore[arg-type]  # signs as one
        (directory / "document-signer.key").unlink(missing_ok=True)  # the private key lives in the HSM now
    else:
        write_atomically(directory / "document-signer.pub.pem", pdf_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    signer = _HsmTokenSigner(HsmEcKey(tok, token_key_label))
    publish_key(directory, "token", signer.public_jwk, at=at)
    (directory / "token.key").unlink(missing_ok=True)
    return {"pdf_key": pdf_key_label, "token_key": token_key_label, "kid": signer.kid}
