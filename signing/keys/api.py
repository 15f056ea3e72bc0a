"""The key provider interfaces: what the verification side reads (``PublicKeys``) and what the
issuing side signs with (``Signers``). Implementations sit beside this module: ``public``
(``FilePublicKeys``), ``files`` (``FileSigners``), ``pkcs11`` (``Pkcs11Signers``).

The split is the trust model (DESIGN.md): the verification service is built from a ``PublicKeys``
alone and never imports a module that can load a private key. A ``Signers`` hands out *signers*
(objects that sign), never key material: a key in an HSM and a key in a file look the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec

from ..tokens import Keyring, TokenSigner

if TYPE_CHECKING:  # the type only: the public side never loads a signer
    from ..note_signing import NoteSigner

__all__ = ["DEV_MARK", "HANDOVERS", "HANDOVER_TITLE", "JWKS_FILES", "EcSigner", "PdfSigningMaterial", "PublicKeys",
           "Signers", "handover_text"]

#: the public JWKS of each token purpose, in the keys folder
JWKS_FILES = {"token": "jwks.json", "access": "access-jwks.json", "status": "status-jwks.json",
              "idtoken": "idtoken-jwks.json"}
#: the log key handover notes (``rotation.rotate_log_key``), oldest first, in the keys folder
HANDOVERS = "log-handovers.json"
#: the first line of a handover note's text (``handover_text``)
HANDOVER_TITLE = "elicense log key handover"
#: the organisation of every development certificate: a root that carries it is the dev PKI's, which
#: production refuses
DEV_MARK = "elicense development PKI - not for production"


def handover_text(old_vkey: str, new_vkey: str, at: datetime) -> str:
    """The text of a log key handover note, as an auditor checks it: title, old verifier key, new
    verifier key, and the time of the handover (ISO 8601, UTC). The note is a C2SP signed note over
    this text, signed by both keys."""
    return f"{HANDOVER_TITLE}\n{old_vkey}\n{new_vkey}\n{at.astimezone(UTC).isoformat()}\n"


class PublicKeys(Protocol):
    """The public key material a verifier needs; nothing here signs."""

    def roots_pem(self) -> bytes:
        """The trust roots license signatures chain to (PEM). Raises ``KeyMaterialError`` if absent."""
        ...

    def token_keyring(self) -> Keyring:
        """The QR-token keys (current and retired, with their windows)."""
        ...

    def access_keyring(self) -> Keyring:
        """The API access-token keys."""
        ...

    def status_keyring(self) -> Keyring:
        """The status lists' verification keys (``status-jwks.json``), current and retired."""
        ...

    def id_token_keyring(self) -> Keyring:
        """The OpenID Provider's ID-token keys (``idtoken-jwks.json``), current and retired: the
        discovery document's ``jwks_uri``."""
        ...

    def log_vkey(self) -> str:
        """The issuance log's verifier key (C2SP signed-note ``name+keyid+base64``)."""
        ...

    def log_handovers(self) -> list[str]:
        """The log key handover notes, oldest first; empty before the first rotation."""
        ...

    def crl(self, ca: str) -> bytes | None:
        """CA ``ca``'s current CRL (DER, RFC 5280), if one is held."""
        ...

    def is_dev(self) -> bool:
        """True when the root is the declared development root (``DEV_MARK``)."""
        ...


class EcSigner(Protocol):
    """An ECDSA P-256 signer (FIPS 186-5 s.6.4): a key held in a file or an HSM, used, never shown."""

    def sign(self, data: bytes, hash_algorithm: str) -> bytes:
        """The DER ``ECDSA-Sig-Value`` (RFC 3279 s.2.2.3) over ``data`` hashed with ``hash_algorithm``
        (``"sha256"``, ``"sha384"``, ``"sha512"``). Raises ``SigningError`` if the key refuses."""
        ...

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The signer's public key."""
        ...


@dataclass(frozen=True)
class PdfSigningMaterial:
    """What PAdES signing needs: the document signer and the TSA, their certificates, and the chain
    from the signer to the root (issuing CA, root)."""

    signer_cert: asn1_x509.Certificate
    signer: EcSigner = field(repr=False)
    chain: tuple[asn1_x509.Certificate, ...]
    tsa_cert: asn1_x509.Certificate
    tsa: EcSigner = field(repr=False)


class Signers(Protocol):
    """The issuing side's signers, one per purpose (DESIGN.md, trust model: no key signs two kinds).
    Each is loaded on first use; a missing key raises ``KeyMaterialError``."""

    def token_signer(self) -> TokenSigner:
        """Signs QR tokens (ES256)."""
        ...

    def status_signer(self) -> TokenSigner:
        """Signs status lists (ES256, a key of their own)."""
        ...

    def access_signer(self) -> TokenSigner:
        """Signs API access tokens (ES256)."""
        ...

    def id_token_signer(self) -> TokenSigner:
        """Signs the OpenID Provider's ID tokens (ES256, a key of their own, never the QR-token key)."""
        ...

    def pdf_signing(self) -> PdfSigningMaterial:
        """The PAdES document signer and the development TSA."""
        ...

    def log_signer(self) -> NoteSigner:
        """Signs the issuance log's checkpoints (Ed25519, C2SP signed note)."""
        ...

    def revocation_data(self, at: datetime) -> tuple[bytes, ...]:
        """The revocation data (DER CRLs and OCSP responses) a license's long-term form (PAdES B-LTA)
        made at ``at`` carries, issued at or before ``at``; empty when none is held (pyHanko then
        fetches from the issuers)."""
        ...
