"""The log leaf of a holder change (shape 3): canonical JSON stating the row as it stands after the
change, with ids and digests only. The holder's name is in the log as ``person_sha256`` =
SHA-256(``name_salt`` || UTF-8 name): the salt (random per holder, shown to auditors with the row)
keeps a dictionary of names from reversing it.

Actions: ``holder.bound`` (enrolled from an invitation), ``holder.suspended`` (the legal
representative changed), ``holder.restored`` (confirmed by the new legal representative),
``holder.narrowed`` (scope or expiry reduced), ``holder.revoked`` (by a grantor or the window, or by
cascade), ``holder.ended`` (the entity cancelled or revoked, or the binding replaced).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from signing.canonical import canonical_json

if TYPE_CHECKING:  # the auditor reads leaves without the registry's tables
    from ..db.models import Holder

__all__ = ["HOLDER_ACTIONS", "HOLDER_LEAF_FIELDS", "holder_facts", "holder_leaf", "person_digest"]

HOLDER_ACTIONS = frozenset({"holder.bound", "holder.suspended", "holder.restored", "holder.narrowed",
                            "holder.revoked", "holder.ended"})
#: the row's fields a leaf states (what ``elicense audit`` reconciles)
HOLDER_LEAF_FIELDS = ("holder_id", "uscc", "role", "granted_by", "scope", "not_before", "expires_at", "status",
                      "person_sha256")


def person_digest(salt_hex: str, name: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt_hex) + name.encode("utf-8")).hexdigest()


def _utc(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def holder_facts(row: Holder | dict[str, Any]) -> dict[str, Any]:
    """The stated fields of a holder row (an ORM row, or the audit listing's JSON object)."""
    def get(k: str) -> Any:
        return row[k] if isinstance(row, dict) else getattr(row, k)

    facts = {k: get(k) for k in ("holder_id", "uscc", "role", "granted_by", "scope", "status")}
    facts["not_before"] = _utc(_as_time(get("not_before")))
    facts["expires_at"] = _utc(_as_time(get("expires_at")))
    facts["person_sha256"] = person_digest(get("name_salt"), get("name"))
    return facts


def _as_time(v: datetime | str | None) -> datetime | None:
    return datetime.fromisoformat(v) if isinstance(v, str) else v


def holder_leaf(row: Holder, action: str, *, at: datetime, reason: str | None = None) -> bytes:
    assert action in HOLDER_ACTIONS
    return canonical_json({"v": 3, "action": action, **holder_facts(row), "reason": reason, "logged_at": _utc(at)})
