"""Key rotation and compromise, in a keys folder.

Rotation replaces a signing key; everything signed before keeps verifying:

- ``token`` / ``access`` / ``status`` / ``idtoken`` (ES256 JWS): a new key becomes current; the old
  private key is overwritten (nothing needs it again); its public key stays in the JWKS with
  ``retired_at``, the new one gets ``valid_from``. A token dated after its key's retirement is refused.
- ``pdf`` (the PAdES document signer, development PKI): a new key and certificate from the issuing
  CA; the old certificate is kept in ``retired/`` and PDFs it sealed still chain to the root. In
  production the authority's CA issues the certificate: install it as ``document-signer.pem`` and
  its key as ``document-signer.key`` instead.

- ``log`` (the checkpoint signer, Ed25519): a new key under the same name; a handover note naming the
  old and the new verifier key, signed by both, is added to ``log-handovers.json`` (public, served
  at /log/key/handovers), so an auditor who pinned the old key follows to the new one.

Compromise is another event: ``mark_compromised`` records from when a key is held compromised
(``compromised_at`` in the JWKS); a token it signed dated at or after that time is refused with
``token.key_compromised`` while older ones still verify. Services read keys at start: restart them
(one at a time behind the load balancer) after either.

Every function takes the time it acts at (``at``); the command line passes "now".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..errors import KeyMaterialError
from ..note_signing import NoteSigner, cosign
from .api import HANDOVERS, JWKS_FILES, handover_text
from .devpki import REVOKED, dev_ca, ensure_dev_crls, issue_document_signer, read_revoked, write_atomically
from .files import TokenSigningKey

__all__ = [
    "mark_compromised",
    "publish_key",
    "revoke_certificate",
    "rotate_log_key",
    "rotate_pdf_signer",
    "rotate_token_key",
]

def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _jwks(directory: Path, purpose: str) -> tuple[Path, dict[str, list[dict[str, object]]]]:
    if purpose not in JWKS_FILES:
        raise KeyMaterialError(f"no JWKS for purpose {purpose!r}", code="keys.purpose")
    path = directory / JWKS_FILES[purpose]
    return path, json.loads(path.read_text())


def rotate_token_key(directory: Path, purpose: str = "token", *, at: datetime) -> tuple[str, str]:
    """Make a new current ES256 key for ``purpose`` (``token``, ``access``, ``status`` or ``idtoken``),
    valid from ``at``, when the old one is retired; returns (retired kid, new kid). Raises ``KeyMaterialError``
    (``keys.purpose``) for another purpose."""
    key_path = directory / f"{purpose}.key"
    old = TokenSigningKey.from_pem(key_path.read_text())
    new_pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    new = TokenSigningKey.from_pem(new_pem.decode())
    # the JWKS first: a crash between the two leaves the old key current and the new one published
    publish_key(directory, purpose, new.public_jwk, at=at)
    write_atomically(key_path, new_pem, 0o600)
    return old.kid, new.kid


def publish_key(directory: Path, purpose: str, public_jwk: dict[str, str], *, at: datetime) -> None:
    """Add ``public_jwk`` to the JWKS as the current key from ``at``; every key before it is retired
    then (its ``retired_at`` kept if it has one)."""
    jwks_path, jwks = _jwks(directory, purpose)
    ts = int(at.timestamp())
    for jwk in jwks["keys"]:
        jwk.setdefault("retired_at", ts)
    jwks["keys"].append({**public_jwk, "valid_from": ts})
    _write_json(jwks_path, jwks)


def mark_compromised(directory: Path, kid: str, since: datetime, purpose: str = "token") -> None:
    """Hold key ``kid`` compromised from ``since`` (``compromised_at`` in the JWKS). Raises
    ``KeyMaterialError``: ``keys.current`` for the current key (rotate it away first),
    ``keys.unknown_kid`` for a key the JWKS does not list."""
    jwks_path, jwks = _jwks(directory, purpose)
    current = TokenSigningKey.from_pem((directory / f"{purpose}.key").read_text()).kid
    if kid == current:
        raise KeyMaterialError("this is the current key: rotate it first (elicense keys rotate)",
                               code="keys.current")
    for jwk in jwks["keys"]:
        if jwk.get("kid") == kid:
            jwk["compromised_at"] = int(since.timestamp())
            _write_json(jwks_path, jwks)
            return
    raise KeyMaterialError(f"no key {kid} in {jwks_path.name}", code="keys.unknown_kid")


def rotate_pdf_signer(directory: Path, *, at: datetime) -> tuple[int, int]:
    """A new document-signer key and certificate (valid from ``at``) from the development issuing CA;
    the old certificate is kept in ``retired/``. Returns (old serial, new serial). Raises
    ``KeyMaterialError`` (``keys.no_ca``) where the issuing CA's key is not held (production)."""
    if dev_ca(directory) is None:
        raise KeyMaterialError("the issuing CA's key is not here (production): have the CA issue the new "
                               "certificate and install it as document-signer.pem and .key", code="keys.no_ca")
    old = x509.load_pem_x509_certificate((directory / "document-signer.pem").read_bytes())
    retired = directory / "retired"
    retired.mkdir(exist_ok=True)
    write_atomically(retired / f"document-signer-{old.serial_number:x}.pem",
                     old.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    write_atomically(directory / "document-signer.key", _pem(key), 0o600)
    cert = issue_document_signer(directory, key.public_key(), at=at)
    return old.serial_number, cert.serial_number


def rotate_log_key(directory: Path, *, at: datetime) -> tuple[str, str]:
    """A new checkpoint key under the log's name, and a handover note dated ``at`` signed by the old
    key and the new one (C2SP signed note, two signatures). Returns (old vkey, new vkey)."""
    old = NoteSigner.from_skey((directory / "log.skey").read_text())
    new = NoteSigner(old.name, Ed25519PrivateKey.generate())
    path = directory / HANDOVERS
    handovers = json.loads(path.read_text()) if path.exists() else []
    handovers.append(cosign(handover_text(old.verifier.vkey, new.verifier.vkey, at), old, new))
    # the handover first: a crash after it leaves the old key current and the next one announced
    _write_json(path, handovers)
    write_atomically(directory / "log.skey", (new.skey + "\n").encode(), 0o600)
    write_atomically(directory / "log.vkey", (new.verifier.vkey + "\n").encode())
    return old.verifier.vkey, new.verifier.vkey


def revoke_certificate(directory: Path, serial: int, since: datetime, issuer: str = "issuing-ca", *,
                       at: datetime) -> None:
    """Development PKI: the CA revokes certificate ``serial`` for key compromise from ``since``; its CRL
    is re-issued at once, at ``at``. (With the authority's PKI, its CA does this and publishes the
    CRL.) Raises ``KeyMaterialError`` (``keys.no_ca``) where the CA's key is not held."""
    if dev_ca(directory, issuer) is None:
        raise KeyMaterialError("the CA's key is not here: have the authority's CA revoke the certificate",
                               code="keys.no_ca")
    revoked = read_revoked(directory)
    revoked.setdefault(issuer, {})[f"{serial:x}"] = since.astimezone(UTC).isoformat()
    _write_json(directory / REVOKED, revoked)
    ensure_dev_crls(directory, at=at, force=True)


def _write_json(path: Path, value: object) -> None:
    write_atomically(path, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode())
