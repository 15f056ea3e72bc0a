"""PAdES sealing of license PDFs with pyHanko.

A license is sealed with a *certification* signature (DocMDP P=1: no changes allowed; ISO 32000-2
s.12.8.2.2), PAdES baseline B-T (ETSI EN 319 142-1: CAdES-detached, signing-certificate-v2, a
signature timestamp), whose widget carries the authority's seal as its appearance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from io import BytesIO

from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import content as pdf_content
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .errors import SigningError
from .keys import PdfSigningMaterial
from .ltv import extend_to_lta
from .timestamps import LocalTimeStamper

__all__ = ["SEAL_FIELD", "PdfSealer"]

SEAL_FIELD = "AuthoritySeal"
_RESERVE_MARGIN = 64  # two DER ECDSA signatures and a timestamp's serial and nonce vary by a few bytes


class _CachedKeySigner(signers.SimpleSigner):
    """pyHanko's ``SimpleSigner`` re-parses its private key on every signature (~ms each); this one
    signs with a key object parsed once."""

    def __init__(self, cert: asn1_x509.Certificate, key: ec.EllipticCurvePrivateKey,
                 chain: tuple[asn1_x509.Certificate, ...]) -> None:
        super().__init__(signing_cert=cert, signing_key=None,  # type: ignore[arg-type]  # key kept below
                         cert_registry=SimpleCertificateStore.from_certs(chain), embed_roots=False)
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self.sign_raw(data, digest_algorithm)


class PdfSealer:
    """Seals PDFs: certification signature + timestamp + seal appearance.

    ``seal_appearance(authority_name)`` returns a one-page PDF (bytes) drawn at the seal's size; it is
    the signature widget's appearance. Appearances are cached per authority.
    """

    def __init__(self, material: PdfSigningMaterial, *,
                 seal_appearance: Callable[[str], bytes],
                 timestamper: TimeStamper | None = None) -> None:
        self._material = material
        self._signer = _CachedKeySigner(material.signer_cert, material.signer_key, material.chain)
        # validators bring their own roots: embedding them only makes every signature larger to parse
        intermediates = tuple(c for c in material.chain if c.self_signed == "no")  # asn1crypto: yes|maybe|no
        self._timestamper = timestamper or LocalTimeStamper(material.tsa_cert, material.tsa_key, intermediates)
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

    def seal(self, pdf: bytes, *, box: tuple[float, float, float, float], authority: str,
             reason: str, location: str) -> bytes:
        """Return ``pdf`` with an incremental update holding the certification signature.

        ``box`` is the seal's rectangle on page 1 (x1, y1, x2, y2 in points). Raises
        :class:`SigningError` if pyHanko fails. Thread-safe (one signature at a time).
        """
        with self._lock:
            return self._seal(pdf, box=box, authority=authority, reason=reason, location=location)

    def long_term(self, pdf: bytes, crls: tuple[bytes, ...]) -> bytes:
        """The PAdES B-LTA form of a sealed license (``signing/ltv.py``), timestamped by our TSA."""
        return extend_to_lta(pdf, self._material, self._timestamper, crls)

    def _seal(self, pdf: bytes, *, box: tuple[float, float, float, float], authority: str,
              reason: str, location: str) -> bytes:
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
        signer = signers.PdfSigner(meta, signer=self._signer, timestamper=self._timestamper,
                                   stamp_style=self._style(authority), new_field_spec=spec)
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
