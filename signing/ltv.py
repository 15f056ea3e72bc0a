"""Long-term validity, the signing half: a license's PAdES B-LTA form, and its renewal. Its validation
is ``signing/lta_validation.py``; the verifier imports that alone, never this module.

A license is issued as PAdES B-T: one certification signature over the whole file (what every
verifier expects of the document as issued). Its long-term form adds one incremental update of the
kinds the certification signature's DocMDP permits (ISO 32000-2 s.12.8.2.2: DSS and document
timestamps), and nothing else (not even the modification date pyHanko's writers put in the document
information and XMP metadata on every write):

- the document security store (DSS), holding the validation data of the signature's chain and of
  its signature timestamp's TSA, and of the TSA that makes the document timestamp: certificates, the
  CAs' CRLs current when the form is made, and OCSP answers issued then, which must be after the
  signing time (B-LT; ETSI EN 319 102-1 s.5.6.2.4: past validation needs revocation data issued after
  the time the signature is proven to have existed; pyHanko's finds it for an end-entity certificate
  in an OCSP answer, never in a CRL its own CA signed);
- in the same revision, covered by it, a document timestamp (B-LTA).

Before the certificate of the TSA that made the newest document timestamp expires, ``renew_lta``
adds another such revision: the validation data of that TSA's certificate, issued then, and a
document timestamp from a TSA whose certificate lives longer (ETSI EN 319 142-1 s.5.5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from typing import TypeVar

from asn1crypto import cms, crl, ocsp, parser
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.signers.pdf_signer import TimestampDSSContentSettings
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.path import ValidationPath

from .errors import SigningError
from .keys.api import PdfSigningMaterial

__all__ = ["extend_to_lta", "is_long_term", "renew_lta"]

_R = TypeVar("_R", crl.CertificateList, ocsp.OCSPResponse)
_ENUMERATED, _SEQUENCE = 10, 16  # the universal tags that open an OCSPResponse and a CertificateList


class _ValidationDataWriter(IncrementalPdfFileWriter):
    """An incremental writer that writes what it is given and nothing else: pyHanko's writers also
    update the document information dictionary and the XMP metadata (modification date, producer)
    on every write, which after the certification signature only DSS updates and document timestamps
    may do (``lta_validation.later_revision_problem`` refuses the rest)."""

    def _update_meta(self) -> None:
        return None


def _split(revocation: Sequence[bytes]) -> tuple[list[crl.CertificateList], list[ocsp.OCSPResponse]]:
    """CRLs (RFC 5280 s.5.1) and OCSP responses (RFC 6960 s.4.2.1), told apart by their first field."""
    crls, ocsps = [], []
    for der in revocation:
        first = parser.parse(parser.parse(der)[4])[2]
        if first == _ENUMERATED:
            ocsps.append(ocsp.OCSPResponse.load(der))
        elif first == _SEQUENCE:
            crls.append(crl.CertificateList.load(der))
        else:
            raise SigningError("revocation data that is neither a CRL nor an OCSP response",
                               code="ltv.bad_revocation_data")
    return crls, ocsps


def _about(path_certs: list[asn1_x509.Certificate], crls: list[crl.CertificateList],
           ocsps: list[ocsp.OCSPResponse]) -> tuple[list[crl.CertificateList], list[ocsp.OCSPResponse]]:
    """The revocation data about the certificates of the validation paths: the DSS holds nothing
    else (the folder also answers for retired signers and TSAs)."""
    issuers = {c.issuer.dump() for c in path_certs}
    ids = set()
    for c in path_certs:
        for issuer in path_certs:
            if issuer.subject == c.issuer:
                ids.add((issuer.subject.sha1, issuer.public_key.sha1, c.serial_number))
    relevant = []
    for resp in ocsps:
        for single in resp.basic_ocsp_response["tbs_response_data"]["responses"]:
            cid = single["cert_id"]
            name_hash, key_hash = cid["issuer_name_hash"].native, cid["issuer_key_hash"].native
            if cid["hash_algorithm"]["algorithm"].native != "sha1":
                continue  # what ours and every responder use; anything else is not ours to judge
            if (name_hash, key_hash, cid["serial_number"].native) in ids:
                relevant.append(resp)
                break
    def unique(items: list[_R]) -> list[_R]:
        return list({i.dump(): i for i in items}.values())

    return unique([c for c in crls if c.issuer.dump() in issuers]), unique(relevant)


def _gen_time(signed_data: cms.SignedData) -> datetime:
    """The time an RFC 3161 token proves (TSTInfo genTime, RFC 3161 s.2.4.2)."""
    when: datetime = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    return when


async def _paths(signed_datas: list[cms.SignedData], then: ValidationContext, timestamper: TimeStamper,
                 now: ValidationContext) -> list[ValidationPath]:
    """The validation paths of each signer as of ``then`` (when the signature is proven to have
    existed), and of the TSA that will timestamp as of ``now``; revocation data required (the
    validator raises without it)."""
    paths = []
    for sd in signed_datas:
        info = extract_certificate_info(sd)
        validator = CertificateValidator(info.signer_cert, intermediate_certs=info.other_certs,
                                         validation_context=then)
        # pyhanko-certvalidator and pyHanko leave these two unannotated
        paths.append(await validator.async_validate_usage(key_usage=set()))  # type: ignore[no-untyped-call]
    async for path in timestamper.validation_paths(now):  # type: ignore[no-untyped-call]
        paths.append(path)
    return paths


def _add_archive_revision(pdf: bytes, covered: list[cms.SignedData], proven: datetime,
                          material: PdfSigningMaterial, timestamper: TimeStamper,
                          revocation: Sequence[bytes], at: datetime) -> bytes:
    """One incremental update: the DSS with the validation data gathered at ``at`` of the signers of
    ``covered`` (judged as of ``proven``, when their signatures are proven to have existed) and of
    ``timestamper``'s TSA, then a document timestamp over it all."""
    crls, ocsps = _split(revocation)
    roots = [c for c in material.chain if c.self_signed != "no"]
    other_certs = [*material.chain, material.tsa_cert]
    # Given no OCSP answers (production: the authority's CA answers them, not us), pyHanko fetches
    # them, and any CRL it lacks, from the addresses in the certificates
    fetch = not ocsps
    now = ValidationContext(trust_roots=roots, other_certs=other_certs, crls=crls, ocsps=ocsps,
                            allow_fetching=fetch, revocation_mode="require", moment=at)
    # Data issued at ``at`` speaks for ``proven`` too (ETSI EN 319 102-1 s.5.6.2.4: revocation data
    # issued after the signature): a certificate revoked after the signature was made (a key
    # compromised later) still validates then; one revoked before does not.
    then = ValidationContext(trust_roots=roots, other_certs=other_certs, crls=crls, ocsps=ocsps,
                             allow_fetching=fetch, revocation_mode="require", moment=proven,
                             retroactive_revinfo=True)
    paths = asyncio.run(_paths(covered, then, timestamper, now))
    path_certs = [c for p in paths for c in p]
    crls, ocsps = _about(path_certs, [*now.crls, *then.crls], [*now.ocsps, *then.ocsps])
    embed = ValidationContext(trust_roots=roots, other_certs=[*other_certs, *path_certs], crls=crls, ocsps=ocsps,
                              allow_fetching=False, revocation_mode="require", moment=at)
    writer = _ValidationDataWriter(BytesIO(pdf), strict=False)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=paths, validation_context=embed)
    out: BytesIO = PdfTimeStamper(timestamper).timestamp_pdf(
        writer, "sha256", validation_context=embed,
        # the validation data in the same revision as the timestamp, so the timestamp covers it
        # (and the file ends with it: nothing follows the newest timestamp)
        dss_settings=TimestampDSSContentSettings(update_before_ts=True, include_vri=False))
    return bytes(out.getvalue())


def is_long_term(pdf: bytes) -> bool:
    """Whether ``pdf`` has a document timestamp (a long-term form, to renew rather than extend).
    Raises :class:`SigningError` for a file that cannot be read."""
    try:
        return bool(PdfFileReader(BytesIO(pdf), strict=False).embedded_timestamp_signatures)
    except Exception as e:  # pyHanko raises many types for a broken file; the caller needs one
        raise SigningError(f"unreadable PDF: {type(e).__name__}") from e


def extend_to_lta(pdf: bytes, material: PdfSigningMaterial, timestamper: TimeStamper,
                  revocation: Sequence[bytes] = (), *, at: datetime) -> bytes:
    """The B-LTA form of a sealed license (ETSI EN 319 142-1, PAdES-LTA level) made at ``at``: the
    validation data of its signature and signature timestamp as of ``at``, with the CRLs and OCSP
    responses (DER) of ``revocation`` (no OCSP answer: pyHanko fetches them), then a document timestamp from
    ``timestamper``, in one incremental update.

    ``at`` must be after the time the seal's signature timestamp proves (the revocation data must
    be issued after it: ``ltv.too_early``). Raises :class:`SigningError` if the document has no
    certification signature (``ltv.not_sealed``), already is a long-term form (``ltv.already_long_term``:
    ``renew_lta`` it), or the data cannot be gathered (a revoked certificate, data missing or out of
    date at ``at``: ``signing.failed``)."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as e:  # pyHanko raises many types for a broken file; the caller needs one
        raise SigningError(f"the long-term form could not be made: {type(e).__name__}: {e}") from e
    if not sigs or sigs[0].sig_object_type != "/Sig":
        raise SigningError("the document carries no seal", code="ltv.not_sealed")
    if len(sigs) > 1:
        raise SigningError("the document already is a long-term form", code="ltv.already_long_term")
    seal = sigs[0]
    stamps = list(extract_tst_data_iter(seal.signer_info, signed=False))
    signed_at = max([_gen_time(t) for t in stamps] or [seal.self_reported_timestamp or at])
    if at <= signed_at:
        raise SigningError(f"revocation data for a signature made at {signed_at.isoformat()} must be issued "
                           f"after it, not at {at.isoformat()}", code="ltv.too_early")
    try:
        return _add_archive_revision(pdf, [seal.signed_data, *stamps], signed_at, material, timestamper,
                                     revocation, at)
    except SigningError:
        raise
    except Exception as e:  # pyHanko and the validator raise many types; the caller needs one
        raise SigningError(f"the long-term form could not be made: {type(e).__name__}: {e}") from e


def renew_lta(pdf: bytes, material: PdfSigningMaterial, timestamper: TimeStamper,
              revocation: Sequence[bytes] = (), *, at: datetime) -> bytes:
    """A long-term form with one more document timestamp (ETSI EN 319 142-1 s.5.5, the archive
    renewal), made at ``at``: the validation data of the newest document timestamp's TSA
    certificate as of ``at`` (with ``revocation``, as ``extend_to_lta``), and of ``timestamper``'s,
    then a document timestamp from ``timestamper``, in one incremental update. Due before the newest
    timestamp's TSA certificate expires (``lta_validation.newest_timestamp_expiry``), with a TSA
    whose certificate outlives it.

    Raises :class:`SigningError`: ``ltv.not_long_term`` without a document timestamp,
    ``ltv.too_early`` if ``at`` is not after the newest timestamp's time, ``ltv.too_late`` once that
    timestamp's TSA certificate has expired (the chain is broken: nothing renews it then),
    ``signing.failed`` if the data cannot be gathered (that certificate revoked, data missing)."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        stamps = reader.embedded_timestamp_signatures
    except Exception as e:  # pyHanko raises many types for a broken file; the caller needs one
        raise SigningError(f"the long-term form could not be renewed: {type(e).__name__}: {e}") from e
    if not stamps:
        raise SigningError("the document has no document timestamp to renew", code="ltv.not_long_term")
    newest = stamps[-1].signed_data
    if at <= _gen_time(newest):
        raise SigningError("a renewal must be made after the newest document timestamp", code="ltv.too_early")
    if at >= stamps[-1].signer_cert.not_valid_after:
        raise SigningError("the newest document timestamp's TSA certificate has expired: too late to renew",
                           code="ltv.too_late")
    try:
        return _add_archive_revision(pdf, [newest], _gen_time(newest), material, timestamper, revocation, at)
    except SigningError:
        raise
    except Exception as e:  # pyHanko and the validator raise many types; the caller needs one
        raise SigningError(f"the long-term form could not be renewed: {type(e).__name__}: {e}") from e
