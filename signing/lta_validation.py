"""Long-term validity, the validation half: a license's long-term form (PAdES B-LTA, made by
``signing/ltv.py``) validated at any later time from what the file carries alone.

Validated later (even after the signer's certificate has expired, with fetching disabled), the
signature is judged as of the time the document timestamp proves it existed. Pure validation: this
module imports nothing that signs, so the verifier may.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext

__all__ = ["LtaFindings", "validate_lta"]

_WHOLE = (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION)


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

    Never raises for bad input: the reason says what failed (``lta.no_signature``,
    ``lta.no_document_timestamp``, ``lta.timestamp_invalid``, ``lta.no_validation_data``,
    ``lta.unreadable``, ``lta.signature_invalid_at_proven_time``).
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
