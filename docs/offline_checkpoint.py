"""Check an elicense verification report's log evidence offline: the checkpoint's log signature (C2SP
signed-note, Ed25519), the witnesses' cosignatures on it (C2SP tlog-cosignature, cosignature/v1) against
a policy of k, the leaf's inclusion in it (RFC 9162 s.2.1.3.2), and that the leaf names the license
the report is about. Standard library and pyca/cryptography only, none of elicense's own code.

usage: python offline_checkpoint.py REPORT.json LOG_VKEY [WITNESS_VKEY ...] [--policy K]
REPORT.json: a report (GET /v/{token} with Accept: application/json, or the verify API's answer), or a
bare checkpoint note (then only the signatures are checked). K defaults to the number of witness keys.
prints one JSON object; exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def parse_vkey(vkey: str, key_type: int) -> tuple[str, bytes, Ed25519PublicKey]:
    """``name+hex8+base64(type || key)``: the name, the key ID (checked against the key) and the key."""
    name, kid, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if raw[0] != key_type or len(raw) != 33:
        raise ValueError(f"{name}: not a key of type {key_type:#04x}")
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] != bytes.fromhex(kid):
        raise ValueError(f"{name}: the key ID does not match the key")
    return name, bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(raw[1:])


def signatures(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    body, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise ValueError("not a signed note")
    out = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise ValueError("malformed signature line")
        name, _, b64 = line[2:].partition(" ")
        out.append((name, base64.b64decode(b64, validate=True)))
    return body + "\n", out


def check_note(note: str, log_vkey: str, witness_vkeys: list[str]) -> tuple[str, int, bytes, list[str]]:
    """The checkpoint's origin, size, root and the names of the witnesses whose cosignatures verify.
    Raises ValueError (or InvalidSignature) when the log's signature is missing or a line is forged."""
    body, sigs = signatures(note)
    name, kid, key = parse_vkey(log_vkey, 0x01)
    log_sigs = [b for n, b in sigs if n == name and len(b) == 68 and b[:4] == kid]
    if not log_sigs:
        raise ValueError("no signature by the log's key")
    key.verify(log_sigs[0][4:], body.encode())
    cosigned = []
    for wv in witness_vkeys:
        wname, wkid, wkey = parse_vkey(wv, 0x04)
        for n, b in sigs:
            if n == wname and len(b) == 76 and b[:4] == wkid:
                (ts,) = struct.unpack(">Q", b[4:12])
                wkey.verify(b[12:], f"cosignature/v1\ntime {ts}\n{body}".encode())
                cosigned.append(wname)
                break
    origin, size, root = body.split("\n")[:3]
    return origin, int(size), base64.b64decode(root), cosigned


def _h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def included(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 s.2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, _h(b"\x00" + leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _h(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def main(argv: list[str]) -> int:
    policy = None
    if "--policy" in argv:
        i = argv.index("--policy")
        policy = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if len(argv) < 2:
        sys.exit(__doc__)
    text = Path(argv[0]).read_text()
    witness_vkeys = argv[2:]
    k = len(witness_vkeys) if policy is None else policy
    report = json.loads(text) if text.lstrip().startswith("{") else None
    note = report["log"]["checkpoint"] if report else text
    out: dict[str, object] = {}
    try:
        origin, size, root, cosigned = check_note(note, argv[1], witness_vkeys)
    except (ValueError, InvalidSignature) as e:
        print(json.dumps({"ok": False, "reason": f"the checkpoint does not verify: {e!r}"}))
        return 1
    out.update(origin=origin, size=size, cosigned_by=cosigned, policy=k, meets_policy=len(cosigned) >= k)
    ok = len(cosigned) >= k
    if report:
        ev, lic = report["log"], report.get("license") or {}
        leaf = base64.b64decode(ev["leaf"])
        named = json.loads(leaf)
        out["included"] = ev["tree_size"] == size and included(
            ev["leaf_index"], size, leaf, [base64.b64decode(p) for p in ev["inclusion_proof"]], root)
        out["leaf_names_license"] = (named.get("license_id"), named.get("version")) == (lic.get("license_id"),
                                                                                       lic.get("version"))
        out["leaf"] = {key: named.get(key) for key in ("license_id", "version", "record_digest", "pdf_sha256")}
        ok = ok and bool(out["included"]) and bool(out["leaf_names_license"])
    out["ok"] = ok
    print(json.dumps(out, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
