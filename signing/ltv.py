"""Long-term validity: a license's PAdES B-LTA form, and its validation at any later time.

A license is issued as PAdES B-T: one certification signature over the whole file (what every
verifier expects of the document as issued). Its long-term form adds two incremental updates that
the certification signature's DocMDP permits (ISO 32000-2 s.12.8.2.2: DSS and document timestamps):

1. the document security store (DSS), holding the validation data of the signature's chain and of
   its signature timestamp's TSA: certificates and the CAs' CRLs (B-LT);
2. a document timestamp over all of that, with its own TSA's validation data (B-LTA).

Validated later (even after the signer's certificate has expired, with fetching disabled), the
signature is judged as of the time the document timestamp proves it existed, from the data the file
carries (``validate_lta``). Before the TSA's certificate expires, an archive adds another document
timestamp (``extend_to_lta`` on the long-term form).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    add_validation_info,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext

from .errors import SigningError
from .keys import PdfSigningMaterial

__all__ = ["LtaFindings", "extend_to_lta", "validate_lta"]

_WHOLE = (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION)


def _signing_context(material: PdfSigningMaterial, crls: Sequence[bytes]) -> ValidationContext:
    """What the validation data is gathered with: our chain, the TSA, the CAs' CRLs; revocation data
    required for every certificate. Given no CRLs, pyHanko fetches them from the issuers."""
    roots = [c for c in material.chain if c.self_signed != "no"]
    return ValidationContext(trust_roots=roots, other_certs=[*material.chain, material.tsa_cert],
                             crls=list(crls), allow_fetching=not crls, revocation_mode="hard-fail")


def extend_to_lta(pdf: bytes, material: PdfSigningMaterial, timestamper: TimeStamper,
                  crls: Sequence[bytes] = ()) -> bytes:
    """The B-LTA form of a sealed license: its validation data in the DSS, then a document timestamp
    (with its own validation data). Raises :class:`SigningError` if the data cannot be gathered (a
    CRL out of date, a revoked certificate) or the document has no signature."""
    try:
        sig = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures[0]
        vc = _signing_context(material, crls)
        with_dss = add_validation_info(sig, vc)
        out: BytesIO = PdfTimeStamper(timestamper).timestamp_pdf(
            IncrementalPdfFileWriter(with_dss, strict=False), "sha256", validation_context=vc)
        return bytes(out.getvalue())
    except Exception as e:  # pyHanko and the validator raise many types; the caller needs one
        raise SigningError(f"the long-term form could not be made: {type(e).__name__}: {e}") from e


@dataclass(frozen=True)
class LtaFindings:
    passed: bool
    reason: str  # "lta.ok" or what failed: lta.no_document_timestamp, lta.timestamp_invalid, ...
    signature_time: datetime | None = None  # when the newest document timestamp proves it existed
    document_timestamps: int = 0


def validate_lta(pdf: bytes, roots: list[asn1_x509.Certificate], *, at: datetime) -> LtaFindings:
    """Validate a license's long-term form as of ``at`` (any later time) from what the file carries
    alone; nothing is fetched. The PAdES-LTV model (ETSI EN 319 142-1 s.5.4):

    1. the newest document timestamp must be valid at ``at`` (its TSA's certificate in force then)
       and cover the whole file but for a DSS update after it;
    2. it proves the document, DSS included, existed at its time T: the certification signature,
       its signature timestamp and their chains are validated as of T with the revocation data in
       the DSS, revocation data required for every certificate (hard fail);
    3. nothing after the signature but DSS and document timestamps (pyHanko's difference analysis).
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
        stamps = [x for x in sigs if x.sig_object_type == "/DocTimeStamp"]
        if not sigs or sigs[0].sig_object_type == "/DocTimeStamp":
            return LtaFindings(False, "lta.no_signature")
        if not stamps:
            return LtaFindings(False, "lta.no_document_timestamp")
        newest = stamps[-1]
        now_vc = ValidationContext(trust_roots=roots, moment=at, allow_fetching=False, revocation_mode="soft-fail")
        ts = validate_pdf_timestamp(newest, validation_context=now_vc)
        # after it only its own TSA's validation data (a DSS update), which step 3 checks
        if not (ts.intact and ts.valid and ts.trusted) or ts.coverage not in _WHOLE:
            return LtaFindings(False, "lta.timestamp_invalid", document_timestamps=len(stamps))
        proven = ts.timestamp
        dss = DocumentSecurityStore.read_dss(reader)
        then_vc = dss.as_validation_context({"trust_roots": roots, "moment": proven, "allow_fetching": False,
                                             "revocation_mode": "hard-fail"})
        st = validate_pdf_signature(sigs[0], signer_validation_context=then_vc, ts_validation_context=then_vc)
    except NoDSSFoundError:
        return LtaFindings(False, "lta.no_validation_data")
    except Exception:  # pyHanko raises many types for broken structures; all mean "not proven"
        return LtaFindings(False, "lta.unreadable")
    ok = (st.intact and st.valid and st.trusted and st.docmdp_ok
          and st.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES))
    return LtaFindings(bool(ok), "lta.ok" if ok else "lta.signature_invalid_at_proven_time", proven, len(stamps))
