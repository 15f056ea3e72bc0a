"""Long-term validity, the signing half: a license's PAdES B-LTA form. Its validation is
``signing/lta_validation.py``; the verifier imports that alone, never this module.

A license is issued as PAdES B-T: one certification signature over the whole file (what every
verifier expects of the document as issued). Its long-term form adds two incremental updates that
the certification signature's DocMDP permits (ISO 32000-2 s.12.8.2.2: DSS and document timestamps):

1. the document security store (DSS), holding the validation data of the signature's chain and of
   its signature timestamp's TSA: certificates and the CAs' CRLs (B-LT);
2. a document timestamp over all of that, with its own TSA's validation data (B-LTA).

Before the TSA's certificate expires, an archive adds another document timestamp (``extend_to_lta``
on the long-term form).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import add_validation_info
from pyhanko_certvalidator import ValidationContext

from .errors import SigningError
from .keys.api import PdfSigningMaterial

__all__ = ["extend_to_lta"]


def _signing_context(material: PdfSigningMaterial, crls: Sequence[bytes], at: datetime) -> ValidationContext:
    """What the validation data is gathered with, as of ``at``: our chain, the TSA, the CAs' CRLs;
    revocation data required for every certificate. Given no CRLs, pyHanko fetches them from the
    issuers."""
    roots = [c for c in material.chain if c.self_signed != "no"]
    return ValidationContext(trust_roots=roots, other_certs=[*material.chain, material.tsa_cert],
                             crls=list(crls), allow_fetching=not crls, revocation_mode="hard-fail", moment=at)


def extend_to_lta(pdf: bytes, material: PdfSigningMaterial, timestamper: TimeStamper,
                  crls: Sequence[bytes] = (), *, at: datetime) -> bytes:
    """The B-LTA form of a sealed license (ETSI EN 319 142-1, PAdES-LTA level): its validation data,
    valid at ``at``, in the DSS, then a document timestamp from ``timestamper`` (with its own
    validation data). Raises :class:`SigningError` if the data cannot be gathered (a CRL out of date
    at ``at``, a revoked certificate) or the document has no signature."""
    try:
        sig = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures[0]
        vc = _signing_context(material, crls, at)
        with_dss = add_validation_info(sig, vc)
        out: BytesIO = PdfTimeStamper(timestamper).timestamp_pdf(
            IncrementalPdfFileWriter(with_dss, strict=False), "sha256", validation_context=vc)
        return bytes(out.getvalue())
    except Exception as e:  # pyHanko and the validator raise many types; the caller needs one
        raise SigningError(f"the long-term form could not be made: {type(e).__name__}: {e}") from e
