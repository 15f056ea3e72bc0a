"""RFC 3161 timestamping. The development TSA signs locally with the dev PKI's TSA key (ECDSA).

pyHanko ships ``DummyTimeStamper`` as its test double, but it is RSA-only and re-parses its key on
every request; this subclass keeps the parsed ECDSA key and changes only the signing step.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

__all__ = ["LocalTimeStamper"]


class LocalTimeStamper(DummyTimeStamper):
    """An in-process TSA: answers every request with a token signed by ``tsa_key`` (ECDSA).

    For development and tests; production points pyHanko's HTTP timestamper at the authority's TSA.
    """

    def __init__(self, tsa_cert: asn1_x509.Certificate, tsa_key: ec.EllipticCurvePrivateKey,
                 chain: tuple[asn1_x509.Certificate, ...] = ()) -> None:
        super().__init__(tsa_cert=tsa_cert, tsa_key=None, certs_to_embed=chain)  # type: ignore[arg-type]
        self._key = tsa_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                       dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(get_pyca_cryptography_hash(md_algorithm)))
        return signature, signed_attrs

    def _build_signed_data(self, tst_info_data: bytes, md_algorithm: str, signature: bytes,
                           signed_attrs: cms.CMSAttributes) -> dict:  # type: ignore[type-arg]
        signed_data: dict = super()._build_signed_data(  # type: ignore[type-arg]
            tst_info_data, md_algorithm, signature, signed_attrs)
        signed_data["signer_infos"][0]["signature_algorithm"] = algos.SignedDigestAlgorithm(
            {"algorithm": f"{md_algorithm}_ecdsa"})
        return signed_data
