"""The read-only runtime both services stand on; the verification service is built from nothing else.
It holds no private key and imports nothing that can sign (a structure test checks its closure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from signing.keys.api import PublicKeys
from signing.keys.public import FilePublicKeys
from signing.tokens import CachingVerifier

from ..access import ACCESS_TOKEN_TYP, ClientStatus
from ..config import Settings
from ..db.engine import make_engine, make_session_factory, make_write_session_factory
from ..db.migrate import ensure_schema
from ..log.reader import LogReader
from ..log.witnessed import WitnessPolicy
from ..registry import Registry

__all__ = ["ReadRuntime"]


@dataclass
class ReadRuntime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]  # reads
    #: writes: the verifier writes only its platform verification records (a role that may insert
    #: those alone); the issuing side everything. They take SQLite's write lock at BEGIN.
    write_sessions: sessionmaker[Session]
    keys: PublicKeys

    @classmethod
    def connect(cls, settings: Settings, *, may_migrate: bool) -> tuple[Engine, sessionmaker[Session],
                                                                        sessionmaker[Session]]:
        """Connect and check the schema (``db/migrate.py``): brought up to date when ``may_migrate`` in
        development; otherwise a schema that is not current refuses to start."""
        engine = make_engine(settings.database_url)
        ensure_schema(engine, may_upgrade=may_migrate and settings.is_dev)
        return engine, make_session_factory(engine), make_write_session_factory(engine)

    @classmethod
    def build(cls, settings: Settings) -> ReadRuntime:
        """The verifier's runtime: never migrates (it may run on a read-only role), public keys only."""
        return cls(settings, *cls.connect(settings, may_migrate=False), FilePublicKeys(settings.keys_dir))

    @cached_property
    def access_tokens(self) -> CachingVerifier:
        """Verifies API access tokens with the public access key (signatures cached per token), each
        held to the configured lifetime and to its key's window at every call."""
        return CachingVerifier(self.keys.access_keyring(), max_lifetime=self.settings.access_token_ttl_seconds,
                               typ=ACCESS_TOKEN_TYP)

    @cached_property
    def api_clients(self) -> ClientStatus:
        """Whether the client an access token names exists and is enabled (read at most
        ``client_status_max_age_seconds`` ago)."""
        return ClientStatus(self.sessions, max_age=self.settings.client_status_max_age_seconds)

    @cached_property
    def log(self) -> LogReader:
        return LogReader(self.settings.log_origin)

    @cached_property
    def witness_policy(self) -> WitnessPolicy:
        """The configured witnesses (their vkeys) and how many must cosign a published checkpoint."""
        return WitnessPolicy(tuple(w.vkey for w in self.settings.witnesses), self.settings.witness_policy)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.sessions, self.settings.public_base_url)
