"""RFC 6962 / RFC 9162 Merkle trees, pure (no I/O): hashing, the plans that say which stored nodes
make up a root or a proof, proof verification, and the compact range an auditor keeps.

Nodes are addressed as perfect subtrees ``(level, index)`` covering leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hashes. Every hash a proof needs
is the hash of a range that the RFC's recursion produces, and every such range is a run of aligned
perfect subtrees of decreasing size, so a store of perfect-subtree hashes answers any root or proof
with O(log n) lookups: never by rebuilding the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "Node",
    "append_leaf",
    "consistency_plan",
    "fold",
    "inclusion_plan",
    "leaf_hash",
    "new_nodes_after_append",
    "node_hash",
    "range_nodes",
    "root_from_range",
    "verify_consistency",
    "verify_inclusion",
]

Node = tuple[int, int]  # (level, index)
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 s.2.1.1: MTH({}) = SHA-256()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 s.2.1.1: MTH({d0}) = SHA-256(0x00 || d0)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 s.2.1.1: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def range_nodes(lo: int, hi: int) -> list[Node]:
    """The aligned perfect subtrees that make up leaves [lo, hi), largest first."""
    nodes = []
    while lo < hi:
        level = 0
        while lo % (2 << level) == 0 and lo + (2 << level) <= hi:
            level += 1
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its perfect subtrees (largest first): RFC 6962's tree shape puts the
    smaller subtrees under the right branch, so the fold runs from the right."""
    if not hashes:
        return EMPTY_ROOT
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1): RFC 9162 s.2.1.1's split point."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_plan(index: int, size: int) -> list[list[Node]]:
    """RFC 9162 s.2.1.3.1 PATH(index, D[0:size]): for each proof hash, bottom-up, the nodes to fold."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    out: list[list[Node]] = []

    def path(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = _k(n)
        if m < lo + k:
            path(m, lo, lo + k)
            out.append(range_nodes(lo + k, hi))
        else:
            path(m, lo + k, hi)
            out.append(range_nodes(lo, lo + k))

    path(index, 0, size)
    return out


def consistency_plan(first: int, second: int) -> list[list[Node]]:
    """RFC 9162 s.2.1.4.1 PROOF(first, D[0:second]) as nodes to fold, in proof order."""
    if not 0 < first <= second:
        raise ValueError("need 0 < first <= second")
    out: list[list[Node]] = []

    def subproof(m: int, lo: int, hi: int, b: bool) -> None:
        n = hi - lo
        if m == n:
            if not b:
                out.append(range_nodes(lo, hi))
            return
        k = _k(n)
        if m <= k:
            subproof(m, lo, lo + k, b)
            out.append(range_nodes(lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            out.append(range_nodes(lo, lo + k))

    if first < second:
        subproof(first, 0, second, True)
    return out


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 s.2.1.3.2."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 s.2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def new_nodes_after_append(size: int) -> list[Node]:
    """The perfect subtrees completed when leaf ``size`` (0-based) is appended: the leaf itself, then
    each parent that the leaf completes. Each parent's children are (level - 1, 2i) and (level - 1, 2i + 1)."""
    nodes = [(0, size)]
    level, index = 0, size
    while index & 1:
        level, index = level + 1, index >> 1
        nodes.append((level, index))
    return nodes


def append_leaf(frontier: list[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The compact range (the perfect-subtree hashes of ``range_nodes(0, size)``) after one more leaf."""
    out = [*frontier, leaf]
    n = size
    while n & 1:
        right = out.pop()
        left = out.pop()
        out.append(node_hash(left, right))
        n >>= 1
    return out


def root_from_range(frontier: Iterable[bytes]) -> bytes:
    return fold(list(frontier))
