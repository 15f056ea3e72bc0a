"""Known-answer tests (RFC 6962 reference vectors from the CT test suites; the Go sumdb/note example)
and every (index, size) proof up to 130 leaves against a brute-force reference written here from
RFC 9162 s.2.1 directly."""

from __future__ import annotations

import hashlib

import pytest

from signing.merkle import (
    EMPTY_ROOT,
    append_leaf,
    consistency_plan,
    fold,
    inclusion_plan,
    leaf_hash,
    new_nodes_after_append,
    range_nodes,
    root_from_range,
    verify_consistency,
    verify_inclusion,
)
from signing.note import Checkpoint, NoteError, NoteVerifier, format_checkpoint, parse_checkpoint
from signing.note_signing import NoteSigner

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
ROOTS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
INCLUSION = {(0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
             (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]}
CONSISTENCY = {(6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
               (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]}


# -- the brute-force reference: RFC 9162 s.2.1.1, s.2.1.3.1, s.2.1.4.1, literally ----------------
def _h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _mth(d: list[bytes]) -> bytes:
    if not d:
        return _h(b"")
    if len(d) == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < len(d):
        k *= 2
    return _h(b"\x01" + _mth(d[:k]) + _mth(d[k:]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) <= 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    return [*_path(m, d[:k]), _mth(d[k:])] if m < k else [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return [*_subproof(m, d[:k], b), _mth(d[k:])] if m <= k else [*_subproof(m - k, d[k:], False), _mth(d[:k])]


# -- our plan-based computation over a node store --------------------------------------------------
def _store(data: list[bytes]) -> dict[tuple[int, int], bytes]:
    store: dict[tuple[int, int], bytes] = {}
    for i, d in enumerate(data):
        store[(0, i)] = leaf_hash(d)
        for level, index in new_nodes_after_append(i)[1:]:
            store[(level, index)] = _h(b"\x01" + store[(level - 1, 2 * index)] + store[(level - 1, 2 * index + 1)])
    return store


def _resolve(store: dict[tuple[int, int], bytes], plan: list[list[tuple[int, int]]]) -> list[bytes]:
    return [fold([store[n] for n in nodes]) for nodes in plan]


def test_reference_roots() -> None:
    store = _store(LEAVES)
    assert fold([]) == EMPTY_ROOT == bytes.fromhex(ROOTS[0])
    for n in range(1, 9):
        assert fold([store[x] for x in range_nodes(0, n)]).hex() == ROOTS[n]


def test_reference_proofs() -> None:
    store = _store(LEAVES)
    for (i, n), want in INCLUSION.items():
        got = _resolve(store, inclusion_plan(i, n))
        assert [g.hex() for g in got] == want
        assert verify_inclusion(i, n, leaf_hash(LEAVES[i]), got, bytes.fromhex(ROOTS[n]))
    for (a, b), want in CONSISTENCY.items():
        got = _resolve(store, consistency_plan(a, b))
        assert [g.hex() for g in got] == want
        assert verify_consistency(a, b, bytes.fromhex(ROOTS[a]), bytes.fromhex(ROOTS[b]), got)


def test_every_proof_up_to_130_leaves_matches_the_brute_force_reference() -> None:
    data = [i.to_bytes(2, "big") for i in range(130)]
    store = _store(data)
    for n in range(1, len(data) + 1):
        root = _mth(data[:n])
        assert fold([store[x] for x in range_nodes(0, n)]) == root
        for i in range(n):
            proof = _resolve(store, inclusion_plan(i, n))
            assert proof == _path(i, data[:n]), (i, n)
            assert verify_inclusion(i, n, leaf_hash(data[i]), proof, root)
            assert not verify_inclusion(i, n, leaf_hash(b"other"), proof, root)
        for m in range(1, n + 1):
            proof = _resolve(store, consistency_plan(m, n))
            assert proof == (_subproof(m, data[:n], True) if m < n else []), (m, n)
            assert verify_consistency(m, n, _mth(data[:m]), root, proof)
            if m < n:
                assert not verify_consistency(m, n, _mth([b"x", *data[1:m]]), root, proof)


def test_compact_range_follows_appends() -> None:
    frontier: list[bytes] = []
    for i, d in enumerate(LEAVES):
        frontier = append_leaf(frontier, i, leaf_hash(d))
        assert root_from_range(frontier).hex() == ROOTS[i + 1]


# -- signed notes -----------------------------------------------------------------------------------
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
                     "ngotpRZb6KE6RyyBwJnAM=\n")


def test_go_note_known_answer() -> None:
    signer = NoteSigner.from_skey(GO_SKEY)
    assert signer.skey == GO_SKEY
    assert signer.verifier.vkey == GO_VKEY
    assert signer.sign(GO_TEXT) == GO_NOTE  # Ed25519 is deterministic: the very same bytes
    assert NoteVerifier.from_vkey(GO_VKEY).open(GO_NOTE) == GO_TEXT


@pytest.mark.parametrize("bad", [
    GO_NOTE.replace("cryptography", "cryptographY"),
    GO_NOTE.replace("x08go", "y08go"),
    GO_TEXT,
    GO_NOTE.replace("PeterNeumann", "EnochRoot"),
])
def test_tampered_notes_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(GO_VKEY).open(bad)


@pytest.mark.parametrize("vkey", [
    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "PeterNeumann+c74f20a3",
])
def test_bad_verifier_keys(vkey: str) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(vkey)


def test_checkpoint_round_trip() -> None:
    cp = Checkpoint("example.com/log", 8, bytes.fromhex(ROOTS[8]))
    text = format_checkpoint(cp)
    assert text == "example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    assert parse_checkpoint(text) == cp
    for bad in ("example.com/log\n08\nAAAA\n", "example.com/log\n8\n", "x\n1\n" + "A" * 44 + "\n"):
        with pytest.raises(NoteError):
            parse_checkpoint(bad)
