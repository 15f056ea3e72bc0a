"""Signing keys held as files in a keys folder (development, and deployments that keep keys on disk):
``FileSigners`` (the ``Signers`` of ``api``), the signers it hands out (``EcKeySigner``,
``TokenSigningKey``), and ``ensure_dev_keys``, which makes whatever dev key material is missing.

Only the issuing side imports this module: it loads private keys.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ..errors import KeyMaterialError
from ..note_signing import NoteSigner
from ..tokens import public_jwk_of
from .api import JWKS_FILES, EcSigner, PdfSigningMaterial
from .devpki import dev_ocsp_responses, ensure_dev_crls, ensure_dev_pki, write_private_key
from .public import FilePublicKeys, read_key_file

__all__ = ["EcKeySigner", "FileSigners", "TokenSigningKey", "ensure_dev_keys"]


def _p256(key: object, what: str) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyMaterialError(f"{what} is not an ECDSA P-256 key", code="keys.wrong_type")
    return key


@dataclass(frozen=True)
class EcKeySigner:
    """An ``EcSigner`` over a ``cryptography`` ECDSA P-256 private key, parsed once (pyHanko's
    ``SimpleSigner`` re-parses its key on every signature)."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        _p256(self.key, "the signer's key")

    def sign(self, data: bytes, hash_algorithm: str) -> bytes:
        """The DER ECDSA signature over ``data`` hashed with ``hash_algorithm`` (``"sha256"``...)."""
        return self.key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(hash_algorithm)))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.key.public_key()


@dataclass(frozen=True)
class TokenSigningKey:
    """A private ES256 key, held as PEM text, with its RFC 7638 ``kid``: a ``TokenSigner``."""

    private_pem: str = field(repr=False)
    public_jwk: dict[str, str]
    _key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    @classmethod
    def from_pem(cls, pem: str) -> TokenSigningKey:
        """Parse a PKCS#8 PEM key. Raises ``KeyMaterialError`` (``keys.wrong_type``) unless P-256."""
        key = _p256(serialization.load_pem_private_key(pem.encode(), None), "a token key")
        return cls(pem, public_jwk_of(key.public_key()), key)

    def sign_es256(self, signing_input: bytes) -> bytes:
        """RFC 7518 s.3.4: the ECDSA P-256 SHA-256 signature as R || S, 32 bytes each."""
        r, s = decode_dss_signature(self._key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class FileSigners:
    """``Signers`` from the private key files of ``directory``. Each key is read when its signer is
    first asked for, then kept (a verifier never asks, so never reads one)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _read(self, name: str) -> bytes:
        return read_key_file(self.directory, name)

    def _cert(self, name: str) -> asn1_x509.Certificate:
        return _to_asn1(x509.load_pem_x509_certificate(self._read(f"{name}.pem")))

    def _ec_signer(self, name: str) -> EcKeySigner:
        return EcKeySigner(_p256(serialization.load_pem_private_key(self._read(name), None), name))

    @cached_property
    def _token_signer(self) -> TokenSigningKey:
        return TokenSigningKey.from_pem(self._read("token.key").decode())

    @cached_property
    def _access_signer(self) -> TokenSigningKey:
        return TokenSigningKey.from_pem(self._read("access.key").decode())

    @cached_property
    def _status_signer(self) -> TokenSigningKey:
        return TokenSigningKey.from_pem(self._read("status.key").decode())

    @cached_property
    def _id_token_signer(self) -> TokenSigningKey:
        return TokenSigningKey.from_pem(self._read("idtoken.key").decode())

    def id_token_signer(self) -> TokenSigningKey:
        """The ID-token key, ``idtoken.key``. Raises ``KeyMaterialError`` if missing or not P-256."""
        return self._id_token_signer

    def token_signer(self) -> TokenSigningKey:
        """The QR-token key, ``token.key``. Raises ``KeyMaterialError`` if missing or not P-256."""
        return self._token_signer

    def access_signer(self) -> TokenSigningKey:
        """The access-token key, ``access.key``. Raises ``KeyMaterialError`` if missing or not P-256."""
        return self._access_signer

    def status_signer(self) -> TokenSigningKey:
        """The status lists' key, ``status.key``. Raises ``KeyMaterialError`` if missing or not P-256."""
        return self._status_signer

    @cached_property
    def _tsa(self) -> EcKeySigner:
        return self._ec_signer("tsa.key")

    def pdf_signing_with(self, signer: EcSigner) -> PdfSigningMaterial:
        """The folder's certificates (document signer, issuing CA, root, TSA) and TSA key, with the
        document signed by ``signer``: a key held elsewhere (``pkcs11.Pkcs11Signers``)."""
        return PdfSigningMaterial(
            signer_cert=self._cert("document-signer"),
            signer=signer,
            chain=(self._cert("issuing-ca"), self._cert("root-ca")),
            tsa_cert=self._cert("tsa"),
            tsa=self._tsa,
        )

    @cached_property
    def _pdf(self) -> PdfSigningMaterial:
        return self.pdf_signing_with(self._ec_signer("document-signer.key"))

    def pdf_signing(self) -> PdfSigningMaterial:
        """The document signer (``document-signer.key``) and the TSA (``tsa.key``) with their
        certificates. Raises ``KeyMaterialError`` if a file is missing or a key is not P-256."""
        return self._pdf

    @cached_property
    def _log_signer(self) -> NoteSigner:
        return NoteSigner.from_skey(self._read("log.skey").decode())

    def log_signer(self) -> NoteSigner:
        """The checkpoint signer, ``log.skey``. Raises ``KeyMaterialError`` if missing."""
        return self._log_signer

    def revocation_data(self, at: datetime) -> tuple[bytes, ...]:
        """The revocation data (DER) a long-term form made at ``at`` carries: the CAs' CRLs in the
        folder, the development PKI first re-issuing those a day old at ``at``
        (``devpki.ensure_dev_crls``); then, where the development CAs' keys are here, OCSP responses
        (RFC 6960) produced at ``at`` for the end-entity certificates they issued: the document
        signers and TSAs, current and retired (``devpki.dev_ocsp_responses``). Those are the
        revocation data issued after the signing time that AdES past validation needs for the
        signer's and the TSA's certificates (ETSI EN 319 102-1 s.5.6.2.4). Without any (production),
        pyHanko fetches from the issuers."""
        if not FilePublicKeys(self.directory).is_dev():
            return tuple(p.read_bytes() for p in sorted(self.directory.glob("*.crl")))
        ensure_dev_crls(self.directory, at=at)
        crls = tuple(p.read_bytes() for p in sorted(self.directory.glob("*.crl")))
        return crls + dev_ocsp_responses(self.directory, at=at)


def _ensure_es256(path: Path) -> bool:
    if path.exists():
        return False
    write_private_key(path, ec.generate_private_key(ec.SECP256R1()))
    return True


def _ensure_log_key(directory: Path, name: str) -> bool:
    skey_path = directory / "log.skey"
    if skey_path.exists():
        return False
    signer = NoteSigner(name, Ed25519PrivateKey.generate())
    fd = os.open(skey_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.skey + "\n")
    (directory / "log.vkey").write_text(signer.verifier.vkey + "\n")
    return True


def ensure_dev_keys(directory: Path, log_name: str = "elicense-dev.invalid/log", *, at: datetime) -> list[str]:
    """Create whatever dev key material is missing in ``directory`` (idempotent): the declared PKI
    with certificates valid from ``at``, the CAs' CRLs (re-issued at ``at`` when a day old), the log
    key named ``log_name``, the token, access, status and ID-token keys and their JWKS. Returns the names created."""
    created = ensure_dev_pki(directory, at=at)
    ensure_dev_crls(directory, at=at)  # revocation data for long-term (B-LTA) copies, kept fresh
    if _ensure_log_key(directory, log_name):
        created.append("log")
    for purpose, jwks_name in JWKS_FILES.items():
        made = _ensure_es256(directory / f"{purpose}.key")
        jwks_path = directory / jwks_name
        if made or not jwks_path.exists():
            key = TokenSigningKey.from_pem((directory / f"{purpose}.key").read_text())
            jwks_path.write_text(json.dumps({"keys": [key.public_jwk]}, indent=2) + "\n")
            created.append(purpose)
    return created
