"""Witnesses (issue 17), with real processes: three ``elicense witness serve`` and one ``elicense
serve`` configured with them at k = 2. Cosigned checkpoints appear and an independent verifier
(written here: its own C2SP signed-note and tlog-cosignature parsing and RFC 6962 code) checks the
log's signature and two cosignatures; one witness killed does not stop issuance; a history
rewritten and signed with the operator's real key is refused by the witnesses, raises the alarm,
and fails every audit that requires the witnesses; a witness killed mid-request never cosigns two
roots for one size."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.conftest import entity, event

from .conftest import ELICENSE, Server, _free_port
from .test_log_audit import ind_open_checkpoint, ind_verify_consistency, ind_verify_inclusion

OFFLINE = Path(__file__).resolve().parents[2] / "docs" / "offline_checkpoint.py"


# -- an independent cosignature verifier: C2SP tlog-cosignature, cosignature/v1 -------------------------
def ind_cosigners(note: str, vkeys: list[str]) -> list[str]:
    """The names among ``vkeys`` (type 0x04) whose cosignature on ``note``'s checkpoint verifies."""
    body, sigs = note.split("\n\n", 1)
    body += "\n"
    good = []
    for vkey in vkeys:
        name, kid, b64 = vkey.strip().split("+", 2)
        raw = base64.b64decode(b64)
        assert raw[0] == 4 and hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == kid
        for line in sigs.splitlines():
            n, s = line.removeprefix("\u2014 ").split(" ")
            blob = base64.b64decode(s)
            if n == name and blob[:4].hex() == kid:
                (ts,) = struct.unpack(">Q", blob[4:12])
                msg = f"cosignature/v1\ntime {ts}\n{body}".encode()
                Ed25519PublicKey.from_public_bytes(raw[1:]).verify(blob[12:], msg)  # raises if forged
                assert abs(ts - time.time()) < 600
                good.append(name)
    return good


def _origin_hash(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()


class Witness:
    """``elicense witness init`` then ``serve`` in its own folder."""

    def __init__(self, home: Path, name: str, log_vkey: str) -> None:
        self.state = home / name
        self.name = f"witness.test/{name}"
        self.log_vkey = log_vkey
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        r = subprocess.run([ELICENSE, "witness", "init", "--state", str(self.state), "--name", self.name],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        self.vkey = r.stdout.strip()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.state / "witness.log", "ab")
        self.proc = subprocess.Popen([ELICENSE, "witness", "serve", "--state", str(self.state), "--port",
                                      str(self.port), "--log-vkey", self.log_vkey], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, (self.state / "witness.log").read_text()
            try:
                if httpx.get(self.url + "/key", timeout=1).text.strip() == self.vkey:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("witness did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def latest(self, origin: str) -> str | None:
        r = httpx.get(f"{self.url}/{_origin_hash(origin)}/checkpoint")
        return r.text if r.status_code == 200 else None

    def add(self, body: bytes) -> httpx.Response:
        return httpx.post(self.url + "/add-checkpoint", content=body, timeout=10)


def _request(old: int, proof: list[bytes], note: str) -> bytes:
    return ("".join([f"old {old}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n"]) + note).encode()


def _wait_cosigned(server: Server, size: int, vkeys: list[str], k: int) -> str:
    deadline = time.time() + 30
    while time.time() < deadline:
        r = httpx.get(server.base + "/log/checkpoint")
        if r.status_code == 200:
            note = r.text
            _, n, _ = ind_open_checkpoint(note, server.log_vkey)  # type: ignore[attr-defined]
            if n >= size and len(ind_cosigners(note, vkeys)) >= k:
                return note
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint of size {size} cosigned by {k} witnesses was published")


def _audit(server: Server, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ELICENSE, "audit", "--base-url", server.base, "--state", str(state), *args],
                          env=server.env, capture_output=True, text=True, timeout=120)


def _tree_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 s.2.1.1 MTH, recursively (the independent reference)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _tree_root(leaves[:k]) + _tree_root(leaves[k:])).digest()


def _subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 s.2.1.4.1 SUBPROOF, literally."""
    n = len(leaves)
    if m == n:
        return [] if b else [_tree_root(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, leaves[:k], b), _tree_root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _tree_root(leaves[:k])]


@pytest.fixture
def witnessed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("witnessed")
    server = Server(home, env={"ELICENSE_RATE_PAGE_BURST": "1000"})
    server.cli("keys", "init")
    log_vkey = (home / "keys" / "log.vkey").read_text().strip()
    server.log_vkey = log_vkey  # type: ignore[attr-defined]
    witnesses = [Witness(home, f"w{i}", log_vkey) for i in (1, 2, 3)]
    for w in witnesses:
        w.start()
    server.env["ELICENSE_WITNESSES"] = json.dumps([{"url": w.url, "vkey": w.vkey} for w in witnesses])
    server.env["ELICENSE_WITNESS_POLICY"] = "2"
    server.start()
    try:
        yield server, witnesses
    finally:
        server.stop()
        for w in witnesses:
            w.kill()


def test_three_witnesses_cosign_one_dies_and_a_rewritten_history_is_refused(witnessed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, witnesses = witnessed
    vkeys = [w.vkey for w in witnesses]
    c = server.client("registrations:write licenses:read verify")
    licenses = [c.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
                for _ in range(3)]
    note = _wait_cosigned(server, 3, vkeys, 2)
    origin, size, root = ind_open_checkpoint(note, server.log_vkey)
    assert size == 3 and len(ind_cosigners(note, vkeys)) >= 2
    entries = [base64.b64decode(e["data"]) for e in
               httpx.get(server.base + "/log/entries", params={"start": 0, "end": size}).json()["entries"]]
    assert _tree_root(entries) == root
    # a verification report's evidence: the leaf names the license and is in a cosigned checkpoint
    rep = c.post("/api/v1/verify/token", json={"token": licenses[1]["token"]}).json()
    assert rep["verdict"] == "valid", rep
    assert [ch["reason"] for ch in rep["checks"] if ch["name"] == "log_inclusion"] == ["log.included"]
    ev = rep["log"]
    leaf = base64.b64decode(ev["leaf"])
    assert json.loads(leaf)["license_id"] == licenses[1]["license_id"]
    _, n, r = ind_open_checkpoint(ev["checkpoint"], server.log_vkey)
    assert len(ind_cosigners(ev["checkpoint"], vkeys)) >= 2
    assert ind_verify_inclusion(ev["leaf_index"], n, leaf, [base64.b64decode(p) for p in ev["inclusion_proof"]], r)
    # the offline checker in docs/ (no elicense code) agrees, and holds the report to a policy of 3 too
    (tmp_path / "report.json").write_text(json.dumps(rep))
    offline = subprocess.run([sys.executable, str(OFFLINE), str(tmp_path / "report.json"), server.log_vkey, *vkeys,
                              "--policy", "2"], capture_output=True, text=True, timeout=60)
    assert offline.returncode == 0, (offline.stdout, offline.stderr)
    found = json.loads(offline.stdout)
    assert found["included"] and found["leaf_names_license"] and len(found["cosigned_by"]) >= 2
    other = {**rep, "license": {**rep["license"], "license_id": licenses[0]["license_id"]}}
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert subprocess.run([sys.executable, str(OFFLINE), str(tmp_path / "other.json"), server.log_vkey, *vkeys,
                           "--policy", "2"], capture_output=True, timeout=60).returncode == 1
    state = tmp_path / "auditor.json"
    ok = _audit(server, state, *[f"--witness={v}" for v in vkeys], "--policy", "2")
    assert ok.returncode == 0 and "cosigned by" in ok.stdout, (ok.stdout, ok.stderr)

    # one witness dies: issuance goes on, and two cosignatures still make the policy
    witnesses[2].kill()
    t0 = time.monotonic()
    for _ in range(3):
        r2 = c.post("/api/v1/registrations", json=event("establishment", entity()))
        assert r2.status_code == 201, r2.text
    issuing = time.monotonic() - t0
    note = _wait_cosigned(server, 6, vkeys, 2)
    assert ind_cosigners(note, vkeys) == [witnesses[0].name, witnesses[1].name]
    _, size6, root6 = ind_open_checkpoint(note, server.log_vkey)
    assert size6 == 6
    proof = httpx.get(server.base + "/log/proof/consistency", params={"first": 3, "second": 6}).json()["hashes"]
    assert ind_verify_consistency(3, 6, root, root6, [base64.b64decode(p) for p in proof])
    print(f"three issuances with a dead witness: {issuing:.2f} s")
    assert _audit(server, state, *[f"--witness={v}" for v in vkeys], "--policy", "2").returncode == 0

    # the operator rewrites leaf 1 with its own key and publishes that history instead
    server.stop()
    signer_key = (Path(server.env["ELICENSE_KEYS_DIR"]) / "log.skey").read_text()
    from signing.merkle import leaf_hash, new_nodes_after_append, node_hash  # the server's node layout
    from signing.note import Checkpoint, format_checkpoint
    from signing.note_signing import NoteSigner

    signer = NoteSigner.from_skey(signer_key)
    db = sqlite3.connect(server.env["ELICENSE_DATABASE_URL"].removeprefix("sqlite:///"))
    with db:
        db.execute("""UPDATE log_leaves SET data = CAST(replace(data, '"establishment"', '"establishmenT"')
                      AS BLOB) WHERE idx = 1""")
        forked = [bytes(row[0]) for row in db.execute("SELECT data FROM log_leaves ORDER BY idx")]
        nodes: dict[tuple[int, int], bytes] = {}
        for i, data in enumerate(forked):
            nodes[(0, i)] = leaf_hash(data)
            for level, index in new_nodes_after_append(i)[1:]:
                nodes[(level, index)] = node_hash(nodes[(level - 1, 2 * index)], nodes[(level - 1, 2 * index + 1)])
        db.execute("DELETE FROM log_nodes")
        db.executemany("INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
                       [(lv, ix, h) for (lv, ix), h in nodes.items()])
        fork_root = _tree_root(forked)
        fork_note = signer.sign(format_checkpoint(Checkpoint(origin, 6, fork_root)))
        db.execute("DELETE FROM log_checkpoints")
        db.execute("DELETE FROM log_cosignatures")
        db.execute("UPDATE log_head SET root = ?", (fork_root,))
        db.execute("INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (6, ?, ?, '2026-01-01')",
                   (fork_root, fork_note))
    db.close()
    # the witnesses refuse it: the same size with another root, and a larger tree not consistent with theirs
    for w in witnesses[:2]:
        same = w.add(_request(6, [], fork_note))
        assert same.status_code == 422, same.text
        seven = [*forked, b'{"action":"establishment","fork":true}']
        fork7 = signer.sign(format_checkpoint(Checkpoint(origin, 7, _tree_root(seven))))
        grown = w.add(_request(6, _subproof(6, seven, True), fork7))
        assert grown.status_code == 422 and "not consistent" in grown.text, grown.text
        behind = w.add(_request(3, _subproof(3, seven, True), fork7))
        assert (behind.status_code, behind.text, behind.headers["content-type"]) == (409, "6\n", "text/x.tlog.size")
        latest = w.latest(origin)
        assert latest is not None and ind_open_checkpoint(latest, server.log_vkey)[2] == root6  # unmoved

    # the operator's own server, still configured with the witnesses, raises the alarm
    server.start()
    assert c.post("/api/v1/registrations", json=event("establishment", entity())).status_code == 201
    deadline = time.time() + 30
    while time.time() < deadline:
        metrics = httpx.get(server.base + "/metrics").text
        if f'elicense_witness_alarm{{witness="{witnesses[0].name}"}} 1.0' in metrics:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(metrics)
    assert "witness alarm" in (server.home / "server.log").read_text()
    served = httpx.get(server.base + "/log/checkpoint")
    assert served.status_code == 404 or len(ind_cosigners(served.text, vkeys)) < 2 or \
        ind_open_checkpoint(served.text, server.log_vkey)[1] < 6
    server.stop()

    # and publishing it without the witnesses fails every auditor that requires them, with or without state
    server.env.pop("ELICENSE_WITNESSES")
    server.env["ELICENSE_WITNESS_POLICY"] = "0"
    server.start()
    for st in (state, tmp_path / "newcomer.json"):
        r3 = _audit(server, st, *[f"--witness={v}" for v in vkeys], "--policy", "2")
        assert r3.returncode == 1 and "fork" in r3.stderr, (st, r3.stdout, r3.stderr)


def test_a_witness_killed_mid_request_never_cosigns_two_roots_for_one_size(tmp_path: Path) -> None:
    """Two histories signed by one log key race to a real witness process that is SIGKILLed at a random
    moment, again and again: every cosignature it ever returned, and the state it restarts with,
    agree on one root per size."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from signing.note import Checkpoint, format_checkpoint
    from signing.note_signing import NoteSigner

    log = NoteSigner("log.test/kill", Ed25519PrivateKey.generate())
    w = Witness(tmp_path, "wk", log.verifier.vkey)
    histories = [[b"A%d" % i for i in range(200)], [b"B%d" % i for i in range(200)]]
    cosigned: dict[int, set[bytes]] = {}
    rng = random.Random(17)
    lock = threading.Lock()
    answered = threading.Event()

    def submit(h: int, size: int) -> None:
        leaves = histories[h][:size]
        note = log.sign(format_checkpoint(Checkpoint(log.name, size, _tree_root(leaves))))
        for _ in range(3):
            try:
                cur = w.latest(log.name)
                old = ind_open_checkpoint(cur, log.verifier.vkey)[1] if cur else 0
                proof = _subproof(old, leaves, True) if 0 < old < size else []
                r = w.add(_request(old, proof, note))
            except httpx.HTTPError:
                return
            if r.status_code == 200:
                assert ind_cosigners(note + r.text, [w.vkey]) == [w.name]
                with lock:
                    cosigned.setdefault(size, set()).add(_tree_root(leaves))
                answered.set()
                return
            if r.status_code != 409:
                return

    size = 1
    for _ in range(8):
        w.start()
        answered.clear()
        threads = [threading.Thread(target=submit, args=(h, size + d)) for d in range(6) for h in (0, 1)]
        for t in threads:
            t.start()
        answered.wait(10)  # the first cosignature of the round is out; the other requests are in flight
        time.sleep(rng.uniform(0.0, 0.03))
        w.kill()
        for t in threads:
            t.join(20)
        size += 3
    w.start()
    try:
        assert cosigned, "the witness cosigned nothing before it was killed"
        assert all(len(roots) == 1 for roots in cosigned.values()), cosigned
        latest = w.latest(log.name)
        assert latest is not None
        _, n, r = ind_open_checkpoint(latest, log.verifier.vkey)
        assert n in cosigned and cosigned[n] == {r}  # it restarted with what it last cosigned
        assert ind_cosigners(latest, [w.vkey]) == [w.name]
    finally:
        w.kill()
