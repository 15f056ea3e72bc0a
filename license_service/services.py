"""The service graph, built from settings (no import-time globals): database, keys, renderer,
sealer and the issuance service."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from signing.errors import KeyMaterialError
from signing.keys import FileKeyProvider, KeyProvider
from signing.pdf import PdfSealer
from signing.tokens import CachingVerifier

from .config import Settings
from .db.engine import make_engine, make_session_factory, make_write_session_factory
from .db.migrate import ensure_schema
from .db.serials import SerialCounters
from .issuance import IssuanceService
from .rendering.fonts import FontSet
from .rendering.license_pdf import LicenseRenderer
from .rendering.seal import draw_seal_pdf
from .status_lists import StatusLists
from .translog import IssuanceLog

__all__ = ["Services", "key_provider"]


def key_provider(settings: Settings) -> KeyProvider:
    """The keys folder, with the PDF and token private keys in an HSM when so configured."""
    if settings.key_provider == "file":
        return FileKeyProvider(settings.keys_dir)
    from signing.pkcs11 import Pkcs11KeyProvider

    if not settings.pkcs11_module or settings.pkcs11_pin is None:
        raise KeyMaterialError("ELICENSE_KEY_PROVIDER=pkcs11 needs ELICENSE_PKCS11_MODULE and ELICENSE_PKCS11_PIN",
                               code="keys.config")
    return Pkcs11KeyProvider(settings.keys_dir, module=settings.pkcs11_module, token_label=settings.pkcs11_token_label,
                             pin=settings.pkcs11_pin, pdf_key_label=settings.pkcs11_pdf_key_label,
                             token_key_label=settings.pkcs11_token_key_label)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]  # reads
    write_sessions: sessionmaker[Session]  # writes (take SQLite's write lock at BEGIN)
    keys: KeyProvider

    @classmethod
    def build(cls, settings: Settings, *, may_migrate: bool = True) -> Services:
        """Connect and check the schema (``db/migrate.py``): in development the issuing side brings
        it up to date itself; in production, and on the verification side (``may_migrate=False``,
        which may run on a read-only role), a schema that is not current refuses to start."""
        engine = make_engine(settings.database_url)
        ensure_schema(engine, may_upgrade=may_migrate and settings.is_dev)
        return cls(settings, engine, make_session_factory(engine), make_write_session_factory(engine),
                   key_provider(settings))

    @cached_property
    def access_tokens(self) -> CachingVerifier:
        """Verifies API access tokens with the public access key (cached per token)."""
        return CachingVerifier(self.keys.access_keyring())

    @cached_property
    def log(self) -> IssuanceLog:
        """The issuance log; only appends (issuing side) ever load its private key."""
        return IssuanceLog(self.settings.log_origin, signer=self.keys.log_signer)

    @cached_property
    def issuance(self) -> IssuanceService:
        """Built on first use: loads fonts and private keys (the verification side never does)."""
        fonts = FontSet()
        footer = f"核验：{self.settings.public_base_url}/v/ · 电子营业执照与纸质营业执照具有同等法律效力"
        renderer = LicenseRenderer(fonts, self.settings.templates_dir / "license", footer=footer)
        sealer = PdfSealer(self.keys.pdf_signing(), seal_appearance=lambda a: draw_seal_pdf(fonts, a))
        return IssuanceService(
            self.sessions, self.write_sessions, SerialCounters(self.engine), renderer, sealer,
            self.keys.token_signing_key,
            log=self.log, base_url=self.settings.public_base_url, type_code=self.settings.cert_type_code,
            issuer_code=self.settings.issuer_code, revocation_data=self.keys.revocation_data,
            status=self.status_lists,
        )

    @cached_property
    def status_lists(self) -> StatusLists:
        """The registry's status lists (signing them needs the token key: the issuing side only)."""
        return StatusLists(self.engine, self.keys.token_signing_key, self.settings.public_base_url)
