"""RFC 3161 timestamping. The development TSA signs locally with the dev PKI's TSA key (ECDSA).

pyHanko ships ``DummyTimeStamper`` as its test double, but it is RSA-only and wants the key itself;
this subclass signs through an ``EcSigner`` (a key in a file or an HSM) and changes only the signing
step. Its time is fixed at construction (``at``): the caller's clock, never this module's.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .keys.api import EcSigner

__all__ = ["LocalTimeStamper"]


class LocalTimeStamper(DummyTimeStamper):
    """An in-process TSA: answers every request with a token (RFC 3161 s.2.4.2) signed by ``tsa``,
    whose ``genTime`` and CMS signing time are ``at``.

    For development and tests; production points pyHanko's HTTP timestamper at the authority's TSA.
    """

    def __init__(self, tsa_cert: asn1_x509.Certificate, tsa: EcSigner,
                 chain: tuple[asn1_x509.Certificate, ...] = (), *, at: datetime) -> None:
        super().__init__(tsa_cert=tsa_cert, tsa_key=None, certs_to_embed=chain,  # type: ignore[arg-type]
                         fixed_dt=at)  # the key is used through ``tsa`` alone
        self._tsa = tsa
        self._signing_certificate = _signing_certificate(tsa_cert.dump())

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                       dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", tsp.SigningCertificate.load(self._signing_certificate)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        return self._tsa.sign(signed_attrs.dump(), md_algorithm), signed_attrs

    def _build_signed_data(self, tst_info_data: bytes, md_algorithm: str, signature: bytes,
                           signed_attrs: cms.CMSAttributes) -> dict:  # type: ignore[type-arg]
        signed_data: dict = super()._build_signed_data(  # type: ignore[type-arg]
            tst_info_data, md_algorithm, signature, signed_attrs)
        signed_data["signer_infos"][0]["signature_algorithm"] = algos.SignedDigestAlgorithm(
            {"algorithm": f"{md_algorithm}_ecdsa"})
        return signed_data


@lru_cache(maxsize=8)
def _signing_certificate(cert_der: bytes) -> bytes:
    """The TSA certificate's signing-certificate attribute value (RFC 2634 s.5.4), encoded once: built
    from parts, asn1crypto re-encodes it many times over on every token."""
    der: bytes = general.as_signing_certificate(asn1_x509.Certificate.load(cert_der)).dump()
    return der
