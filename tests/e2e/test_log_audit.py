"""The issuance log of a real server, checked with an independent RFC 6962 / signed-note verifier
written here (not the project's code), and ``elicense audit`` on an honest log and on each tampering:
an edited license row, an altered leaf, a deleted leaf, a forked history."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.conftest import entity, event

from .conftest import ELICENSE, Server


# -- an independent verifier: RFC 9162 s.2.1.3.2 and s.2.1.4.2, C2SP signed-note -------------------
def _h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def ind_verify_inclusion(i: int, n: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    if i >= n:
        return False
    fn, sn, r = i, n - 1, _h(b"\x00" + leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = _h(b"\x01" + r + p)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and r == root


def ind_verify_consistency(m: int, n: int, r1: bytes, r2: bytes, proof: list[bytes]) -> bool:
    if m == n:
        return r1 == r2 and not proof
    if m & (m - 1) == 0:
        proof = [r1, *proof]
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = _h(b"\x01" + c + fr), _h(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            sr = _h(b"\x01" + sr + c)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and fr == r1 and sr == r2


def ind_open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    name, kid, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 1 and hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == kid
    text, sigs = note.split("\n\n", 1)
    text += "\n"
    for line in sigs.splitlines():
        n, s = line.removeprefix("\u2014 ").split(" ")
        blob = base64.b64decode(s)
        if n == name and blob[:4].hex() == kid:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(blob[4:], text.encode())  # raises if forged
            origin, size, root = text.split("\n")[:3]
            return origin, int(size), base64.b64decode(root)
    raise AssertionError("no signature by the log key")


# -- a server with a history ---------------------------------------------------------------------------
def _history(server: Server) -> tuple[httpx.Client, list[str], list[dict[str, Any]]]:
    """Registrations of every kind; the checkpoint after each."""
    c = server.client("registrations:write licenses:read verify")
    notes, licenses = [], []
    ents = [entity(), entity("individual_business", name=None), entity("cooperative", name="湘西茶叶专业合作社")]
    for ent in ents:
        licenses.append(c.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"])
        notes.append(httpx.get(server.base + "/log/checkpoint").text)
    steps = [event("change", {**ents[0], "address": "吉首市人民路9号"}, decided_at="2019-01-02T10:00:00+08:00"),
             event("replacement", {"uscc": ents[0]["uscc"]}, reason="遗失补发", decided_at="2019-02-01T10:00:00+08:00"),
             event("revocation", {"uscc": ents[1]["uscc"]}, reason="未年报"),
             event("cancellation", {"uscc": ents[1]["uscc"]}, reason="注销"),
             event("cancellation", {"uscc": ents[2]["uscc"]}, reason="解散")]
    for ev in steps:
        r = c.post("/api/v1/registrations", json=ev)
        assert r.status_code in (200, 201), r.text
        if r.status_code == 201:
            licenses.append(r.json()["license"])
        notes.append(httpx.get(server.base + "/log/checkpoint").text)
    return c, notes, licenses


def _audit(server: Server, state: Path, *creds: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ELICENSE, "audit", "--base-url", server.base, "--state", str(state), *creds],
                          env=server.env, capture_output=True, text=True, timeout=120)


def _auditor(server: Server) -> list[str]:
    creds = json.loads(server.cli("clients", "create", "--name", "auditor", "--scopes", "audit", "--json"))
    return ["--client-id", creds["client_id"], "--client-secret", creds["client_secret"]]


def _fresh(tmp_path_factory: pytest.TempPathFactory, name: str) -> Server:
    s = Server(tmp_path_factory.mktemp(name))
    s.start()
    return s


def test_independent_verifier_accepts_the_whole_log(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = _fresh(tmp_path_factory, "log-honest")
    try:
        c, notes, licenses = _history(server)
        vkey = httpx.get(server.base + "/log/key").text
        heads = [ind_open_checkpoint(n, vkey) for n in notes]
        sizes = [size for _, size, _ in heads]
        assert sizes == list(range(1, 9)) and len({o for o, _, _ in heads}) == 1
        size, root = heads[-1][1], heads[-1][2]
        entries = httpx.get(server.base + "/log/entries", params={"start": 0, "end": size}).json()["entries"]
        assert [e["index"] for e in entries] == list(range(size))
        actions = [json.loads(base64.b64decode(e["data"]))["action"] for e in entries]
        assert actions == ["establishment"] * 3 + ["change", "replacement", "revocation", "cancellation",
                                                   "cancellation"]
        for e in entries:
            proof = httpx.get(server.base + "/log/proof/inclusion",
                              params={"index": e["index"], "tree_size": size}).json()["hashes"]
            assert ind_verify_inclusion(e["index"], size, base64.b64decode(e["data"]),
                                        [base64.b64decode(p) for p in proof], root)
        for (_, m, r1), (_, n, r2) in itertools.pairwise(heads):
            proof = httpx.get(server.base + "/log/proof/consistency", params={"first": m, "second": n}).json()["hashes"]
            assert ind_verify_consistency(m, n, r1, r2, [base64.b64decode(p) for p in proof])
        # a verification report proves its license is on the record
        rep = c.post("/api/v1/verify/token", json={"token": licenses[0]["token"]}).json()
        assert rep["verdict"] == "not_in_force" and rep["log"]["leaf_index"] == 0
        _, n, r = ind_open_checkpoint(rep["log"]["checkpoint"], vkey)
        leaf = base64.b64decode(entries[0]["data"])
        assert ind_verify_inclusion(0, n, leaf, [base64.b64decode(p) for p in rep["log"]["inclusion_proof"]], r)
        assert json.loads(leaf)["record_digest"] == licenses[0]["record_digest"]
        # elicense audit: passes, reconciles, and passes again incrementally
        state = tmp_path_factory.mktemp("audit") / "state.json"
        first = _audit(server, state, *_auditor(server))
        assert first.returncode == 0, first.stderr
        assert "registry reconciled with the log: 8 entries" in first.stdout
        assert "establishment 3" in first.stdout and "cancellation 2" in first.stdout
        assert "replacement 1" in first.stdout
        c.post("/api/v1/registrations", json=event("establishment", entity()))
        again = _audit(server, state)
        assert again.returncode == 0 and "consistent with size 8; 1 new entries checked" in again.stdout
    finally:
        server.stop()


def _db(server: Server) -> sqlite3.Connection:
    return sqlite3.connect(server.env["ELICENSE_DATABASE_URL"].removeprefix("sqlite:///"))


@pytest.mark.parametrize("tamper,says", [
    ("edit_license_row", "the row was edited"),
    ("alter_leaf", "do not hash to the root"),
    ("delete_leaf", "missing"),
    ("alter_leaf_and_digest", "do not hash to the root"),
])
def test_audit_catches_tampering(tmp_path_factory: pytest.TempPathFactory, tamper: str, says: str) -> None:
    server = _fresh(tmp_path_factory, f"log-{tamper}")
    try:
        _, _, licenses = _history(server)
        creds = _auditor(server)
        with _db(server) as db:
            if tamper == "edit_license_row":
                db.execute("UPDATE license_versions SET record = replace(record, '向喆', '李四') WHERE license_id = ?",
                           (licenses[0]["license_id"],))
            elif tamper == "alter_leaf":
                db.execute("UPDATE log_leaves SET data = CAST(replace(data, 'revocation', 'revocatioN') AS BLOB) WHERE idx = 5")
            elif tamper == "delete_leaf":
                db.execute("DELETE FROM log_leaves WHERE idx = 2")
            else:  # the leaf and the license row changed together, so the registry agrees with the leaf
                db.execute("UPDATE log_leaves SET data = CAST(replace(data, ?, ?) AS BLOB) WHERE idx = 0",
                           (licenses[0]["pdf_sha256"], "0" * 64))
                db.execute("UPDATE license_versions SET pdf_sha256 = ? WHERE license_id = ?",
                           ("0" * 64, licenses[0]["license_id"]))
        r = _audit(server, tmp_path_factory.mktemp("audit") / "state.json", *creds)
        assert r.returncode != 0, r.stdout
        assert "AUDIT FAILED" in r.stderr and says in r.stderr, r.stderr
    finally:
        server.stop()


def test_audit_catches_a_forked_history(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The operator holds the log key: it rewrites an old leaf, rebuilds the tree, signs a checkpoint
    for it and carries on issuing. Every signature verifies; an auditor who saved a checkpoint before
    the rewrite proves the fork."""
    from signing.merkle import fold, leaf_hash, new_nodes_after_append, node_hash, range_nodes
    from signing.note import Checkpoint, format_checkpoint
    from signing.note_signing import NoteSigner

    server = _fresh(tmp_path_factory, "log-fork")
    try:
        c, _, _licenses = _history(server)
        state = tmp_path_factory.mktemp("audit") / "state.json"
        assert _audit(server, state).returncode == 0
        signer = NoteSigner.from_skey((Path(server.env["ELICENSE_KEYS_DIR"]) / "log.skey").read_text())
        with _db(server) as db:
            db.execute("""UPDATE log_leaves SET data = CAST(replace(data, '"change"', '"chanGe"') AS BLOB) WHERE idx = 3""")
            leaves = [row[0] for row in db.execute("SELECT data FROM log_leaves ORDER BY idx")]
            nodes: dict[tuple[int, int], bytes] = {}
            for i, data in enumerate(leaves):
                nodes[(0, i)] = leaf_hash(data)
                for level, index in new_nodes_after_append(i)[1:]:
                    nodes[(level, index)] = node_hash(nodes[(level - 1, 2 * index)], nodes[(level - 1, 2 * index + 1)])
            db.execute("DELETE FROM log_nodes")
            db.executemany("INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
                           [(lv, ix, h) for (lv, ix), h in nodes.items()])
            n = len(leaves)
            root = fold([nodes[x] for x in range_nodes(0, n)])
            note = signer.sign(format_checkpoint(Checkpoint(signer.name, n, root)))
            db.execute("DELETE FROM log_checkpoints")
            db.execute("UPDATE log_head SET root = ?", (root,))
            db.execute("INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, '2026-01-01')",
                       (n, root, note))
        assert c.post("/api/v1/registrations", json=event("establishment", entity())).status_code == 201
        r = _audit(server, state)
        assert r.returncode != 0 and "fork" in r.stderr, (r.stdout, r.stderr)
        # a newcomer without the saved checkpoint sees a well-formed log: that is why auditors keep state
        assert _audit(server, tmp_path_factory.mktemp("newcomer") / "s.json").returncode == 0
    finally:
        server.stop()


def test_audit_follows_a_log_key_rotation_and_refuses_a_swapped_key(tmp_path_factory: pytest.TempPathFactory
                                                                    ) -> None:
    """`elicense keys rotate --purpose log` between two audits: the auditor, who pinned the old key,
    follows the handover (signed by the old and the new key) and pins the new one; the log stays
    consistent across the switch. A key swapped in without a handover is refused."""
    server = _fresh(tmp_path_factory, "log-rotate")
    try:
        c, _, _ = _history(server)
        state = tmp_path_factory.mktemp("audit") / "state.json"
        assert _audit(server, state).returncode == 0
        old_vkey = httpx.get(server.base + "/log/key").text.strip()
        server.stop()
        out = server.cli("keys", "rotate", "--purpose", "log")
        assert "log key rotated" in out
        server.start()
        new_vkey = httpx.get(server.base + "/log/key").text.strip()
        assert new_vkey != old_vkey and new_vkey.split("+")[0] == old_vkey.split("+")[0]
        assert c.post("/api/v1/registrations", json=event("establishment", entity())).status_code == 201
        ind_open_checkpoint(httpx.get(server.base + "/log/checkpoint").text, new_vkey)  # signed by the new key
        r = _audit(server, state)
        assert r.returncode == 0, r.stderr
        assert "log key rotated 1 time(s)" in r.stdout and "1 new entries checked" in r.stdout
        assert json.loads(state.read_text())["vkey"] == new_vkey

        # the operator swaps in a key of its own with no handover from the pinned one
        server.stop()
        keys = Path(server.env["ELICENSE_KEYS_DIR"])
        handovers = (keys / "log-handovers.json").read_text()
        for f in ("log.skey", "log.vkey"):
            (keys / f).unlink()
        server.cli("keys", "init")  # a fresh log key
        (keys / "log-handovers.json").write_text(handovers)
        server.start()
        assert c.post("/api/v1/registrations", json=event("establishment", entity())).status_code == 201
        r = _audit(server, state)
        assert r.returncode != 0 and "no handover signed by the pinned key" in r.stderr, (r.stdout, r.stderr)
    finally:
        server.stop()
