"""The development PKI, declared as data and generated into a keys directory on first run.

root CA -> issuing CA -> document signer (PAdES), and a TSA certificate under the issuing CA for the
development RFC 3161 timestamper. All ECDSA P-256. The declaration below is the only place that
says what the dev chain looks like; tests and ``elicense keys init`` both build from it.

Each CA also publishes a CRL (``NAME.crl``, DER), re-issued whenever it is missing or a day old:
the revocation data a PAdES B-LT/B-LTA document carries for its chain, so it validates years later
from what it holds. The document signer lives three years, as signing certificates do, and the TSA
fifteen: long after the signer has expired, an archival copy still validates through its document
timestamp. ``OcspResponder`` answers OCSP requests for the development CAs, and
``dev_ocsp_responses`` gives the answers a long-term form carries for the end-entity certificates the
CAs issued (PAdES past validation finds no revocation data for them in a CRL their own CA signed, so
OCSP it is). ``rotate_dev_tsa`` is a TSA rollover: a new TSA key and certificate, the old certificate
kept in ``retired/``.

Time is an argument throughout (``at``): validity periods, CRL and OCSP times (``thisUpdate`` and
``producedAt`` alike) all start there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import core as asn1_core
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import KeyMaterialError
from .api import DEV_MARK

__all__ = ["DEV_PKI", "OCSP_VALIDITY", "REVOKED", "CertSpec", "OcspResponder", "build_certificate", "dev_ca",
           "dev_ocsp_responses", "ensure_dev_crls", "ensure_dev_pki", "issue_document_signer", "read_revoked",
           "rotate_dev_tsa", "write_atomically", "write_private_key"]


@dataclass(frozen=True)
class CertSpec:
    """One certificate of the declared PKI. ``issuer`` names another spec (None: self-signed)."""

    name: str
    common_name: str
    issuer: str | None
    years: int
    ca: bool = False
    path_length: int | None = None
    timestamping: bool = False


DEV_PKI: tuple[CertSpec, ...] = (
    CertSpec("root-ca", "elicense Dev Root CA", None, 30, ca=True, path_length=1),
    CertSpec("issuing-ca", "elicense Dev Issuing CA", "root-ca", 20, ca=True, path_length=0),
    CertSpec("document-signer", "elicense Dev Document Signer", "issuing-ca", 3),
    CertSpec("tsa", "elicense Dev Time Stamping Authority", "issuing-ca", 15, timestamping=True),
)
CRL_VALIDITY = dt.timedelta(days=30)
CRL_REISSUE_AFTER = dt.timedelta(days=1)
OCSP_VALIDITY = dt.timedelta(days=1)  # an OCSP answer's nextUpdate - thisUpdate


def _name(cn: str) -> x509.Name:
    # short names on purpose: validators normalise and compare every RDN of every name on every check
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_MARK),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """PKCS#8 PEM, created with mode 0600 so no other user ever reads it."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def build_certificate(spec: CertSpec, public_key: ec.EllipticCurvePublicKey, *,
                      issuer_cert: x509.Certificate | None, signing_key: ec.EllipticCurvePrivateKey,
                      at: dt.datetime) -> x509.Certificate:
    """The certificate ``spec`` declares for ``public_key`` (RFC 5280), valid from a day before ``at``
    for ``spec.years``, signed by ``signing_key``: the issuer's key, or the subject's own when
    ``issuer_cert`` is None (a self-signed root)."""
    subject = _name(spec.common_name)
    pub = public_key
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - dt.timedelta(days=1))
        .not_valid_after(at + dt.timedelta(days=365 * spec.years))
        .add_extension(x509.BasicConstraints(ca=spec.ca, path_length=spec.path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    )
    if issuer_cert is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    if spec.ca:
        usage = dict(key_cert_sign=True, crl_sign=True, digital_signature=False, content_commitment=False)
    else:
        usage = dict(key_cert_sign=False, crl_sign=False, digital_signature=True,
                     content_commitment=not spec.timestamping)
    b = b.add_extension(
        x509.KeyUsage(key_encipherment=False, data_encipherment=False, key_agreement=False,
                      encipher_only=False, decipher_only=False, **usage),
        critical=True,
    )
    if spec.timestamping:  # RFC 3161 s.2.3: the TSA certificate's only EKU, marked critical
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return b.sign(signing_key, hashes.SHA256())


def ensure_dev_pki(directory: Path, specs: Iterable[CertSpec] = DEV_PKI, *, at: dt.datetime) -> list[str]:
    """Create every certificate of ``specs`` that is missing in ``directory`` (``NAME.pem`` and
    ``NAME.key``), valid from ``at``; returns the names created. Idempotent: existing pairs are
    kept. A certificate whose issuer is re-created is re-created too, so the chain always holds.
    """
    directory.mkdir(parents=True, exist_ok=True)
    certs: dict[str, x509.Certificate] = {}
    keys: dict[str, ec.EllipticCurvePrivateKey] = {}
    created: list[str] = []
    for spec in specs:
        cert_path, key_path = directory / f"{spec.name}.pem", directory / f"{spec.name}.key"
        if cert_path.exists() and key_path.exists() and (spec.issuer is None or spec.issuer not in created):
            certs[spec.name] = x509.load_pem_x509_certificate(cert_path.read_bytes())
            k = serialization.load_pem_private_key(key_path.read_bytes(), None)
            assert isinstance(k, ec.EllipticCurvePrivateKey)
            keys[spec.name] = k
            continue
        for p in (cert_path, key_path):
            p.unlink(missing_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        issuer = spec.issuer
        cert = build_certificate(spec, key.public_key(), issuer_cert=certs[issuer] if issuer else None,
                                 signing_key=keys[issuer] if issuer else key, at=at)
        write_private_key(key_path, key)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        certs[spec.name], keys[spec.name] = cert, key
        created.append(spec.name)
    return created


REVOKED = "revoked.json"  # {CA name: {serial (hex): revocation time (ISO 8601)}}, key compromise


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` whole or not at all (a crash, or another process starting at the same time,
    sees the old file or the new one, never half a key or a list)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_revoked(directory: Path) -> dict[str, dict[str, str]]:
    """What the development CAs revoked (``REVOKED``): {CA name: {serial (hex): time}}."""
    path = directory / REVOKED
    return dict(json.loads(path.read_text())) if path.exists() else {}


def dev_ca(directory: Path, name: str = "issuing-ca") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """A development CA's certificate and key, if its key is in ``directory`` (never in production,
    where the authority's CA issues, revokes and answers OCSP)."""
    key_path = directory / f"{name}.key"
    if not key_path.exists():
        return None
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return x509.load_pem_x509_certificate((directory / f"{name}.pem").read_bytes()), key


def issue_document_signer(directory: Path, public_key: ec.EllipticCurvePublicKey, *,
                          at: dt.datetime) -> x509.Certificate:
    """A document-signer certificate for ``public_key`` (the private key may live in an HSM) from the
    development issuing CA, valid from ``at``, written as ``document-signer.pem``. Raises
    ``KeyMaterialError`` (``keys.no_ca``) where the issuing CA's key is not held (production)."""
    ca = dev_ca(directory)
    if ca is None:
        raise KeyMaterialError("the issuing CA's key is not here (production): have the authority's CA "
                               "certify the document signer's key", code="keys.no_ca")
    spec = next(s for s in DEV_PKI if s.name == "document-signer")
    cert = build_certificate(spec, public_key, issuer_cert=ca[0], signing_key=ca[1], at=at)
    write_atomically(directory / "document-signer.pem", cert.public_bytes(serialization.Encoding.PEM))
    return cert


def ensure_dev_crls(directory: Path, specs: Iterable[CertSpec] = DEV_PKI, *, at: dt.datetime,
                    force: bool = False) -> list[str]:
    """(Re-)issue each CA's CRL (RFC 5280 s.5) that is missing, a day old at ``at`` or issued after
    ``at`` (or all, ``force``): signed by the CA, issued at ``at`` and valid for 30 days, listing what
    ``revoked.json`` says the CA revoked (reason: key compromise). Only the CAs whose keys are in
    ``directory``. Returns the names re-issued. Files are replaced atomically (several processes
    start at once)."""
    revoked = read_revoked(directory)
    made = []
    for spec in specs:
        path = directory / f"{spec.name}.crl"
        if not spec.ca:
            continue
        if path.exists() and not force:
            issued = x509.load_der_x509_crl(path.read_bytes()).last_update_utc
            # kept while less than a day old at ``at``; one issued after ``at`` is no CRL of ``at``
            # (a caller working in the past, as tests of a PKI made in the past do)
            if dt.timedelta(0) <= at - issued < CRL_REISSUE_AFTER:
                continue
        ca = dev_ca(directory, spec.name)
        if ca is None:
            continue
        cert, key = ca
        number = int(at.timestamp())
        b = (x509.CertificateRevocationListBuilder().issuer_name(cert.subject)
             .last_update(at).next_update(at + CRL_VALIDITY)
             .add_extension(x509.CRLNumber(number), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False))
        for serial, since in revoked.get(spec.name, {}).items():
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(int(serial, 16))
                .revocation_date(dt.datetime.fromisoformat(since))
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
        write_atomically(path, b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
        made.append(spec.name)
    return made


def rotate_dev_tsa(directory: Path, *, at: dt.datetime) -> tuple[int, int]:
    """A TSA rollover in the development PKI: a new TSA key and certificate (``tsa.key``, ``tsa.pem``)
    from the issuing CA, valid from ``at``; the old certificate is kept in ``retired/`` (OCSP still
    answers for it, and document timestamps it signed still chain to the root), its key is dropped (a
    TSA whose certificate is retired signs nothing again). Returns (old serial, new serial). Raises
    ``KeyMaterialError`` (``keys.no_ca``) where the issuing CA's key is not held (production: the
    authority's TSA rolls over on its own)."""
    ca = dev_ca(directory)
    if ca is None:
        raise KeyMaterialError("the issuing CA's key is not here (production): the authority's TSA renews "
                               "its own certificate", code="keys.no_ca")
    old = x509.load_pem_x509_certificate((directory / "tsa.pem").read_bytes())
    retired = directory / "retired"
    retired.mkdir(exist_ok=True)
    write_atomically(retired / f"tsa-{old.serial_number:x}.pem", old.public_bytes(serialization.Encoding.PEM))
    spec = next(s for s in DEV_PKI if s.name == "tsa")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build_certificate(spec, key.public_key(), issuer_cert=ca[0], signing_key=ca[1], at=at)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_atomically(directory / "tsa.key", pem, mode=0o600)
    write_atomically(directory / "tsa.pem", cert.public_bytes(serialization.Encoding.PEM))
    return old.serial_number, cert.serial_number


class OcspResponder:
    """The development PKI's OCSP responder (RFC 6960) over the CAs whose keys are in ``directory``.
    Not a key provider's concern: the issuing service builds one beside its signers, in development."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def answer(self, request_der: bytes, *, at: dt.datetime) -> bytes | None:
        """The DER OCSP response to a DER request, produced ``at`` (``producedAt`` and ``thisUpdate``;
        ``nextUpdate`` a day later): for a certificate a development CA issued, signed by that CA
        (good, revoked for key compromise per ``revoked.json``, or unknown for a serial it never
        issued); malformedRequest or unauthorized otherwise. None where this folder holds no
        development CA key (production: the authority's CA runs its own responder)."""
        if not self._holds_dev_ca():
            return None
        return _ocsp_response(self.directory, request_der, at)

    def _holds_dev_ca(self) -> bool:
        root = self.directory / "root-ca.pem"
        if not root.exists() or DEV_MARK not in x509.load_pem_x509_certificate(
                root.read_bytes()).subject.rfc4514_string():
            return False
        return any((self.directory / f"{s.name}.key").exists() for s in DEV_PKI if s.ca)


def dev_ocsp_responses(directory: Path, *, at: dt.datetime) -> tuple[bytes, ...]:
    """OCSP responses (DER, RFC 6960) produced ``at`` for every end-entity certificate in ``directory``
    that a development CA whose key is here issued: the document signers and TSAs, current and retired
    (``retired/``). The revocation data a long-term form made at ``at`` carries for its signer's and
    its TSAs' certificates. Empty where no development CA key is held."""
    if not OcspResponder(directory)._holds_dev_ca():
        return ()
    ees = [x509.load_pem_x509_certificate(p.read_bytes())
           for p in sorted([*directory.glob("*.pem"), *directory.glob("retired/*.pem")])]
    out = []
    for cert in ees:
        try:
            if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                continue
        except x509.ExtensionNotFound:
            continue  # not one of the declared PKI's
        for spec in (s for s in DEV_PKI if s.ca):
            held = dev_ca(directory, spec.name)
            if held is not None and held[0].subject == cert.issuer:
                ca = held[0]
                cert_id = asn1_ocsp.CertId({  # SHA-1: what RFC 6960 (and every client) uses in a CertID
                    "hash_algorithm": {"algorithm": "sha1"},
                    "issuer_name_hash": hashlib.sha1(ca.subject.public_bytes()).digest(),
                    "issuer_key_hash": _key_hash(ca),
                    "serial_number": cert.serial_number,
                })
                out.append(_signed_answer(directory, spec.name, held, cert_id, cert.serial_number, at))
    return tuple(out)


def _key_hash(cert: x509.Certificate, algorithm: str = "sha1") -> bytes:
    """RFC 6960 s.4.1.1 issuerKeyHash (and s.4.2.1 KeyHash): the hash of the subject public key's bits."""
    return hashlib.new(algorithm, cert.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)).digest()


def _signed_answer(directory: Path, ca_name: str, held: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
                   cert_id: asn1_ocsp.CertId, serial: int, at: dt.datetime) -> bytes:
    """One BasicOCSPResponse (RFC 6960 s.4.2.1) about ``cert_id``, signed by CA ``ca_name`` itself
    (s.4.2.2.2: the CA may sign its own answers), produced ``at``."""
    ca, key = held
    at = at.astimezone(dt.UTC).replace(microsecond=0)  # GeneralizedTime without fractions (RFC 5280 s.4.1.2.5.2)
    issued = {c.serial_number for p in [*directory.glob("*.pem"), *directory.glob("retired/*.pem")]
              if (c := x509.load_pem_x509_certificate(p.read_bytes())).issuer == ca.subject and c != ca}
    when = read_revoked(directory).get(ca_name, {}).get(f"{serial:x}")
    if when:
        status = asn1_ocsp.CertStatus(name="revoked", value=asn1_ocsp.RevokedInfo({
            # whole seconds (RFC 5280 s.4.1.2.5.2), rounded down: revoked no later than recorded
            "revocation_time": dt.datetime.fromisoformat(when).astimezone(dt.UTC).replace(microsecond=0),
            "revocation_reason": "key_compromise"}))
    elif serial in issued:
        status = asn1_ocsp.CertStatus(name="good", value=asn1_core.Null())
    else:
        status = asn1_ocsp.CertStatus(name="unknown", value=asn1_core.Null())
    data = asn1_ocsp.ResponseData({
        "responder_id": asn1_ocsp.ResponderId(name="by_key", value=_key_hash(ca)),
        "produced_at": at,
        "responses": [{"cert_id": cert_id, "cert_status": status, "this_update": at,
                       "next_update": at + OCSP_VALIDITY}],
    })
    ca_der = ca.public_bytes(serialization.Encoding.DER)
    basic = asn1_ocsp.BasicOCSPResponse({
        "tbs_response_data": data,
        "signature_algorithm": {"algorithm": "sha256_ecdsa"},
        "signature": key.sign(data.dump(), ec.ECDSA(hashes.SHA256())),
        "certs": [asn1_x509.Certificate.load(ca_der)],
    })
    return bytes(asn1_ocsp.OCSPResponse({
        "response_status": "successful",
        "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
    }).dump())


def _ocsp_response(directory: Path, request_der: bytes, at: dt.datetime) -> bytes:
    try:
        req = ocsp.load_der_ocsp_request(request_der)
        cert_id = asn1_ocsp.OCSPRequest.load(request_der)["tbs_request"]["request_list"][0]["req_cert"]
    except (ValueError, TypeError, KeyError, IndexError):
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(serialization.Encoding.DER)
    for spec in (s for s in DEV_PKI if s.ca):
        held = dev_ca(directory, spec.name)
        if held is None:
            continue
        ca = held[0]
        name_hash = hashes.Hash(req.hash_algorithm)
        name_hash.update(ca.subject.public_bytes())
        if (name_hash.finalize(), _key_hash(ca, req.hash_algorithm.name)) != (req.issuer_name_hash,
                                                                             req.issuer_key_hash):
            continue
        return _signed_answer(directory, spec.name, held, cert_id, req.serial_number, at)
    return ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
