"""The registry's tables (SQLAlchemy 2): market entities, license versions and their documents,
registration events (the idempotency record), API clients, and serial counters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["ApiClient", "AuthorizationCode", "Base", "ClientAssertion", "EntityNameGram", "Holder", "HolderCeremony",
           "HolderInvitation", "HolderPasskey", "HolderSession", "LicenseDocument", "LicensePrint", "LicenseVersion",
           "LogCheckpoint", "LogCosignature", "LogHead", "LogLeaf", "LogNode", "LogWitness", "Login", "LoginRequest",
           "LongTermForm", "MarketEntity", "Platform", "Presentation", "RegistrationEvent",
           "ReplacementRequest", "SerialCounter", "StaffAction", "StaffMember", "StaffPasskey", "StaffSession",
           "VerificationRecord"]


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class MarketEntity(Base):
    """市场主体: one row per USCC; its status and pointer to the current license version."""

    __tablename__ = "market_entities"
    # the console's search with a kind filter walks this range rather than every USCC of the prefix
    __table_args__ = (Index("ix_market_entities_kind_uscc", "entity_kind", "uscc"),)

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_reason: Mapped[str | None] = mapped_column(Text)
    current_version: Mapped[int] = mapped_column(Integer)
    established_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    licenses: Mapped[list[LicenseVersion]] = relationship(
        back_populates="entity", order_by="LicenseVersion.version", lazy="selectin"
    )


class LicenseVersion(Base):
    """One issued license version (证照). The record is the canonical JSON its digest covers."""

    __tablename__ = "license_versions"
    __table_args__ = (UniqueConstraint("uscc", "version"),)

    license_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("market_entities.uscc"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    registered_on: Mapped[date] = mapped_column(Date)
    record: Mapped[str] = mapped_column(Text)
    record_digest: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)  # form 1 (signing/tokens.py): the API's and the PDF's
    # form 2 (signing/compact_tokens.py), what the QR code carries; None for versions issued before it
    qr_token: Mapped[str | None] = mapped_column(Text)
    # the SHA-256 of the PDF as issued; indexed: the verifier finds an uploaded file's license by it
    pdf_sha256: Mapped[str] = mapped_column(String(64), index=True)
    event_id: Mapped[str] = mapped_column(String(128))
    superseded_by: Mapped[str | None] = mapped_column(String(96))
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # its issuance leaf in the log
    # its place in the status lists (list = index // LIST_BITS), random; None before status lists
    status_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_reason: Mapped[str | None] = mapped_column(Text)

    entity: Mapped[MarketEntity] = relationship(back_populates="licenses")
    # written with the version (so one flush orders the two inserts); never loaded through here
    document: Mapped[LicenseDocument | None] = relationship(lazy="raise")


class LicenseDocument(Base):
    """The signed PDF, kept apart so license rows stay small."""

    __tablename__ = "license_documents"

    license_id: Mapped[str] = mapped_column(ForeignKey("license_versions.license_id"), primary_key=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)


class LongTermForm(Base):
    """A license version's long-term form (PAdES B-LTA, ``signing/ltv.py``) as archived by
    ``license_service/archive.py``: made once the grace period after the signing time has passed, so
    its revocation data shows any compromise reported in it; renewed with a new document timestamp
    before the newest one's TSA certificate expires. The form as issued stays in
    ``license_documents``, byte for byte the first revision of this one."""

    __tablename__ = "long_term_forms"

    license_id: Mapped[str] = mapped_column(ForeignKey("license_versions.license_id"), primary_key=True)
    #: the SHA-256 of the form as issued (``license_versions.pdf_sha256``): how a request for the
    #: long-term form of a PDF finds it
    issued_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())  # when first archived
    renewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # its last renewal
    document_timestamps: Mapped[int] = mapped_column(Integer)
    #: when the certificate of the TSA that made the newest document timestamp expires: renew before
    timestamp_expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class RegistrationEvent(Base):
    """Every accepted registration result, with the answer given, so a replay gets the same answer."""

    __tablename__ = "registration_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiClient(Base):
    """An OAuth 2.0 client; the secret is stored only as an scrypt hash."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(256))
    scopes: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled: Mapped[bool] = mapped_column(default=False)


class SerialCounter(Base):
    """The last serial sequence used per (division, day)."""

    __tablename__ = "serial_counters"

    division_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class VerificationRecord(Base):
    """One platform verification: who checked which entity's license, when, how, and the verdict.
    The only table the verification service writes."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    channel: Mapped[str] = mapped_column(String(16))  # token | pdf | entity
    subject_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    license_id: Mapped[str | None] = mapped_column(String(96))
    verdict: Mapped[str] = mapped_column(String(16))


class LogLeaf(Base):
    """One entry of the issuance log: canonical JSON naming an issuance or a lifecycle change."""

    __tablename__ = "log_leaves"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LogNode(Base):
    """The hash of a perfect subtree (level 0: leaf hashes). Written once, never changed."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) of the tree at ``size``."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LogCosignature(Base):
    """A witness's cosignature (C2SP tlog-cosignature) on the checkpoint of ``size``: its signature
    line, as the witness returned it and the collector verified it. ``witness`` is its vkey."""

    __tablename__ = "log_cosignatures"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(512), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LogWitness(Base):
    """What the log knows of one witness: the size it last cosigned, and an alarm when it refused a
    checkpoint as inconsistent (then no checkpoint above ``alarm_size`` is published until it
    cosigns again)."""

    __tablename__ = "log_witnesses"

    witness: Mapped[str] = mapped_column(String(512), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    alarm: Mapped[str | None] = mapped_column(Text)
    alarm_size: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LogHead(Base):
    """The log's one sequencing row: its size. Appends lock it, so they are serialized."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))  # of the last signed checkpoint


class StatusListRow(Base):
    """A published status list (``signing/status_list.py``): its bits and the signed list served."""

    __tablename__ = "status_lists"

    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    list_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    token: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReissueItem(Base):
    """The outcome of one entity in one re-issuance campaign (``elicense reissue``): what makes a
    campaign resumable (done items are not queued again) and gives its report."""

    __tablename__ = "reissue_items"

    campaign: Mapped[str] = mapped_column(String(64), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # issued | skipped | failed
    detail: Mapped[str] = mapped_column(Text)
    license_id: Mapped[str | None] = mapped_column(String(96))
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Holder(Base):
    """持照人: one person bound to one entity in one role (``domain/holding.py``). Personal data stays
    here; the log holds only ids and ``person_sha256`` (SHA-256 of ``name_salt || name``)."""

    __tablename__ = "holders"

    holder_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("market_entities.uscc"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    name_salt: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str | None] = mapped_column(String(32), index=True)  # None: named by the registry
    scope: Mapped[str] = mapped_column(String(800))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(64))
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    user_handle: Mapped[str] = mapped_column(String(44), unique=True)  # WebAuthn user.id, base64url
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)  # the last leaf that stated this row


class HolderPasskey(Base):
    """A WebAuthn credential (passkey) of a holder: its public key (COSE) and signature counter."""

    __tablename__ = "holder_passkeys"

    credential_id: Mapped[str] = mapped_column(String(1400), primary_key=True)  # base64url
    holder_id: Mapped[str] = mapped_column(ForeignKey("holders.holder_id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class HolderInvitation(Base):
    """A single-use invitation to become a holder; only the SHA-256 of its secret and code is kept."""

    __tablename__ = "holder_invitations"

    invitation_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("market_entities.uscc"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    granted_by: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(100))  # "window:<client id>" or "holder:<id>"
    scope: Mapped[str] = mapped_column(String(800))
    grant_not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    grant_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    holder_id: Mapped[str | None] = mapped_column(String(32))


class HolderCeremony(Base):
    """A pending WebAuthn ceremony: the challenge we issued, for what, until when; used once."""

    __tablename__ = "holder_ceremonies"

    ceremony_id: Mapped[str] = mapped_column(String(44), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # enrol | sign_in | add_passkey
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    subject: Mapped[str] = mapped_column(String(100))  # "<invitation id> <user handle>", or a holder id
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HolderSession(Base):
    """A signed-in holder: the cookie's SHA-256, the passkey used, and when it was last proven."""

    __tablename__ = "holder_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder_id: Mapped[str] = mapped_column(ForeignKey("holders.holder_id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400))
    csrf: Mapped[str] = mapped_column(String(44))
    authenticated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Presentation(Base):
    """亮照: one dynamic QR. The handle is kept as its SHA-256; redeemed at most once."""

    __tablename__ = "presentations"

    handle_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder_id: Mapped[str] = mapped_column(ForeignKey("holders.holder_id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    redeemed_by: Mapped[str | None] = mapped_column(String(80))  # "public" or "client:<id>"
    verdict: Mapped[str | None] = mapped_column(String(16))


class Platform(Base):
    """A platform that logs holders in with the e-license (an OpenID Connect client): its display name
    (what the holder sees), exact redirect URIs, secret (``sha256$`` hash) or JWKS URI
    (``private_key_jwt``), and the salt of its pairwise subjects."""

    __tablename__ = "platforms"

    client_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(100))
    redirect_uris: Mapped[str] = mapped_column(Text)  # JSON list, matched exactly
    jwks_uri: Mapped[str | None] = mapped_column(String(500))
    subject_salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginRequest(Base):
    """One authorization request waiting for a holder (扫码登录): the validated request, the QR's handle
    and typed code (hashed), the desktop browser's binding (hashed), the number to match, and where it
    stands (pending, approved, refused, denied, used)."""

    __tablename__ = "login_requests"

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("platforms.client_id"), index=True)
    query: Mapped[str] = mapped_column(Text)
    nonce_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    handle_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    desktop_sha256: Mapped[str] = mapped_column(String(64))
    match_number: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    refusal: Mapped[str | None] = mapped_column(String(64))
    holder_id: Mapped[str | None] = mapped_column(String(32))
    share_name: Mapped[int] = mapped_column(Integer)
    auth_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    login_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuthorizationCode(Base):
    """An authorization code (RFC 6749 s.4.1.2), kept as its SHA-256: single use, valid 60 s, bound to
    its client, redirect URI, PKCE challenge and nonce. Once exchanged (``used_at``) the row also holds
    the access token it gave for userinfo (``token_sha256``; ``login.exchange``), valid ``TOKEN_TTL``
    from then: one row written an exchange, not two (bench/login.py). A replayed code clears it."""

    __tablename__ = "authorization_codes"

    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    holder_id: Mapped[str] = mapped_column(String(32))
    share_name: Mapped[int] = mapped_column(Integer)
    auth_time: Mapped[datetime] = mapped_column(UtcDateTime())
    login_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    token_sha256: Mapped[str | None] = mapped_column(String(64))


class ClientAssertion(Base):
    """A ``private_key_jwt`` assertion's ``jti`` already used (RFC 7523 s.3 item 7), until it expires."""

    __tablename__ = "client_assertions"

    jti_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Login(Base):
    """One log-in attempt in an entity's name, success (``ok``) or refusal (its reason code): what the
    holder's activity page lists. A success is also a log leaf (``leaf_index``)."""

    __tablename__ = "logins"

    login_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    holder_id: Mapped[str | None] = mapped_column(String(32))
    client_id: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)


class EntityNameGram(Base):
    """The name search's index (``console/search.py``): one row per distinct pair of adjacent characters
    (bigram) of an entity's name, so a substring of two or more characters is found by an index range
    on the same B-tree on SQLite and PostgreSQL, in USCC order. Kept by ``db/name_index.py``."""

    __tablename__ = "entity_name_grams"

    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)


class StaffMember(Base):
    """A member of the window's staff (窗口工作人员): a clerk, supervisor or auditor of one division
    (GB/T 2260 code; a code ending in 00 covers the divisions under it). Enrolled once, from a
    single-use link whose secret is kept as its SHA-256."""

    __tablename__ = "staff_members"

    staff_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # clerk | supervisor | auditor
    division_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16))  # invited | active | disabled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    enrol_secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    enrolled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    user_handle: Mapped[str | None] = mapped_column(String(44), unique=True)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_changed_by: Mapped[str | None] = mapped_column(String(64))


class StaffPasskey(Base):
    """A staff member's passkey (WebAuthn credential)."""

    __tablename__ = "staff_passkeys"

    credential_id: Mapped[str] = mapped_column(String(1400), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_members.staff_id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class StaffSession(Base):
    """A signed-in staff member: the cookie's SHA-256, its CSRF token, an absolute end and the last use
    (for the idle timeout)."""

    __tablename__ = "staff_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_members.staff_id"), index=True)
    csrf: Mapped[str] = mapped_column(String(44))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StaffAction(Base):
    """Accountability: one staff action (sign-in, search, view, print, replacement request or decision,
    invitation, verification, disabling an account) with who, when and what it was about."""

    __tablename__ = "staff_actions"
    __table_args__ = (Index("ix_staff_actions_staff_at", "staff_id", "at"),
                      Index("ix_staff_actions_division_at", "division_code", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(String(6))  # the staff member's, when acting
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


class ReplacementRequest(Base):
    """补发: a clerk's request (with the reason) waiting for a supervisor of the entity's division, who
    approves (the replacement issuance runs, naming both) or rejects it."""

    __tablename__ = "replacement_requests"

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("market_entities.uscc"), index=True)
    license_id: Mapped[str] = mapped_column(String(96))  # the version to be replaced
    reason: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    new_license_id: Mapped[str | None] = mapped_column(String(96))


class LicensePrint(Base):
    """One print of a license version on paper stock: 正本 (original) or 副本 (duplicate, numbered
    ``first_number`` .. ``first_number + copies - 1`` within the version)."""

    __tablename__ = "license_prints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    license_id: Mapped[str] = mapped_column(String(96), index=True)
    form: Mapped[str] = mapped_column(String(16))  # original | duplicate
    copies: Mapped[int] = mapped_column(Integer)
    first_number: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[str] = mapped_column(String(32))
    printed_at: Mapped[datetime] = mapped_column(UtcDateTime())
