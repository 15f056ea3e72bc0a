"""Check an elicense QR token and its status offline, with nothing but public material fetched
earlier: the issuer's token JWKS, its status-list JWKS and the status list the token points at.
Standard library and a JOSE library (joserfc) only, none of elicense's own code. See
docs/offline-status.md.

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


def verified(compact: str, jwks: dict, typ: str) -> tuple[dict, dict]:
    """The payload of a JWS of kind ``typ`` made with one of the keys of ``jwks`` (ES256), and that
    key's JWK. Each kind has its own keys and ``typ``: a license token (JWT) never passes for a
    status list (vc+jwt), nor the reverse."""
    obj = jws.deserialize_compact(compact, KeySet.import_key_set(jwks), algorithms=["ES256"])
    if obj.protected.get("typ") != typ:
        raise ValueError(f"not a {typ}")
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
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return bool(bits[index // 8] & (0x80 >> (index % 8))), None


def main(token: str, jwks_file: str, status_jwks_file: str, revocation_file: str,
         suspension_file: str | None = None) -> int:
    now = datetime.now(UTC)
    jwks = json.loads(Path(jwks_file).read_text())
    status_jwks = json.loads(Path(status_jwks_file).read_text())
    claims, jwk = verified(token, jwks, "JWT")  # raises if the token is not the issuer's
    if "compromised_at" in jwk and claims["iat"] >= jwk["compromised_at"]:
        print(json.dumps({"genuine": False, "reason": "signed by a key held compromised from then on"}))
        return 1
    status = claims["status"]
    revocation, _ = verified(Path(revocation_file).read_text().strip(), status_jwks, "vc+jwt")
    if revocation["id"] != status["uri"]:
        print(json.dumps({"genuine": True, "reason": "that status list is not the one this token names"}))
        return 1
    revoked, problem = list_bit(revocation, status["idx"], now)
    suspended = False
    if suspension_file and problem is None:
        suspension, _ = verified(Path(suspension_file).read_text().strip(), status_jwks, "vc+jwt")
        suspended, problem = list_bit(suspension, status["idx"], now)
    report = {
        "genuine": True, "uscc": claims["uscc"], "name": claims.get("name"), "serial": claims["sn"],
        "version": claims["ver"], "in_force": problem is None and not revoked and not suspended,
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
