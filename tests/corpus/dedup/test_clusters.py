"""Union-find agrees with scipy's connected components; keepers follow source priority, then input order."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from jacorpus.corpus.dedup import hashing
from jacorpus.corpus.dedup.clusters import UnionFind, choose_keepers, jaccard, source_priority


def components_by_min(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Reference: scipy's labels, renamed to the smallest member of each component."""
    _, labels = connected_components(coo_matrix((np.ones(u.size), (u, v)), shape=(n, n)), directed=False)
    smallest = np.full(labels.max() + 1, n)
    np.minimum.at(smallest, labels, np.arange(n))
    return smallest[labels]


def test_union_find_matches_scipy_and_ignores_edge_order():
    rng = np.random.default_rng(3)
    n = 5000
    u, v = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    chain = np.arange(4000, 4999)  # a long path, the worst case for hooking rounds
    u, v = np.concatenate((u, chain)), np.concatenate((v, chain + 1))
    expected = components_by_min(n, u, v)
    uf = UnionFind(n)
    uf.union(u, v)
    assert np.array_equal(uf.roots(), expected)
    order = rng.permutation(u.size)
    again = UnionFind(n)
    for part in np.array_split(order, 7):  # edges arriving in pieces and in another order
        again.union(v[part], u[part])
    assert np.array_equal(again.roots(), expected)


def test_keepers_follow_priority_then_first_read():
    #                 cluster A (0,2,5)   B (1,4)  singleton 3
    roots = np.array([0, 1, 0, 3, 1, 0])
    priority = np.array([1, 1, 0, 2, 1, 0])
    keeper, size = choose_keepers(roots, priority)
    assert keeper.tolist() == [2, 1, 2, 3, 1, 2]  # A: docs 2 and 5 tie on priority 0 -> the earlier, 2
    assert size.tolist() == [3, 2, 3, 1, 2, 3]
    assert source_priority(["cc100", "wikipedia", "web"], ["wikipedia", "cc100"]).tolist() == [1, 0, 2]


@pytest.mark.parametrize("compiled", [True, False])
def test_jaccard_of_sorted_sets(compiled, monkeypatch):
    if not compiled:
        monkeypatch.setattr(hashing, "compiled_kernels", lambda: False)
    a, b = np.array([1, 2, 3, 4], dtype=np.uint64), np.array([3, 4, 5], dtype=np.uint64)
    assert jaccard(a, b) == 2 / 5
    assert jaccard(a, a) == 1.0
    assert jaccard(a, np.array([9], dtype=np.uint64)) == 0.0
    rng = np.random.default_rng(3)  # against Python sets
    for _ in range(20):
        x = np.unique(rng.integers(0, 200, 80).astype(np.uint64))
        y = np.unique(rng.integers(0, 200, 60).astype(np.uint64))
        sx, sy = set(x.tolist()), set(y.tolist())
        assert jaccard(x, y) == len(sx & sy) / len(sx | sy)
