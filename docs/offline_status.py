"""Check an elicense license token and its status offline, with nothing but public material fetched
earlier: the issuer's token JWKS, its status-list JWKS and the status list the token points at.
Standard library and a JOSE library (joserfc) only, none of elicense's own code. See
docs/offline-status.md.

TOKEN is either form: the compact token a QR code carries (form 2: a JWS without ``typ`` over
``[uscc, ver, iat, sidx]``), or the full token of the API and the PDF (form 1: ``typ`` ``JWT``, a
claims object), bare or as the whole verify URL read from the QR code.

usage: python offline_status.py TOKEN JWKS.json STATUS_JWKS.json REVOCATION_LIST.jwt [SUSPENSION_LIST.jwt]
prints one JSON object; exit status 0 when the license is genuine and in force, 1 otherwise.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from joserfc import jws
from joserfc.jwk import KeySet

#: bits in one status list (elicense's signing/status_list.py): form 2's ``sidx`` is list * LIST_BITS + bit
LIST_BITS = 131_072


def verified(compact: str, jwks: dict, typ: str | None) -> tuple[dict | list, dict]:
    """The payload of a JWS of kind ``typ`` (None: no ``typ``, a compact license token) made with one
    of the keys of ``jwks`` (ES256), and that key's JWK. Each kind has its own keys and ``typ``: a
    license token (JWT, or none) never passes for a status list (vc+jwt), nor the reverse."""
    obj = jws.deserialize_compact(compact, KeySet.import_key_set(jwks), algorithms=["ES256"])
    if obj.protected.get("typ") != typ:
        raise ValueError(f"not a {typ or 'compact license token'}")
    jwk = next(k for k in jwks["keys"] if k["kid"] == obj.protected["kid"])
    return json.loads(obj.payload), jwk


def list_bit(status_list: dict, index: int, now: datetime) -> tuple[bool, str | None]:
    """The bit at ``index`` (W3C Bitstring Status List: GZIP, base64url, first bit = high bit of the
    first byte), and why the list cannot be used if it is outside its validity period."""
    valid_from = datetime.fromisoformat(status_list["validFrom"])
    valid_until = datetime.fromisoformat(status_list["validUntil"])
    if not valid_from <= now < valid_until:
        return False, f"the cached status list is valid {valid_from} to {valid_until}: fetch it again"
    encoded = status_list["credentialSubject"]["encodedList"]
    bits = gzip.decompress(_b64decode(encoded))
    return bool(bits[index // 8] & (0x80 >> (index % 8))), None


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def main(token: str, jwks_file: str, status_jwks_file: str, revocation_file: str,
         suspension_file: str | None = None) -> int:
    now = datetime.now(UTC)
    jwks = json.loads(Path(jwks_file).read_text())
    status_jwks = json.loads(Path(status_jwks_file).read_text())
    token = token.strip().split("/v/")[-1].split("?")[0]  # the verify URL as scanned, or the bare token
    compact = "typ" not in json.loads(_b64decode(token.split(".")[0]))
    payload, jwk = verified(token, jwks, None if compact else "JWT")  # raises if the token is not the issuer's
    if compact:  # [uscc, ver, iat, sidx]: no names, no serial (they did not fit in the QR code)
        uscc, version, iat, sidx = payload
        claims = {"uscc": uscc, "ver": version, "iat": iat}
        list_path, index = f"/status/revocation/{sidx // LIST_BITS}", sidx % LIST_BITS
    else:
        claims = payload
        list_path, index = claims["status"]["uri"], claims["status"]["idx"]
    if "compromised_at" in jwk and claims["iat"] >= jwk["compromised_at"]:
        print(json.dumps({"genuine": False, "reason": "signed by a key held compromised from then on"}))
        return 1
    revocation, _ = verified(Path(revocation_file).read_text().strip(), status_jwks, "vc+jwt")
    # form 1 names its list's URL, form 2 the list's number (whatever host the list came from, it is
    # signed with the issuer's status key: its id is the issuer's word)
    if not (revocation["id"].endswith(list_path) if compact else revocation["id"] == list_path):
        print(json.dumps({"genuine": True, "reason": "that status list is not the one this token names"}))
        return 1
    revoked, problem = list_bit(revocation, index, now)
    suspended = False
    if suspension_file and problem is None:
        suspension, _ = verified(Path(suspension_file).read_text().strip(), status_jwks, "vc+jwt")
        suspended, problem = list_bit(suspension, index, now)
    report = {
        "genuine": True, "form": 2 if compact else 1, "uscc": claims["uscc"], "name": claims.get("name"),
        "serial": claims.get("sn"), "version": claims["ver"],
        "in_force": problem is None and not revoked and not suspended,
        "revoked_or_superseded": revoked, "suspended": suspended, "problem": problem,
        # how fresh the status is: the list's signing time, and how long ago that was
        "status_as_of": revocation["validFrom"],
        "status_age_seconds": int((now - datetime.fromisoformat(revocation["validFrom"])).total_seconds()),
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["in_force"] else 1


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
