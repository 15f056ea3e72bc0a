"""The seal of a PDF already known to be byte for byte one we issued: what of its validation still
depends on the time of the check and on revocation, and nothing else.

Why this is enough (the verifier's fast path, ``verify_app/service.py``): a file whose SHA-256 is the
``pdf_sha256`` the registry recorded for a license when it was issued *is* that document, the bytes
the issuer sealed (SHA-256 second-preimage resistance; the log leaf names the same digest, so a
registry row changed afterwards fails the log check). Everything pyHanko's validation derives from
the bytes alone - the signed digest matches (intact), the CMS signature verifies with the signer's
certificate (valid), the signature covers the whole file, no revision follows it, DocMDP, the signing
certificate attribute, the timestamp token's imprint and signature, the token in the document
information - is what it was when the issuer produced the file, and the issuance pipeline produces
only files that pass (the e2e suite checks them with pdfsig and pyHanko). What can change since
issuance is not in the bytes, and is checked here on every call, as the full validation checks it:

- the signer's certificate chains to a published root and every certificate of that path is within
  its validity period at ``at`` (pyHanko validates the signer with a context whose moment is ``at``);
- the same for the timestamp authority's certificate, which makes the timestamp trusted;
- the signer's certificate is not revoked for key compromise at or before the trusted signing time
  (``pdf_validation.revoked_before``, the CAs' current CRLs).

The answer is findings only when all three hold (``IssuedSeal.findings``); anything else - a seal
that cannot be read this way, an untrusted or expired chain, a revoked signer - is None, and the
caller runs the full validation, so whatever this path does not accept gets the full path's report
word for word. The path therefore never accepts a file the full validation refuses, as long as the
issuer's recorded digest is the file it sealed.

Path validation (pyHanko's certvalidator, no fetching, the roots given) is remembered per
certificate for a minute of check times: within it, the remembered path is reused after checking
each of its certificates' validity periods against ``at`` again.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from .pdf_validation import PdfFindings, revoked_before

__all__ = ["IssuedSeal", "SealParts", "seal_parts"]

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_REMEMBER = timedelta(minutes=1)


@dataclass(frozen=True)
class SealParts:
    """What the seal of an issued PDF carries that its validation at a later time needs."""

    signer: asn1_x509.Certificate
    certificates: tuple[asn1_x509.Certificate, ...]  # the CMS's (the signer's chain)
    tsa: asn1_x509.Certificate | None
    tsa_certificates: tuple[asn1_x509.Certificate, ...]
    signed_at: datetime | None  # the timestamp token's genTime
    sealed_length: int


def _signer_of(signed: cms.SignedData) -> tuple[asn1_x509.Certificate, tuple[asn1_x509.Certificate, ...]] | None:
    """The certificate the (single) signer info names by issuer and serial, and all the CMS carries."""
    certs = tuple(c.chosen for c in signed["certificates"] if c.name == "certificate")
    infos = signed["signer_infos"]
    if len(infos) != 1 or infos[0]["sid"].name != "issuer_and_serial_number":
        return None
    sid = infos[0]["sid"].chosen
    issuer, serial = sid["issuer"].dump(), sid["serial_number"].native
    for c in certs:
        if c.serial_number == serial and c.issuer.dump() == issuer:
            return c, certs
    return None


def seal_parts(data: bytes) -> SealParts | None:
    """The seal of a license PDF as issued (one certification signature, one revision): located by
    its ``/ByteRange`` (ISO 32000-2 s.12.8.1) and read as CMS (RFC 5652) with its RFC 3161
    signature timestamp token. None if the file does not have exactly that shape."""
    found = _BYTE_RANGE.findall(data)
    if len(found) != 1:
        return None
    start, second, rest = (int(x) for x in found[0])
    if second + rest != len(data) or not 0 < start < second <= len(data) or data[start] != 0x3C \
            or data[second - 1] != 0x3E:  # < and >
        return None
    try:
        der = bytes.fromhex(data[start + 1:second - 1].decode("ascii"))
        info = cms.ContentInfo.load(der, strict=False)
        signed = info["content"]
        if info["content_type"].native != "signed_data" or not isinstance(signed, cms.SignedData):
            return None
        signer = _signer_of(signed)
        if signer is None:
            return None
        tsa, tsa_certs, signed_at = None, (), None
        for attr in signed["signer_infos"][0]["unsigned_attrs"] or ():
            if attr["type"].native != "signature_time_stamp_token":
                continue
            token = attr["values"][0]["content"]
            tst = token["encap_content_info"]["content"].parsed
            if not isinstance(tst, tsp.TSTInfo):
                return None
            signed_at = tst["gen_time"].native
            tsa_signer = _signer_of(token)
            if tsa_signer is None:
                return None
            tsa, tsa_certs = tsa_signer
        return SealParts(signer[0], signer[1], tsa, tsa_certs, signed_at, second + rest)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


@dataclass(frozen=True)
class _Path:
    checked_at: datetime
    certificates: tuple[asn1_x509.Certificate, ...]  # the path's, the trust anchor's excluded


class IssuedSeal:
    """Validation at a time ``at`` of the seal of a PDF known to be one we issued (see the module's
    docstring for why this is all that is left to check), against ``roots``."""

    def __init__(self, roots: list[asn1_x509.Certificate]) -> None:
        self._roots = roots
        self._paths: dict[bytes, _Path] = {}

    def _trusted(self, cert: asn1_x509.Certificate, others: tuple[asn1_x509.Certificate, ...],
                 at: datetime) -> bool:
        """``cert`` chains to a root, every certificate on the way valid at ``at`` (certvalidator's
        path validation, no fetching, no revocation data: as the full validation runs it)."""
        key = cert.sha256
        known = self._paths.get(key)
        if known is not None and known.checked_at <= at <= known.checked_at + _REMEMBER:
            return all(c.not_valid_before <= at <= c.not_valid_after for c in known.certificates)
        vc = ValidationContext(trust_roots=self._roots, allow_fetching=False, moment=at)
        try:
            path = asyncio.run(CertificateValidator(cert, others, vc).async_validate_path())
        except (PathBuildingError, PathValidationError):
            return False
        if len(self._paths) > 64:  # a handful of signers and TSAs; never grows without bound
            self._paths.clear()
        self._paths[key] = _Path(at, tuple(path.iter_certs(include_root=False)))
        return True

    def findings(self, data: bytes, *, at: datetime, crls: tuple[bytes, ...]) -> PdfFindings | None:
        """The findings of the full validation for an issued PDF ``data`` when its seal's signer and
        timestamp authority are trusted at ``at`` and the signer is not revoked for compromise at or
        before the timestamp; None otherwise (the caller then runs the full validation)."""
        parts = seal_parts(data)
        if parts is None or parts.tsa is None or parts.signed_at is None:
            return None
        if not (self._trusted(parts.signer, parts.certificates, at)
                and self._trusted(parts.tsa, parts.tsa_certificates, at)):
            return None
        if revoked_before(parts.signer, parts.signed_at, crls) is not None:
            return None
        return PdfFindings(
            signatures=1, intact=True, valid=True, trusted=True, entire_file=True, unmodified=True,
            modification_level="NONE", timestamp_trusted=True, signer=parts.signer.subject.human_friendly,
            signed_at=parts.signed_at, sealed_length=parts.sealed_length, issued_length=len(data),
            issued_copy=True)
