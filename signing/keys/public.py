"""The public half of a keys folder: certificates, JWKS, the log's verifier key and handovers, CRLs.

All the verification service reads (DESIGN.md: it never loads a private key). This module imports
no private-key loader, so a folder holding only these files serves a verifier completely.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from cryptography import x509

from ..errors import KeyMaterialError
from ..tokens import Keyring
from .api import DEV_MARK, HANDOVERS, JWKS_FILES

__all__ = ["FilePublicKeys", "read_key_file"]


def read_key_file(directory: Path, name: str) -> bytes:
    """The bytes of file ``name`` of a keys folder; raises ``KeyMaterialError`` naming it if missing."""
    try:
        return (directory / name).read_bytes()
    except OSError as e:
        raise KeyMaterialError(f"key file {name} is missing in the keys directory (run `elicense keys init`)") from e


class FilePublicKeys:
    """``PublicKeys`` from the public files of ``directory`` (``signing/keys/__init__.py`` lists
    them). Files are read on first use; keyrings are cached for the life of the object (services
    read keys at start: restart them after a rotation)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _read(self, name: str) -> bytes:
        return read_key_file(self.directory, name)

    def roots_pem(self) -> bytes:
        """The root certificate (PEM), ``root-ca.pem``. Raises ``KeyMaterialError`` if missing."""
        return self._read("root-ca.pem")

    @cached_property
    def _token_keyring(self) -> Keyring:
        return Keyring.from_jwks(json.loads(self._read(JWKS_FILES["token"])))

    @cached_property
    def _access_keyring(self) -> Keyring:
        return Keyring.from_jwks(json.loads(self._read(JWKS_FILES["access"])))

    @cached_property
    def _status_keyring(self) -> Keyring:
        return Keyring.from_jwks(json.loads(self._read(JWKS_FILES["status"])))

    @cached_property
    def _id_token_keyring(self) -> Keyring:
        return Keyring.from_jwks(json.loads(self._read(JWKS_FILES["idtoken"])))

    def id_token_keyring(self) -> Keyring:
        """The ID-token keys from ``idtoken-jwks.json``. Raises ``KeyMaterialError`` if missing."""
        return self._id_token_keyring

    def token_keyring(self) -> Keyring:
        """The QR-token keys from ``jwks.json``. Raises ``KeyMaterialError`` if missing."""
        return self._token_keyring

    def access_keyring(self) -> Keyring:
        """The access-token keys from ``access-jwks.json``. Raises ``KeyMaterialError`` if missing."""
        return self._access_keyring

    def status_keyring(self) -> Keyring:
        """The status lists' keys from ``status-jwks.json``. Raises ``KeyMaterialError`` if missing."""
        return self._status_keyring

    def log_vkey(self) -> str:
        """The log's verifier key from ``log.vkey``. Raises ``KeyMaterialError`` if missing."""
        return self._read("log.vkey").decode().strip()

    def log_handovers(self) -> list[str]:
        """The log key handover notes, oldest first (``rotation.rotate_log_key``); none before a
        rotation."""
        path = self.directory / HANDOVERS
        return list(json.loads(path.read_text())) if path.exists() else []

    def crl(self, ca: str) -> bytes | None:
        """CA ``ca``'s CRL (DER) as the folder holds it (``NAME.crl``), if it does."""
        path = self.directory / f"{ca}.crl"
        return path.read_bytes() if path.exists() else None

    def is_dev(self) -> bool:
        """True when the root is the declared development root (production refuses to start)."""
        root = x509.load_pem_x509_certificate(self.roots_pem())
        return DEV_MARK in root.subject.rfc4514_string()
