"""The issuing runtime: the read-only runtime plus everything that signs (signers in files or an
HSM, the sealer, the renderer, log appends, status lists) and the issuance service over them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from signing.errors import KeyMaterialError
from signing.keys.api import Signers
from signing.keys.devpki import OcspResponder
from signing.keys.public import FilePublicKeys
from signing.pdf import PdfSealer

from ..config import Settings
from ..db.serials import SerialCounters
from ..holders.ledger import HolderLedger
from ..issuance import IssuanceService
from ..log.writer import IssuanceLog
from ..rendering.fonts import FontSet
from ..rendering.license_pdf import LicenseRenderer
from ..rendering.seal import draw_seal_pdf
from ..status_lists import StatusLists
from ..urls import VERIFY_PATH
from .read import ReadRuntime

__all__ = ["IssuingRuntime", "key_signers"]


def key_signers(settings: Settings) -> Signers:
    """The private keys: files in the keys folder, or the PDF signer's and the token's keys in an HSM."""
    if settings.key_provider == "file":
        from signing.keys.files import FileSigners

        return FileSigners(settings.keys_dir)
    from signing.keys.pkcs11 import Pkcs11Signers

    if not settings.pkcs11_module or settings.pkcs11_pin is None:
        raise KeyMaterialError("ELICENSE_KEY_PROVIDER=pkcs11 needs ELICENSE_PKCS11_MODULE and ELICENSE_PKCS11_PIN",
                               code="keys.config")
    return Pkcs11Signers(settings.keys_dir, module=settings.pkcs11_module, token_label=settings.pkcs11_token_label,
                         pin=settings.pkcs11_pin, pdf_key_label=settings.pkcs11_pdf_key_label,
                         token_key_label=settings.pkcs11_token_key_label)


@dataclass
class IssuingRuntime(ReadRuntime):
    signers: Signers

    @classmethod
    def build(cls, settings: Settings) -> IssuingRuntime:
        """Connects (bringing the schema up to date in development) with public and private keys."""
        return cls(settings, *cls.connect(settings, may_migrate=True), FilePublicKeys(settings.keys_dir),
                   key_signers(settings))

    @cached_property
    def log(self) -> IssuanceLog:
        """The log with its checkpoint key (loaded on the first append)."""
        return IssuanceLog(self.settings.log_origin, signer=self.signers.log_signer)

    @cached_property
    def status_lists(self) -> StatusLists:
        """The registry's status lists, signed with their own key."""
        return StatusLists(self.engine, self.signers.status_signer, self.settings.public_base_url)

    @cached_property
    def holders(self) -> HolderLedger:
        """Holder bindings and grants, each change with its log leaf."""
        return HolderLedger(self.log, invitation_ttl=timedelta(seconds=self.settings.holder_invitation_ttl_seconds))

    @cached_property
    def ocsp(self) -> OcspResponder:
        """The development PKI's OCSP responder (answers nothing without a development CA key)."""
        return OcspResponder(self.settings.keys_dir)

    @cached_property
    def issuance(self) -> IssuanceService:
        """Built on first use: loads fonts and private keys."""
        fonts = FontSet()
        base = self.settings.public_base_url
        footer = f"核验：{base}{VERIFY_PATH} · 电子营业执照与纸质营业执照具有同等法律效力"
        renderer = LicenseRenderer(fonts, self.settings.templates_dir / "license", footer=footer)
        sealer = PdfSealer(self.signers.pdf_signing(), seal_appearance=lambda a: draw_seal_pdf(fonts, a))
        return IssuanceService(
            self.sessions, self.write_sessions, SerialCounters(self.engine), renderer, sealer,
            self.signers.token_signer,
            log=self.log, base_url=base, type_code=self.settings.cert_type_code,
            issuer_code=self.settings.issuer_code, revocation_data=self.signers.revocation_data,
            status=self.status_lists, holders=self.holders,
        )
