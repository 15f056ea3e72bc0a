"""Schema migrations (Alembic), for SQLite and PostgreSQL alike.

``elicense db upgrade`` brings a database to the schema this code expects. Services check the schema
on start: in development they upgrade it themselves (as they generate dev keys); in production, and
always on the verification side (which may hold a read-only role), they refuse to start on a schema
that is not current, saying what to run.

Checking costs no Alembic: a worker that finds the schema current never imports it (11 MB of
Alembic and Mako per process, for a comparison of two strings). Alembic decides whenever the
answer is not plain: an upgrade, a schema that is not current, scripts that are not one chain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from ..errors import Unavailable

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["SchemaNotCurrent", "ensure_schema", "head_revision", "upgrade", "verifier_grants"]

_SCRIPTS = Path(__file__).parent / "migrations"


class SchemaNotCurrent(Unavailable):
    """The database schema is not the one this code needs: run `elicense db upgrade`."""

    code = "db.schema_not_current"


_REVISION = re.compile(r"""^revision = ['"]([\w.-]+)['"]$""", re.M)
_REVISES = re.compile(r"""^down_revision = (?:['"]([\w.-]+)['"]|None)$""", re.M)


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def head_revision() -> str:
    """The revision this code needs: the one script of ``migrations/versions`` that no other revises,
    read from the scripts' ``revision`` and ``down_revision`` lines. Alembic's own reading when the
    scripts are anything but one chain of single revisions (merges, branches, other layouts)."""
    revises: dict[str, str | None] = {}
    for script in _SCRIPTS.glob("versions/*.py"):
        source = script.read_text(encoding="utf-8")
        rev, down = _REVISION.findall(source), _REVISES.findall(source)
        if len(rev) != 1 or len(down) != 1 or rev[0] in revises:
            return _alembic_head()
        revises[rev[0]] = down[0] or None
    heads = set(revises) - set(revises.values())
    roots = [r for r, down in revises.items() if down is None]
    if len(heads) != 1 or len(roots) != 1 or not set(revises.values()) - {None} <= set(revises):
        return _alembic_head()
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``alembic_version``); ``None`` for an empty database. Raises
    Alembic's error for a database at several heads."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) > 1:  # not ours: Alembic says what it makes of it
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()
        return rows[0] if rows else None


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """What schema comparison looks at: our models' tables, not procrastinate's (the re-issuance
    job queue, whose schema is procrastinate's own, applied by revision 0002)."""
    return not (name or "").startswith("procrastinate_")


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: Engine, *, may_upgrade: bool) -> None:
    """Return if the schema is current; upgrade it when ``may_upgrade``; else raise
    :class:`SchemaNotCurrent` naming the revisions and the command to run."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if may_upgrade:
        upgrade(engine)
        return
    raise SchemaNotCurrent(f"the database schema is at revision {current or 'none (empty database)'}, this code "
                           f"needs {head}: run `elicense db upgrade` with the same ELICENSE_DATABASE_URL")


#: What the verification service reads: the registry's license versions and entities, the issuance
#: log, the status lists and the schema's version; of the API clients, only whether one exists and is
#: enabled (never a secret's hash); of holders, what a redeemed presentation shows (never a passkey,
#: session or invitation); nothing of stored PDFs, registration events, serials or jobs.
VERIFIER_READS = ("license_versions", "market_entities", "log_leaves", "log_nodes", "log_head", "log_checkpoints",
                  "log_cosignatures", "log_witnesses",
                  "status_lists", "presentations", "alembic_version")
VERIFIER_READS_OF_CLIENTS = ("client_id", "disabled")
VERIFIER_READS_OF_HOLDERS = ("holder_id", "uscc", "role", "name", "scope", "status", "not_before", "expires_at")


def verifier_grants(role: str) -> str:
    """PostgreSQL grants for the verification service: read what it reads (:data:`VERIFIER_READS`,
    two columns of ``api_clients``, a presenter's columns of ``holders``), write nothing but its own
    records of platform verifications (and their id sequence) and the redemption of a presented code."""
    if not role.replace("_", "").isalnum():
        raise ValueError("a role name of letters, digits and underscores")
    return "\n".join([
        f"GRANT USAGE ON SCHEMA public TO {role};",
        f"GRANT SELECT ON {', '.join(VERIFIER_READS)} TO {role};",
        f"GRANT SELECT ({', '.join(VERIFIER_READS_OF_CLIENTS)}) ON api_clients TO {role};",
        f"GRANT SELECT ({', '.join(VERIFIER_READS_OF_HOLDERS)}) ON holders TO {role};",
        f"GRANT UPDATE (redeemed_at, redeemed_by) ON presentations TO {role};",
        f"GRANT INSERT ON verifications TO {role};",
        f"GRANT USAGE ON SEQUENCE verifications_id_seq TO {role};",
    ])
