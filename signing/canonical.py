"""Canonical JSON: UTF-8, sorted keys, no insignificant whitespace (DESIGN.md).

For the value types we put in records (strings, integers, booleans, null, arrays, objects; never
floats) this equals RFC 8785 JCS output, so any JCS implementation reproduces our digests.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "sha256_hex"]


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` canonically; raises ``TypeError`` for floats (their text form is ambiguous)."""
    _reject_floats(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("floats are not allowed in canonical records; use decimal strings")
    if isinstance(value, dict):
        for v in value.values():
            _reject_floats(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _reject_floats(v)
