"""Configuration from the environment (DESIGN.md). ``Settings`` refuses unsafe production setups."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from signing.cosignature import CosignatureVerifier
from signing.note import NoteError

__all__ = ["REPO_ROOT", "Settings", "WitnessConfig"]

REPO_ROOT = Path(__file__).resolve().parent.parent


class WitnessConfig(BaseModel):
    """One witness the log asks to cosign (C2SP tlog-witness): where it listens (the submission
    prefix, without ``/add-checkpoint``) and its verifier key (a cosignature/v1 vkey, type 0x04)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s]+$")
    vkey: str

    @field_validator("url")
    @classmethod
    def _no_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @field_validator("vkey")
    @classmethod
    def _cosigner_key(cls, v: str) -> str:
        try:
            return CosignatureVerifier.from_vkey(v).vkey
        except NoteError as e:
            raise ValueError(f"not a witness verifier key: {e}") from None


class Settings(BaseSettings):
    """All settings; each is ``ELICENSE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="ELICENSE_", frozen=True)

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./var/elicense.db"
    keys_dir: Path = Path("./keys_dev")
    #: where the PDF signer's and the token's private keys are used: files in keys_dir, or an HSM
    #: through PKCS#11 (the module, the token's label and PIN, the keys' labels)
    key_provider: Literal["file", "pkcs11"] = "file"
    pkcs11_module: str | None = None
    pkcs11_token_label: str = "elicense"
    pkcs11_pin: str | None = Field(default=None, repr=False)
    pkcs11_pdf_key_label: str = "document-signer"
    pkcs11_token_key_label: str = "token"
    public_base_url: str = "http://127.0.0.1:8000"
    templates_dir: Path = REPO_ROOT / "templates"
    #: GB/T 36904 identifier parts: the certificate-type code and the issuer code (the issuing
    #: authority's USCC in production; these development values say what they are).
    cert_type_code: str = Field(default="DEVBL001", pattern=r"^[0-9A-Z]{1,24}$")
    issuer_code: str = Field(default="DEVISSUER", pattern=r"^[0-9A-Z]{1,24}$")
    #: The issuance log's origin line (C2SP tlog-checkpoint), and the name of its key.
    log_origin: str = Field(default="elicense-dev.invalid/log", pattern=r"^[^\s+]+$")
    #: Lifetime of API access tokens, and the longest one accepted (``exp - iat``); a retired access
    #: key verifies nothing once this long has passed since its retirement.
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    #: How long (seconds) a service believes what it last read of an API client (that it exists and
    #: is not disabled): a disabled or deleted client's tokens stop working within this long.
    client_status_max_age_seconds: float = Field(default=5.0, ge=0, le=60)
    #: Rate limits on POST /oauth/token (token buckets, per process): requests per source address
    #: (counted before the request is read), and failed client authentications per client id.
    rate_token_per_second: float = Field(default=10.0, gt=0)
    rate_token_burst: int = Field(default=100, ge=1)
    rate_token_failures_per_second: float = Field(default=1.0, gt=0)
    rate_token_failures_burst: int = Field(default=20, ge=1)
    #: Known legacy codes (early pilots) that fail the GB 32100 checks but are genuine.
    uscc_legacy_allowlist: frozenset[str] = frozenset()
    #: Largest request body accepted (bytes); larger bodies get 413. PDF uploads have their own limit.
    max_body_bytes: int = 256 * 1024
    max_pdf_bytes: int = 2 * 1024 * 1024
    #: Largest request head accepted (bytes: the request target plus every header field's name and
    #: value); larger heads get 431 and the connection is closed.
    max_header_bytes: int = Field(default=32 * 1024, ge=4 * 1024, le=1024 * 1024)
    #: The reverse proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed: a
    #: comma-separated list of addresses and networks (``10.0.0.0/8``). Empty (the default): none,
    #: the peer's address is the client's, whatever headers it sends.
    trusted_proxies: str = ""
    #: Rate limits (token buckets, per process): per API client, and per address on the public page.
    rate_api_per_second: float = Field(default=50.0, gt=0)
    rate_api_burst: int = Field(default=200, ge=1)
    rate_page_per_second: float = Field(default=2.0, gt=0)
    rate_page_burst: int = Field(default=30, ge=1)
    #: How long a holder invitation (the window's or a grantor's) can be used.
    holder_invitation_ttl_seconds: int = Field(default=24 * 3600, ge=300, le=7 * 24 * 3600)
    #: Rate limits on the holder's pages, per address: passkey sign-in and enrolment attempts, typed
    #: invitation codes; and on redeeming presented QR codes (亮照), per address or platform client.
    rate_holder_per_second: float = Field(default=0.5, gt=0)
    rate_holder_burst: int = Field(default=20, ge=1)
    rate_redeem_per_second: float = Field(default=5.0, gt=0)
    rate_redeem_burst: int = Field(default=100, ge=1)
    #: Threads per process for blocking request work (database, crypto). Small on purpose: more
    #: threads than cores only fight over the GIL.
    threads: int = Field(default=8, ge=1, le=256)
    #: Platform verifications are written in batches this often (0: one transaction per verification).
    verification_record_interval_ms: int = Field(default=50, ge=0, le=5000)

    #: The witnesses the log asks to cosign its checkpoints (a JSON list of {"url", "vkey"}), and the
    #: policy: how many of them must have cosigned a checkpoint before it is published and before a
    #: license proven in it verifies ``valid`` (0: the log's own signature suffices).
    witnesses: tuple[WitnessConfig, ...] = ()
    witness_policy: int = Field(default=0, ge=0)
    #: For this many seconds after its issuance, a license whose leaf is in a checkpoint the log has
    #: signed but the witnesses have not yet cosigned verifies ``valid`` (reason ``log.pending_grace``)
    #: rather than ``indeterminate`` (``log.pending``). 0, the default: never.
    witness_grace_seconds: float = Field(default=0, ge=0, le=3600)
    #: How often (milliseconds) the issuing service looks for a new checkpoint to take to the witnesses.
    witness_interval_ms: int = Field(default=100, ge=10, le=60_000)

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, v: str) -> str:
        entries = [e.strip() for e in v.split(",") if e.strip()]
        for e in entries:
            try:
                ipaddress.ip_network(e, strict=False)
            except ValueError:
                raise ValueError(f"ELICENSE_TRUSTED_PROXIES: {e!r} is not an address or network") from None
        return ",".join(entries)

    @model_validator(mode="after")
    def _policy_is_possible(self) -> Settings:
        if self.witness_policy > len(self.witnesses):
            raise ValueError(f"ELICENSE_WITNESS_POLICY={self.witness_policy} needs at least that many "
                             f"ELICENSE_WITNESSES (there are {len(self.witnesses)})")
        if len({w.vkey for w in self.witnesses}) != len(self.witnesses):
            raise ValueError("ELICENSE_WITNESSES names a witness twice")
        return self

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.env == "production":
            if self.database_url.startswith("sqlite"):
                raise ValueError("ELICENSE_ENV=production refuses SQLite: set ELICENSE_DATABASE_URL to PostgreSQL")
            if self.cert_type_code.startswith("DEV") or self.issuer_code.startswith("DEV"):
                raise ValueError("ELICENSE_ENV=production needs ELICENSE_CERT_TYPE_CODE and ELICENSE_ISSUER_CODE")
        return self

    @property
    def is_dev(self) -> bool:
        return self.env == "development"
