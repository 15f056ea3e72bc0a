"""The issuance log of a real server, checked with an independent RFC 6962 / signed-note verifier
written here (not the project's code), and ``elicense audit`` on an honest log and on each tampering
of the database (issue 12, item 5): an edited license row, an altered or deleted leaf, a revocation's
reason and date, entity rows, the stored PDF, the stored token, a registration result's body digest,
an old leaf rewritten under an auditor who checked it before, a truncated log, a forked history; and
a server that cannot be checked (unreachable, silent) told apart from one that fails."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
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
def _history(server: Server, *, between: Callable[[], object] | None = None
             ) -> tuple[httpx.Client, list[str], list[dict[str, Any]]]:
    """Registrations of every kind; the checkpoint after each. ``between`` runs after the three
    establishments."""
    c = server.client("registrations:write licenses:read verify")
    notes, licenses = [], []
    ents = [entity(), entity("individual_business", name=None), entity("cooperative", name="湘西茶叶专业合作社")]
    for ent in ents:
        licenses.append(c.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"])
        notes.append(httpx.get(server.base + "/log/checkpoint").text)
    if between is not None:
        between()
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


class Tampered:
    """One server with the history of :func:`_history`, audited honestly twice (saving the state at
    size 3 and at size 8) with an auditor credential; each test edits its database, audits, and the
    database is put back as it was (SQLite's online backup) for the next."""

    def __init__(self, server: Server, licenses: list[dict[str, Any]], creds: list[str], states: dict[int, Path]
                 ) -> None:
        self.server = server
        self.licenses = licenses
        self.creds = creds
        self.states = states

    def audit(self, tmp: Path, *, state_at: int | None = None, creds: bool = True) -> subprocess.CompletedProcess[str]:
        state = tmp / "state.json"
        if state_at is not None:
            shutil.copy(self.states[state_at], state)
        return _audit(self.server, state, *(self.creds if creds else []))


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tampered]:
    server = _fresh(tmp_path_factory, "log-tampered")
    try:
        home = tmp_path_factory.mktemp("audit-states")
        creds = _auditor(server)
        _, _, licenses = _history(server, between=lambda: _audit(server, home / "3.json", *creds))
        assert json.loads((home / "3.json").read_text())["size"] == 3
        shutil.copy(home / "3.json", home / "8.json")
        honest = _audit(server, home / "8.json", *creds)
        assert honest.returncode == 0, honest.stderr
        assert "registry reconciled with the log: 8 entries" in honest.stdout
        assert "registry: 5 license versions (tokens verified, 5 stored PDFs rehashed), 3 entities, 8 registration " \
               "results" in honest.stdout
        t = Tampered(server, licenses, creds, {3: home / "3.json", 8: home / "8.json"})
        yield t
    finally:
        server.stop()


@pytest.fixture
def db(tampered: Tampered) -> Iterator[sqlite3.Connection]:
    """The tampered server's database, restored after the test."""
    snapshot = sqlite3.connect(":memory:")
    live = _db(tampered.server)
    live.backup(snapshot)
    try:
        yield live
    finally:
        live.rollback()
        snapshot.backup(live)
        live.close()


def _failed(r: subprocess.CompletedProcess[str], *says: str) -> None:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "AUDIT FAILED" in r.stderr, r.stderr
    for text in says:
        assert text in r.stderr, (text, r.stderr)


# leaves of the history: 0-2 establishments (entities 0, 1, 2), 3 change (entity 0), 4 replacement
# (entity 0), 5 revocation (entity 1, 未年报), 6 cancellation (entity 1, 注销), 7 cancellation (entity 2, 解散)
# licenses: 0-2 their first versions, 3 entity 0 v2, 4 entity 0 v3

@pytest.mark.parametrize("tamper,says", [
    ("edit_license_row", ["the row was edited"]),
    ("alter_leaf", ["do not hash to the root"]),
    ("delete_leaf", ["missing"]),
    ("alter_leaf_and_digest", ["do not hash to the root"]),
])
def test_audit_catches_tampering(tampered: Tampered, db: sqlite3.Connection, tmp_path: Path, tamper: str,
                                 says: list[str]) -> None:
    licenses = tampered.licenses
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
    db.commit()
    _failed(tampered.audit(tmp_path), *says)


def test_audit_catches_an_edited_revocation_reason_and_date(tampered: Tampered, db: sqlite3.Connection,
                                                            tmp_path: Path) -> None:
    """The public page shows why and since when a license was revoked: both are the log's."""
    revoked = tampered.licenses[1]["license_id"]
    db.execute("UPDATE license_versions SET status_reason = '已整改', status_changed_at = '2020-01-01 00:00:00.000000' "
               "WHERE license_id = ?", (revoked,))
    db.commit()
    _failed(tampered.audit(tmp_path),
            f"license {revoked}: status_reason is '已整改' in the registry; leaf 6 (cancellation) says '未年报'",
            f"license {revoked}: status_changed_at is '2020-01-01T00:00:00+00:00' in the registry; leaf 6 "
            "(cancellation) says")


@pytest.mark.parametrize("column,value,says", [
    ("name", "湘西冒名有限公司", "name is '湘西冒名有限公司' in the registry; leaf 4 (replacement) says"),
    ("status", "revoked", "status is 'revoked' in the registry; leaf 4 (replacement) says 'active'"),
    ("status_reason", "未年报", "status_reason is '未年报' in the registry; leaf 4 (replacement) says None"),
    ("status_changed_at", "2021-01-01 00:00:00.000000", "status_changed_at is '2021-01-01T00:00:00+00:00' in the "
                                                        "registry; leaf 4 (replacement) says"),
    ("current_version", 2, "current_version is 2 in the registry; leaf 4 (replacement) says 3"),
])
def test_audit_catches_an_edited_entity_row(tampered: Tampered, db: sqlite3.Connection, tmp_path: Path,
                                            column: str, value: object, says: str) -> None:
    uscc = tampered.licenses[0]["uscc"]
    db.execute(f"UPDATE market_entities SET {column} = ? WHERE uscc = ?", (value, uscc))
    db.commit()
    _failed(tampered.audit(tmp_path), f"entity {uscc}: {says}")


def test_audit_catches_altered_pdf_bytes(tampered: Tampered, db: sqlite3.Connection, tmp_path: Path) -> None:
    """The stored PDF is what ``/api/v1/licenses/{id}/pdf`` serves: the auditor rehashes it itself."""
    lic = tampered.licenses[2]
    (pdf,) = db.execute("SELECT pdf FROM license_documents WHERE license_id = ?", (lic["license_id"],)).fetchone()
    db.execute("UPDATE license_documents SET pdf = ? WHERE license_id = ?", (pdf + b"\n%", lic["license_id"]))
    db.commit()
    _failed(tampered.audit(tmp_path), f"license {lic['license_id']}: the stored PDF hashes to",
            f"leaf 2 (establishment) names pdf_sha256 {lic['pdf_sha256']} (the stored PDF was altered)")


def test_audit_catches_a_replaced_token(tampered: Tampered, db: sqlite3.Connection, tmp_path: Path) -> None:
    """A genuine token of another license put in a license's row: signed by the service's key, so
    only its claims and the digest in the log tell."""
    victim, donor = tampered.licenses[0], tampered.licenses[2]
    db.execute("UPDATE license_versions SET token = ? WHERE license_id = ?", (donor["token"], victim["license_id"]))
    db.commit()
    _failed(tampered.audit(tmp_path),
            f"license {victim['license_id']}: the stored token hashes to {hashlib.sha256(donor['token'].encode()).hexdigest()}; "
            "leaf 0 (establishment) names token_sha256",
            f"license {victim['license_id']}: its stored token's claims uscc, sn, ")  # iat too, unless the same second


def test_audit_catches_an_edited_registration_body_digest(tampered: Tampered, db: sqlite3.Connection,
                                                          tmp_path: Path) -> None:
    """The body digest decides whether a retried event_id is the same result (200) or another (409)."""
    (event_id,) = db.execute("SELECT event_id FROM registration_events WHERE kind = 'revocation'").fetchone()
    db.execute("UPDATE registration_events SET body_sha256 = ? WHERE event_id = ?", ("0" * 64, event_id))
    db.commit()
    _failed(tampered.audit(tmp_path),
            f"event {event_id}: body_sha256 is '{'0' * 64}' in the registry; leaf 5 (revocation) says")


def test_audit_without_a_credential_catches_an_old_leaf_rewritten(tampered: Tampered, db: sqlite3.Connection,
                                                                  tmp_path: Path) -> None:
    """The leaf row alone is rewritten: the stored tree, every checkpoint and every proof still verify.
    An auditor who audited up to size 8 before, with no credential, holds the served entries it
    counted against its saved state and names the entry."""
    db.execute("""UPDATE log_leaves SET data = CAST(replace(data, '"change"', '"chanGe"') AS BLOB) WHERE idx = 3""")
    db.commit()
    r = tampered.audit(tmp_path, state_at=8, creds=False)
    _failed(r, f"entry 3 (chanGe, license {tampered.licenses[3]['license_id']}) as served now is not the entry audited "
            "before", "the leaf was rewritten after it was logged")
    # from size 3, the same entry is new to it: it does not give the root
    _failed(tampered.audit(tmp_path, state_at=3, creds=False), "entries 3..7 do not hash to the root")


@pytest.mark.parametrize("checkpoints", ["deleted", "kept"])
def test_audit_says_a_truncated_log_shrank(tampered: Tampered, db: sqlite3.Connection, tmp_path: Path,
                                           checkpoints: str) -> None:
    """Leaves 5.. deleted and the head set back: with the later checkpoints gone too the log serves a
    smaller checkpoint; with them kept, fewer entries than its checkpoint covers. Either way the
    auditor says the log shrank (not that a proof was refused)."""
    db.execute("DELETE FROM log_leaves WHERE idx >= 5")
    if checkpoints == "deleted":
        db.execute("DELETE FROM log_checkpoints WHERE size > 5")
    db.execute("UPDATE log_head SET size = 5, root = (SELECT root FROM log_checkpoints WHERE size = 5)")
    db.commit()
    _failed(tampered.audit(tmp_path, state_at=8, creds=False), "the log shrank from 8 to 5")
    if checkpoints == "kept":  # a proof from 3 to 8 would be refused (422): the entries say why first
        _failed(tampered.audit(tmp_path, state_at=3, creds=False), "the log shrank from 8 to 5")
    else:  # a prefix of the log, as far as an auditor at size 3 can tell; the registry remembers more
        _failed(tampered.audit(tmp_path, state_at=3), "is in the registry, but no leaf names it")


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


# -- a server that cannot be checked is not one that failed (issue 12, item 9) ---------------------
@pytest.fixture
def hostile() -> Iterator[tuple[str, list[str]]]:
    """A listening socket that accepts and answers one way: ``mode[0]`` is ``silent`` (reads the
    request, says nothing) or ``drip`` (a status line and headers, one byte a second, never ending)."""
    mode = ["silent"]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            if mode[0] == "drip":
                for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 64):
                    if stop.is_set():
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return
                    time.sleep(0.2)
            stop.wait(60)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", mode
    finally:
        stop.set()
        listener.close()


def _incomplete(r: subprocess.CompletedProcess[str], says: str) -> None:
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "AUDIT INCOMPLETE: could not check" in r.stderr and says in r.stderr, r.stderr
    assert "AUDIT FAILED" not in r.stderr


def test_an_unreachable_or_hanging_server_could_not_be_checked(hostile: tuple[str, list[str]],
                                                               tmp_path: Path) -> None:
    """Exit 3, not 1 and never 0; within the deadline given, however the server stalls; no state."""
    base, mode = hostile
    state = tmp_path / "state.json"

    def run(url: str) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        r = subprocess.run([ELICENSE, "audit", "--base-url", url, "--state", str(state), "--timeout", "2"],
                           capture_output=True, text=True, timeout=60)
        assert time.monotonic() - started < 20
        return r

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    _incomplete(run(f"http://127.0.0.1:{port}"), "GET /log/key failed: ConnectError")
    _incomplete(run(base), "GET /log/key: no complete answer within 2 s; gave up")
    mode[0] = "drip"
    _incomplete(run(base), "GET /log/key: no complete answer within 2 s; gave up")
    assert not state.exists()
