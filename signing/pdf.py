"""PAdES sealing of license PDFs with pyHanko.

A license is sealed with a *certification* signature (DocMDP P=1: no changes allowed; ISO 32000-2
s.12.8.2.2), PAdES baseline B-T (ETSI EN 319 142-1: CAdES-detached, signing-certificate-v2, a
signature timestamp), whose widget carries the authority's seal as its appearance.

Time is an argument: the signing time a seal claims and, with the development TSA, the time its
timestamp proves are both the ``at`` the caller passes. Only the issuing side imports this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import parser as asn1_parser
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import content as pdf_content
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, general, signers
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import SigningError
from .keys.api import EcSigner, PdfSigningMaterial
from .ltv import extend_to_lta, is_long_term, renew_lta
from .timestamps import LocalTimeStamper

__all__ = ["SEAL_FIELD", "PdfSealer"]

SEAL_FIELD = "AuthoritySeal"
_RESERVE_MARGIN = 64  # two DER ECDSA signatures and a timestamp's serial and nonce vary by a few bytes


class _EcPdfSigner(signers.Signer):
    """A pyHanko ``Signer`` that signs through an ``EcSigner`` (a key in a file or an HSM, used as
    it is held: pyHanko's ``SimpleSigner`` would re-parse a key on every signature)."""

    def __init__(self, cert: asn1_x509.Certificate, signer: EcSigner,
                 chain: tuple[asn1_x509.Certificate, ...]) -> None:
        super().__init__(signing_cert=cert, cert_registry=SimpleCertificateStore.from_certs(chain),
                         embed_roots=False)
        self._ec = signer
        self.signed_attr_prov_spec = _PadesSignedAttributes(cert)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self._ec.sign(data, digest_algorithm)


class _SigningCertificateV2(CMSAttributeProvider):
    """The signing-certificate-v2 attribute (RFC 5035), encoded once per signer.

    pyHanko builds it afresh for every signature, and asn1crypto re-encodes a structure built from
    parts many times over: that alone took a third of a seal's time. A value loaded from its DER
    encodes as those bytes."""

    attribute_type = "signing_certificate_v2"

    def __init__(self, cert: asn1_x509.Certificate) -> None:
        self._der = general.as_signing_certificate_v2(cert).dump()

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)


class _PadesSignedAttributes(SignedAttributeProviderSpec):
    """The signed attributes of a PAdES baseline signature (ETSI EN 319 142-1 s.5.2): pyHanko adds
    content-type and message-digest; besides them only signing-certificate-v2 (no signing-time: the
    time is the signature dictionary's ``/M``). What pyHanko's ``CAdESSignedAttributeProviderSpec``
    gives for PAdES, with the certificate's attribute encoded once."""

    def __init__(self, cert: asn1_x509.Certificate) -> None:
        self._signing_certificate = _SigningCertificateV2(cert)

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> Iterator[CMSAttributeProvider]:
        yield self._signing_certificate


class _PdfSignerAt(signers.PdfSigner):
    """``PdfSigner`` whose signing session takes its time from the caller: pyHanko's session reads
    the clock (``PdfSigningSession.system_time``) unless told otherwise, and its ``PdfSigner`` offers
    no way to tell it. That time is the signature dictionary's ``/M``: a PAdES baseline signature
    claims its signing time there, not in a CMS signing-time attribute (ETSI EN 319 142-1)."""

    def __init__(self, *args: Any, at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def init_signing_session(self, pdf_out: BasePdfFileWriter,
                             existing_fields_only: bool = False) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._at
        return session


class PdfSealer:
    """Seals PDFs: certification signature + timestamp + seal appearance, signed through
    ``material.signer``.

    ``seal_appearance(authority_name)`` returns a one-page PDF (bytes) drawn at the seal's size; it is
    the signature widget's appearance. Appearances are cached per authority. ``timestamper`` is the
    authority's TSA (pyHanko's ``HTTPTimeStamper``); without one, the development TSA
    (``LocalTimeStamper``) answers, through ``material.tsa``, with the time of each signature.
    """

    def __init__(self, material: PdfSigningMaterial, *,
                 seal_appearance: Callable[[str], bytes],
                 timestamper: TimeStamper | None = None) -> None:
        self._material = material
        self._signer = _EcPdfSigner(material.signer_cert, material.signer, material.chain)
        # validators bring their own roots: embedding them only makes every signature larger to parse
        self._intermediates = tuple(c for c in material.chain if c.self_signed == "no")  # asn1crypto: yes|maybe|no
        self._timestamper = timestamper
        self._seal_appearance = seal_appearance
        self._styles: dict[str, StaticStampStyle] = {}
        # One signature at a time per process: the cached styles hold PdfFileReaders (not safe to
        # share between threads) and the learned reservation is read and reset per signature.
        self._lock = threading.Lock()
        # Bytes reserved for the CMS blob. pyHanko's estimate adds 50% slack, which every verifier then
        # parses as hex (pyHanko's own tight estimate is a few bytes short at times: DER ECDSA signatures
        # vary in length). We reserve what the first signature needed plus a margin.
        self._reserve: int | None = None

    def _style(self, authority: str) -> StaticStampStyle:
        style = self._styles.get(authority)
        if style is None:
            reader = PdfFileReader(BytesIO(self._seal_appearance(authority)))
            style = StaticStampStyle(background=_ImportedPage(reader), border_width=0,
                                     background_opacity=1.0)
            self._styles[authority] = style
        return style

    def _timestamper_at(self, at: datetime) -> TimeStamper:
        """The authority's TSA if one was given (its time is its own), else the development TSA at
        ``at``."""
        if self._timestamper is not None:
            return self._timestamper
        return LocalTimeStamper(self._material.tsa_cert, self._material.tsa, self._intermediates, at=at)

    def seal(self, pdf: bytes, *, box: tuple[float, float, float, float], authority: str,
             reason: str, location: str, at: datetime) -> bytes:
        """Return ``pdf`` with an incremental update holding the certification signature (PAdES
        B-T, ETSI EN 319 142-1) made at ``at``: the signing time it claims (``/M``) is ``at``,
        and so is its signature timestamp's time when the development TSA makes it.

        ``box`` is the seal's rectangle on page 1 (x1, y1, x2, y2 in points). Raises
        :class:`SigningError` if pyHanko or the signer fails. Thread-safe (one signature at a time).
        """
        with self._lock:
            return self._seal(pdf, box=box, authority=authority, reason=reason, location=location, at=at)

    def long_term(self, pdf: bytes, revocation: tuple[bytes, ...], *, at: datetime) -> bytes:
        """The PAdES B-LTA form of a sealed license made at ``at`` (``signing/ltv.py``): given the form
        as issued, its validation data gathered at ``at`` with ``revocation`` (CRLs and OCSP responses,
        DER), then a document timestamp (``extend_to_lta``); given a long-term form, the same for its
        newest document timestamp, then another one (``renew_lta``). The timestamp is the authority's
        TSA's, or the development TSA's at ``at``. Raises :class:`SigningError` (``ltv.too_early``
        when ``at`` is not after the signing time, or the newest document timestamp)."""
        extend = renew_lta if is_long_term(pdf) else extend_to_lta
        return extend(pdf, self._material, self._timestamper_at(at), revocation, at=at)

    def _seal(self, pdf: bytes, *, box: tuple[float, float, float, float], authority: str,
              reason: str, location: str, at: datetime) -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name=SEAL_FIELD,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
            subfilter=SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
            location=location,
        )
        x1, y1, x2, y2 = (round(v) for v in box)
        spec = fields.SigFieldSpec(sig_field_name=SEAL_FIELD, on_page=0, box=(x1, y1, x2, y2))
        signer = _PdfSignerAt(meta, signer=self._signer, timestamper=self._timestamper_at(at),
                              stamp_style=self._style(authority), new_field_spec=spec, at=at)
        try:
            try:
                return self._sign(signer, pdf)
            except PyHankoSigningError:
                if self._reserve is None:
                    raise
                self._reserve = None  # the blob outgrew what we learned (a new chain?): estimate again
                return self._sign(signer, pdf)
        except Exception as e:  # pyHanko raises a wide variety; the caller needs one
            raise SigningError(f"sealing failed: {type(e).__name__}") from e

    def _sign(self, signer: signers.PdfSigner, pdf: bytes) -> bytes:
        out = BytesIO()
        signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=False), output=out,
                        bytes_reserved=self._reserve)
        if self._reserve is None:
            contents = PdfFileReader(BytesIO(out.getvalue()), strict=False).embedded_signatures[0].pkcs7_content
            _, _, _, header, body, _ = asn1_parser.parse(contents)  # the DER length, without the zero padding
            # pyHanko counts the reservation in hex digits: two per byte of the CMS blob
            self._reserve = 2 * (len(header) + len(body) + _RESERVE_MARGIN)
        return out.getvalue()


class _ImportedPage(pdf_content.ImportedPdfPage):
    """``ImportedPdfPage`` that imports from an already-parsed reader instead of re-reading a file."""

    def __init__(self, reader: PdfFileReader) -> None:
        super().__init__(file_name="", page_ix=0)
        self._reader = reader

    def render(self) -> bytes:
        xobj = self._ensure_writer.import_page_as_xobject(self._reader, page_ix=self.page_ix)
        self.resources.xobject["/Seal"] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return b"/Seal Do"
