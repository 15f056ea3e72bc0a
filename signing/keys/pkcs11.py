"""Key custody in an HSM (PKCS#11, through python-pkcs11): the PAdES document signer's key and the
token key are used inside the token and never leave it; certificates, the JWKS and the rest of the
keys folder stay files.

Selected by configuration (``ELICENSE_KEY_PROVIDER=pkcs11`` with the module, token label, PIN and key
labels). ``Pkcs11Signers`` is the ``Signers`` of ``api`` by composition: the HSM's signers for the PDF
signer and the token key, a ``FileSigners`` for the rest. The suite runs it against SoftHSM2.
``generate_keys`` makes the two keys inside a token (non-extractable, sensitive) and writes what the
folder needs for them: the document signer's certificate (from the development issuing CA; in
production the authority's CA certifies the public key) and the token key's JWK.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ..errors import KeyMaterialError, SigningError
from ..note_signing import NoteSigner
from ..tokens import TokenSigner, public_jwk_of
from .api import PdfSigningMaterial
from .devpki import dev_ca, issue_document_signer, write_atomically
from .files import FileSigners
from .rotation import publish_key

__all__ = ["HsmEcSigner", "Pkcs11Signers", "generate_keys"]

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
class HsmEcSigner:
    """An ``EcSigner`` whose ECDSA P-256 private key stays inside the token: the digest is computed
    here, the token signs it (CKM_ECDSA, PKCS#11 v2.40 s.2.3.6) and returns R || S."""

    token: _Token
    label: str

    @cached_property
    def _public(self) -> ec.EllipticCurvePublicKey:
        with self.token.session() as s:
            pub = s.get_key(object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC, label=self.label)
            der = encode_ec_public_key(pub)
        key = serialization.load_der_public_key(der)
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise KeyMaterialError(f"the HSM key {self.label!r} is not ECDSA P-256", code="keys.wrong_type")
        return key

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The key's public half, read from the token once. Raises ``KeyMaterialError``."""
        return self._public

    def sign_digest(self, digest: bytes) -> bytes:
        """The token's raw ECDSA signature over ``digest``: R || S, 32 bytes each. Raises
        ``SigningError`` if the token refuses, ``KeyMaterialError`` if it is out of reach."""
        try:
            with self.token.session() as s:
                priv = s.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=self.label)
                return bytes(priv.sign(digest, mechanism=Mechanism.ECDSA))
        except pkcs11.PKCS11Error as e:
            raise SigningError(f"the HSM refused to sign: {type(e).__name__}") from None

    def sign(self, data: bytes, hash_algorithm: str) -> bytes:
        """The DER ECDSA signature over ``data`` hashed with ``hash_algorithm`` (``"sha256"``...)."""
        digest = hashes.Hash(get_pyca_cryptography_hash(hash_algorithm))
        digest.update(data)
        raw = self.sign_digest(digest.finalize())
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


@dataclass(frozen=True)
class _HsmTokenSigner:
    """The token key in the HSM, as ``sign_claims`` uses it (``TokenSigner``)."""

    key: HsmEcSigner

    @cached_property
    def public_jwk(self) -> dict[str, str]:
        return public_jwk_of(self.key.public_key())

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    def sign_es256(self, signing_input: bytes) -> bytes:
        """RFC 7518 s.3.4: the token's ECDSA P-256 SHA-256 signature, R || S."""
        return self.key.sign_digest(hashlib.sha256(signing_input).digest())


class Pkcs11Signers:
    """``Signers`` with the PDF signer's and the token's private keys in an HSM, and the rest (access
    key, TSA, log key, the certificates and CRLs) from the keys folder's ``FileSigners``."""

    def __init__(self, directory: Path, *, module: str, token_label: str, pin: str,
                 pdf_key_label: str = "document-signer", token_key_label: str = "token") -> None:
        self._files = FileSigners(directory)
        self._token = _Token(module, token_label, pin)
        self._pdf_signer = HsmEcSigner(self._token, pdf_key_label)
        self._token_signer = _HsmTokenSigner(HsmEcSigner(self._token, token_key_label))

    def token_signer(self) -> TokenSigner:
        """The QR-token key, in the HSM."""
        return self._token_signer

    def access_signer(self) -> TokenSigner:
        """The access-token key, from the keys folder."""
        return self._files.access_signer()

    def id_token_signer(self) -> TokenSigner:
        """The ID-token key, from the keys folder."""
        return self._files.id_token_signer()

    def status_signer(self) -> TokenSigner:
        """The status lists' key, from the keys folder."""
        return self._files.status_signer()

    @cached_property
    def _pdf(self) -> PdfSigningMaterial:
        return self._files.pdf_signing_with(self._pdf_signer)

    def pdf_signing(self) -> PdfSigningMaterial:
        """The document signer in the HSM, with the folder's certificates and TSA."""
        return self._pdf

    def log_signer(self) -> NoteSigner:
        """The checkpoint signer, from the keys folder."""
        return self._files.log_signer()

    def revocation_data(self, at: datetime) -> tuple[bytes, ...]:
        """The revocation data as of ``at`` (``FileSigners.revocation_data``: CRLs and OCSP responses)."""
        return self._files.revocation_data(at)


def generate_keys(directory: Path, *, module: str, token_label: str, pin: str,
                  pdf_key_label: str = "document-signer", token_key_label: str = "token",
                  at: datetime) -> dict[str, str]:
    """Generate the PDF signer's and the token's P-256 keys inside the token (sensitive, never
    extractable), then write the document signer's certificate from the development issuing CA, valid
    from ``at`` (in production, its public key, ``document-signer.pub.pem``, for the authority's CA to
    certify) and add the token key's JWK to the JWKS as the current key from ``at``. Returns the key
    labels and the new kid. Raises ``KeyMaterialError`` if the token is out of reach."""
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
    pdf_key = HsmEcSigner(tok, pdf_key_label)
    if dev_ca(directory) is not None:  # development: our own CA issues the certificate
        issue_document_signer(directory, pdf_key.public_key(), at=at)
        (directory / "document-signer.key").unlink(missing_ok=True)  # the private key lives in the HSM now
    else:
        write_atomically(directory / "document-signer.pub.pem", pdf_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    signer = _HsmTokenSigner(HsmEcSigner(tok, token_key_label))
    publish_key(directory, "token", signer.public_jwk, at=at)
    (directory / "token.key").unlink(missing_ok=True)
    return {"pdf_key": pdf_key_label, "token_key": token_key_label, "kid": signer.kid}
