"""Key providers: where the service gets its keys. One interface, a file implementation for
development (and for deployments that keep keys on disk); PKCS#11 joins it later.

Layout of a keys directory (``ELICENSE_KEYS_DIR``):
- the declared dev PKI (``devpki.DEV_PKI``): ``root-ca``, ``issuing-ca``, ``document-signer``, ``tsa``
  as ``NAME.pem`` (certificate) and ``NAME.key`` (PKCS#8, mode 0600);
- ``token.key``: the QR-token ES256 key; ``access.key``: the API access-token ES256 key;
- ``jwks.json`` and ``access-jwks.json``: the public halves, which is all a verifier needs;
- ``log.skey`` (Go sumdb/note format, mode 0600) and ``log.vkey``: the issuance log's Ed25519 key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .devpki import DEV_MARK, dev_ca, ensure_dev_crls, ensure_dev_pki, ocsp_response, write_private_key
from .errors import KeyMaterialError
from .note import NoteSigner
from .tokens import Keyring, TokenSigner, TokenSigningKey

__all__ = ["HANDOVERS", "JWKS_FILES", "FileKeyProvider", "KeyProvider", "PdfSigningMaterial", "ensure_dev_keys"]

#: the public JWKS of each token purpose, and the log key handover notes, in the keys folder
JWKS_FILES = {"token": "jwks.json", "access": "access-jwks.json"}
HANDOVERS = "log-handovers.json"


@dataclass(frozen=True)
class PdfSigningMaterial:
    """What PAdES signing needs: signer and TSA keys, their certificates and the chain to the root."""

    signer_cert: asn1_x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey = field(repr=False)
    chain: tuple[asn1_x509.Certificate, ...]  # issuing CA, root
    tsa_cert: asn1_x509.Certificate
    tsa_key: ec.EllipticCurvePrivateKey = field(repr=False)


class KeyProvider(Protocol):
    """Source of key material. Verifier-side callers use only the public methods."""

    def roots_pem(self) -> bytes: ...
    def token_keyring(self) -> Keyring: ...
    def access_keyring(self) -> Keyring: ...
    def token_signing_key(self) -> TokenSigner: ...
    def access_signing_key(self) -> TokenSigningKey: ...
    def pdf_signing(self) -> PdfSigningMaterial: ...
    def log_signer(self) -> NoteSigner: ...
    def log_vkey(self) -> str: ...
    def is_dev(self) -> bool: ...
    def revocation_data(self) -> tuple[bytes, ...]: ...
    def log_handovers(self) -> list[str]: ...
    def crl(self, ca: str) -> bytes | None: ...
    def ocsp(self, request_der: bytes) -> bytes | None: ...


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


def ensure_dev_keys(directory: Path, log_name: str = "elicense-dev.invalid/log") -> list[str]:
    """Create whatever dev key material is missing (idempotent); returns what was created."""
    created = ensure_dev_pki(directory)
    ensure_dev_crls(directory)  # revocation data for long-term (B-LTA) copies, kept fresh
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


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class FileKeyProvider:
    """Keys in a directory. Private keys are read only when a signing method is first called, so a
    verifier started on a directory holding only public files works."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _read(self, name: str) -> bytes:
        try:
            return (self.directory / name).read_bytes()
        except OSError as e:
            raise KeyMaterialError(f"key file {name} is missing in the keys directory "
                                   "(run `elicense keys init`)") from e

    def _cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self._read(f"{name}.pem"))

    def _ec_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self._read(name), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyMaterialError(f"{name} is not an ECDSA key", code="keys.wrong_type")
        return key

    def roots_pem(self) -> bytes:
        return self._read("root-ca.pem")

    @cached_property
    def _token_keyring(self) -> Keyring:
        return Keyring.from_jwks(json.loads(self._read(JWKS_FILES["token"])))

    @cached_property
    def _access_keyring(self) -> Keyring:
        return Keyring.from_jwks(json.loads(self._read(JWKS_FILES["access"])))

    def token_keyring(self) -> Keyring:
        return self._token_keyring

    def access_keyring(self) -> Keyring:
        return self._access_keyring

    @cached_property
    def _token_key(self) -> TokenSigningKey:
        return TokenSigningKey.from_pem(self._read("token.key").decode())

    @cached_property
    def _access_key(self) -> TokenSigningKey:
        return TokenSigningKey.from_pem(self._read("access.key").decode())

    def token_signing_key(self) -> TokenSigningKey:
        return self._token_key

    def access_signing_key(self) -> TokenSigningKey:
        return self._access_key

    @cached_property
    def _pdf(self) -> PdfSigningMaterial:
        return PdfSigningMaterial(
            signer_cert=_to_asn1(self._cert("document-signer")),
            signer_key=self._pdf_signer_key(),
            chain=(_to_asn1(self._cert("issuing-ca")), _to_asn1(self._cert("root-ca"))),
            tsa_cert=_to_asn1(self._cert("tsa")),
            tsa_key=self._ec_key("tsa.key"),
        )

    def _pdf_signer_key(self) -> ec.EllipticCurvePrivateKey:
        """The document signer's private key (a subclass may keep it in an HSM)."""
        return self._ec_key("document-signer.key")

    def pdf_signing(self) -> PdfSigningMaterial:
        return self._pdf

    @cached_property
    def _log_signer(self) -> NoteSigner:
        return NoteSigner.from_skey(self._read("log.skey").decode())

    def log_signer(self) -> NoteSigner:
        return self._log_signer

    def log_vkey(self) -> str:
        return self._read("log.vkey").decode().strip()

    def crl(self, ca: str) -> bytes | None:
        """CA ``ca``'s CRL (DER) as the folder holds it, if it does."""
        path = self.directory / f"{ca}.crl"
        return path.read_bytes() if path.exists() else None

    def ocsp(self, request_der: bytes) -> bytes | None:
        """The development PKI's OCSP answer to a DER request (``devpki.ocsp_response``); None where
        no development CA key is held: the authority's CA runs its own responder."""
        if not (self.is_dev() and dev_ca(self.directory) is not None):
            return None
        return ocsp_response(self.directory, request_der)

    def log_handovers(self) -> list[str]:
        """The log key handover notes, oldest first (``signing/rotation.py``); none before a rotation."""
        path = self.directory / HANDOVERS
        return list(json.loads(path.read_text())) if path.exists() else []

    def revocation_data(self) -> tuple[bytes, ...]:
        """The CAs' current CRLs (DER) from the keys folder, for a license's long-term form; the
        development PKI re-issues its own when a day old. None in the folder: pyHanko fetches them."""
        if self.is_dev():  # only the CAs whose keys are here
            ensure_dev_crls(self.directory)
        return tuple(p.read_bytes() for p in sorted(self.directory.glob("*.crl")))

    def is_dev(self) -> bool:
        """True when the root is the declared development root (production refuses to start)."""
        return DEV_MARK in self._cert("root-ca").subject.rfc4514_string()
