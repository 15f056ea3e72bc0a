"""The log leaf of a successful log-in (shape 4): canonical JSON with ids only, the holder as the
shape-3 leaves name it, the platform by client id. Refusals are recorded in the registry (the
holder's activity page) but not logged: nothing changed.

``{"v": 4, "action": "holder.logged_in", "login_id", "holder_id", "uscc", "client_id", "logged_at"}``
"""

from __future__ import annotations

from datetime import UTC, datetime

from signing.canonical import canonical_json

__all__ = ["LOGIN_ACTION", "LOGIN_LEAF_FIELDS", "login_leaf"]

LOGIN_ACTION = "holder.logged_in"
LOGIN_LEAF_FIELDS = ("login_id", "holder_id", "uscc", "client_id", "logged_at")


def login_leaf(*, login_id: str, holder_id: str, uscc: str, client_id: str, at: datetime) -> bytes:
    return canonical_json({"v": 4, "action": LOGIN_ACTION, "login_id": login_id, "holder_id": holder_id,
                           "uscc": uscc, "client_id": client_id, "logged_at": at.astimezone(UTC).isoformat()})
