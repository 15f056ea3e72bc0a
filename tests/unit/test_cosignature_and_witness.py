"""C2SP tlog-cosignature (cosignature/v1, Ed25519) against the spec's worked example, and the
witness's add-checkpoint decisions (C2SP tlog-witness), one per rule of the spec, over real keys,
real RFC 6962 trees and the real SQLite state."""

from __future__ import annotations

import base64
import hashlib
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from license_service.witness.check import Accept, AddCheckpoint, Cosigned, Refuse, decide, format_request, parse_request
from license_service.witness.state import WitnessState, init_witness, load_cosigner
from signing.cosignature import CosignatureVerifier, cosigned_message, cosigner_key_id, open_witnessed, split_note
from signing.cosigning import Cosigner
from signing.merkle import EMPTY_ROOT, append_leaf, consistency_plan, fold, leaf_hash, range_nodes
from signing.note import Checkpoint, NoteError, NoteVerifier, format_checkpoint
from signing.note_signing import NoteSigner

# c2sp.org/tlog-cosignature, "Format" and "Ed25519 signed message": the example checkpoint with its
# log signature and one witness cosignature, and the message that cosignature signs. The spec
# publishes no keys for it, so what is checked is the framing and the message.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_NOTE = (SPEC_BODY + "\n"
             "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+"
             "zyWE+xeMcTOAYQ8=\n"
             "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
             "qhf5nNo0xUe+mbIUBkBIfZ+qnA==\n")
SPEC_MESSAGE = ("cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
                "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")


def test_the_specs_example_cosignature_line_frames_a_key_id_a_timestamp_and_an_ed25519_signature() -> None:
    body, sigs = split_note(SPEC_NOTE)
    assert body == SPEC_BODY
    (log_name, log_blob), (name, blob) = sigs
    assert (log_name, len(log_blob)) == ("example.com/behind-the-sofa", 68)  # a plain Ed25519 note signature
    assert name == "witness.example.com/w1" and len(blob) == 4 + 8 + 64
    assert blob[:4] == bytes.fromhex("8d66cf3f")
    assert struct.unpack(">Q", blob[4:12])[0] == 1679315147  # the "time 1679315147" of the message example
    assert cosigned_message(body, 1679315147) == SPEC_MESSAGE.encode()


def test_the_key_id_commits_to_the_name_and_the_cosignature_type() -> None:
    c = Cosigner.generate("witness.example/w1")
    raw = base64.b64decode(c.verifier.vkey.split("+", 2)[2])  # base64 may hold "+" too
    assert raw[:1] == b"\x04"  # the vkey's type byte is the cosignature/v1 type
    assert c.verifier.key_id == hashlib.sha256(b"witness.example/w1\n\x04" + raw[1:]).digest()[:4]
    assert cosigner_key_id("witness.example/w1", raw[1:]) == c.verifier.key_id
    assert CosignatureVerifier.from_vkey(c.verifier.vkey).vkey == c.verifier.vkey
    assert Cosigner.from_skey(c.skey).verifier.vkey == c.verifier.vkey
    with pytest.raises(NoteError):  # a log (0x01) key is not a cosigner key, nor the reverse
        CosignatureVerifier.from_vkey(NoteSigner("log.example", c.private).verifier.vkey)
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(c.verifier.vkey)


def _tree(leaves: list[bytes]) -> bytes:
    frontier: list[bytes] = []
    for i, d in enumerate(leaves):
        frontier = append_leaf(frontier, i, leaf_hash(d))
    return fold(frontier)


def _proof(leaves: list[bytes], first: int, second: int) -> list[bytes]:
    hashes = {}
    for level in range(12):
        for idx in range(len(leaves) >> level):
            lo, hi = idx << level, (idx + 1) << level
            hashes[(level, idx)] = _tree(leaves[lo:hi])
    return [fold([hashes[n] for n in nodes]) for nodes in consistency_plan(first, second)]


LOG = NoteSigner("log.example/test", Ed25519PrivateKey.generate())
LOGS = {LOG.name: [LOG.verifier]}
LEAVES = [b"leaf %d" % i for i in range(20)]


def _note(size: int, leaves: list[bytes] = LEAVES, signer: NoteSigner = LOG) -> str:
    return signer.sign(format_checkpoint(Checkpoint(LOG.name, size, _tree(leaves[:size]))))


def _cosigned(size: int, leaves: list[bytes] = LEAVES) -> Cosigned:
    return Cosigned(size, _tree(leaves[:size]), _note(size, leaves))


def test_a_cosignature_verifies_and_a_changed_timestamp_or_body_does_not() -> None:
    w = Cosigner.generate("witness.example/w1")
    note = _note(5)
    body = LOG.verifier.open(note)
    line = w.cosign(body, 1_700_000_000)
    witnessed = open_witnessed(note + line, LOG.verifier, [w.verifier])
    assert witnessed.cosigned_by == {w.verifier.vkey: 1_700_000_000} and witnessed.meets(1)
    assert not open_witnessed(note, LOG.verifier, [w.verifier]).meets(1)
    name, b64 = line[2:].split()
    blob = bytearray(base64.b64decode(b64))
    blob[11] ^= 1  # another timestamp, same signature
    with pytest.raises(NoteError):
        open_witnessed(note + f"— {name} {base64.b64encode(bytes(blob)).decode()}\n", LOG.verifier, [w.verifier])
    other = _note(6)
    with pytest.raises(NoteError):  # the cosignature of size 5 moved onto the checkpoint of size 6
        open_witnessed(other + line, LOG.verifier, [w.verifier])


def test_the_request_body_round_trips_and_malformed_ones_are_refused() -> None:
    proof = _proof(LEAVES, 3, 7)
    req = parse_request(format_request(3, proof, _note(7)))
    assert req == AddCheckpoint(3, tuple(proof), _note(7))
    for bad in (b"old 03\n\n" + _note(7).encode(), b"old 3\nnot base64!\n\n" + _note(7).encode(),
                b"new 3\n\n" + _note(7).encode(), b"old 3\n" + _note(7).encode().replace(b"\n\n", b"\n"),
                b"old 0\n" + b"".join(base64.b64encode(bytes(32)) + b"\n" for _ in range(64)) + b"\n"):
        with pytest.raises(ValueError):
            parse_request(bad)


def _decide(old: int, proof: list[bytes], note: str, latest: Cosigned | None) -> Accept | Refuse:
    return decide(AddCheckpoint(old, tuple(proof), note), LOGS, latest)


def test_each_rule_of_add_checkpoint() -> None:
    assert isinstance(_decide(0, [], _note(4), None), Accept)  # first sight: no proof needed
    assert _decide(0, [], _note(4).replace(LOG.name, "elsewhere.example/log"), None).status == 404
    stranger = NoteSigner(LOG.name, Ed25519PrivateKey.generate())
    assert _decide(0, [], _note(4, signer=stranger), None).status == 403  # not the log's key
    assert _decide(9, [], _note(4), _cosigned(4)).status == 400  # old above the checkpoint's size
    conflict = _decide(2, _proof(LEAVES, 2, 9), _note(9), _cosigned(4))
    assert (conflict.status, conflict.body, conflict.content_type) == (409, "4\n", "text/x.tlog.size")
    assert isinstance(_decide(4, _proof(LEAVES, 4, 9), _note(9), _cosigned(4)), Accept)
    assert isinstance(_decide(4, [], _note(4), _cosigned(4)), Accept)  # the same tree again
    nonempty = LOG.sign(format_checkpoint(Checkpoint(LOG.name, 0, leaf_hash(b"x"))))
    assert _decide(0, [], nonempty, None).status == 422
    assert _decide(0, _proof(LEAVES, 2, 9), _note(9), None).status == 422  # a proof from size 0


def test_a_fork_is_refused_as_inconsistent() -> None:
    fork = [*LEAVES[:6], b"another leaf 6", *LEAVES[7:]]
    same_size = _decide(9, [], _note(9, fork), _cosigned(9))
    assert (same_size.status, same_size.inconsistent) == (422, True)
    grown = _decide(9, _proof(fork, 9, 12), _note(12, fork), _cosigned(9))
    assert (grown.status, grown.inconsistent) == (422, True)
    assert isinstance(_decide(9, _proof(LEAVES, 9, 12), _note(12), _cosigned(9)), Accept)
    assert range_nodes(0, 0) == [] and EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_the_state_keeps_the_latest_cosigned_checkpoint_and_checks_against_it(tmp_path: Path) -> None:
    w = init_witness(tmp_path, "witness.example/w1")
    with pytest.raises(FileExistsError):
        init_witness(tmp_path, "witness.example/w1")
    assert load_cosigner(tmp_path).verifier.vkey == w.verifier.vkey
    state = WitnessState(tmp_path)
    line = state.submit(LOG.name, lambda latest: _decide(0, [], _note(5), latest), w, 1_700_000_000)
    assert isinstance(line, str) and open_witnessed(_note(5) + line, LOG.verifier, [w.verifier]).meets(1)
    fork = [*LEAVES[:3], b"forked", *LEAVES[4:]]
    refused = state.submit(LOG.name, lambda latest: _decide(5, [], _note(5, fork), latest), w, 1_700_000_001)
    assert isinstance(refused, Refuse) and refused.status == 422
    state.close()
    again = WitnessState(tmp_path)  # what was committed is what a restarted witness reads
    latest = again.latest(LOG.name)
    assert latest is not None and (latest.size, latest.root) == (5, _tree(LEAVES[:5]))
    assert latest.note == _note(5) + line
