"""The report's ``detail`` sentences: what a check found, specifically (the dates, the versions, the
value expected and the value found). Only what is public or was presented: a token's own header and
claims, our published keys' windows, the registry's public items and digests; never a secret.

The sentences are for people and may be reworded; programs read the reason code."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from license_service.claims import digest_claim
from license_service.reasons import Reason
from signing.status_list import LIST_BITS
from signing.tokens import MAX_TOKEN_LENGTH, Keyring

from .public_view import Found

__all__ = ["claim_mismatches", "entity_status", "license_status", "token_refused"]

_SHOWN = 64  # at most this many characters of a value someone else wrote


def _when(value: int | datetime | date | str | None) -> str:
    """An instant as ISO 8601 (UTC, seconds), a date as ISO 8601; "an unrecorded time" for None."""
    if value is None:
        return "an unrecorded time"
    if isinstance(value, int):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return value.isoformat()


def _shown(value: Any) -> str:
    """A value someone else wrote, quoted as JSON (escapes and all) and cut short."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _part(token: str, i: int) -> dict[str, Any]:
    """Part ``i`` of a compact JWS as a JSON object, or {} if it is not one."""
    try:
        part = token.split(".")[i]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def token_refused(reason: Reason, token: str, keyring: Keyring) -> str:
    """Why the token was refused (``reason``, one of ``signing.tokens``' codes), with what it says:
    its length, its header's ``alg``, ``kid`` or ``typ``, its times, and the windows of our keys.
    The claims read here are shown only for codes raised after the signature verified."""
    header = _part(token, 0)
    kid = header.get("kid")
    window = keyring.windows.get(kid, {}) if isinstance(kid, str) else {}
    if reason is Reason.TOKEN_OVERSIZED:
        return f"the token is {len(token)} characters long; tokens over {MAX_TOKEN_LENGTH} are refused unread"
    if reason is Reason.TOKEN_MALFORMED:
        parts = token.count(".") + 1
        if parts != 3:
            return f"the token has {parts} dot-separated parts; a compact JWS has 3"
        return ("its header, payload or signature is not spelled as issued (canonical base64url, JSON objects, "
                "a 64-byte low-S ES256 signature, no crit, jku, jwk or x5u header)")
    if reason is Reason.TOKEN_ALG:
        return f"the header names alg {_shown(header.get('alg'))}; only \"ES256\" is accepted"
    if reason is Reason.TOKEN_UNKNOWN_KID:
        return f"the header names kid {_shown(kid)}, which is not among the keys we publish (/.well-known/jwks.json)"
    if reason is Reason.TOKEN_TYP:
        return f"the header names typ {_shown(header.get('typ'))}; a license token is \"JWT\""
    if reason is Reason.TOKEN_SIGNATURE:
        return f"the ES256 signature does not verify over the header and payload with the key {kid}"
    claims = _part(token, 1)  # the signature verified: these are the claims as signed
    if reason is Reason.TOKEN_KEY_COMPROMISED:
        return (f"the token claims to be signed at {_when(claims.get('iat'))}; key {kid} is held compromised "
                f"from {_when(window.get('compromised_at'))}")
    if reason is Reason.TOKEN_KEY_RETIRED:
        return (f"the token claims to be signed at {_when(claims.get('iat'))}; key {kid} was retired at "
                f"{_when(window.get('retired_at'))}")
    if reason is Reason.TOKEN_EXPIRED:
        return f"the token expired at {_when(claims.get('exp'))}"
    if reason is Reason.TOKEN_NOT_YET_VALID:
        return f"the token is not valid before {_when(claims.get('nbf'))}"
    return reason.en


def claim_mismatches(claims: Mapping[str, Any], found: Found, mismatched: list[str]) -> str:
    """Each claim that disagrees with the registry's license version, with both values (a digest cut
    to its first 12 characters, both in the token's base64url)."""
    lic, entity = found.lic, found.record["entity"]
    status = claims.get("status")
    said: dict[str, Any] = {**claims, "iat": _when(claims["iat"]), "dig": claims["dig"][:12] + "…",
                            "status": status.get("idx") if isinstance(status, dict) else status}
    registry: dict[str, Any] = {
        "uscc": lic.uscc, "ver": lic.version, "iat": _when(lic.issued_at), "name": entity["name"],
        "rep": entity["representative"], "dig": digest_claim(lic.record_digest)[:12] + "…",
        "status": lic.status_index % LIST_BITS if lic.status_index is not None else None,
        "sidx": lic.status_index,  # a compact token states the whole index
    }
    parts = []
    for claim in mismatched:
        if claim == "token":  # alone: another spelling of the issued token's signature (a malleated one)
            if mismatched != ["token"]:
                continue  # with other claims differing the string differs of course
            parts.append("token (the claims agree, but the string is not the one issued: its signature is "
                         "spelled otherwise)")
        else:
            shown = "status index" if claim in ("status", "sidx") else claim
            parts.append(f"{shown} (token {_shown(said.get(claim))}, registry {_shown(registry.get(claim))})")
    return "the claims disagree with the registry's license version: " + "; ".join(parts)


def license_status(found: Found) -> str:
    """The license version's status in the registry: its version, and since when it is no longer in
    force and, superseded, by which version."""
    lic, view = found.lic, found.public
    since = _when(lic.status_changed_at)
    if lic.status == "current":
        return f"version {lic.version} of license {lic.serial}, issued {_when(lic.issued_at)}, in force"
    if lic.status == "superseded":
        successor = view["successor"] or {}
        return (f"version {lic.version} of license {lic.serial} was superseded at {since} by version "
                f"{successor.get('version', '?')} ({successor.get('license_id', lic.superseded_by)})")
    if lic.status == "revoked":
        return f"version {lic.version} of license {lic.serial} was revoked (吊销) at {since}"
    if lic.status == "cancelled":
        return f"the entity was deregistered (注销) at {since}; version {lic.version} of license {lic.serial}"
    return f"the registry holds status {_shown(lic.status)}"


def entity_status(found: Found) -> str:
    """The entity's registration status, with its current license version and since when."""
    lic, status = found.lic, found.row.entity_status
    if status == "active":
        return f"registered and active (存续); version {lic.version} of license {lic.serial} is current"
    if status == "revoked":
        return f"registered, but its license was revoked (吊销) at {_when(lic.status_changed_at)}"
    if status == "cancelled":
        return f"deregistered (注销) at {_when(lic.status_changed_at)}"
    return f"the registry holds status {_shown(status)}"
