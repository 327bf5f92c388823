"""Clusters from candidate edges (vectorized union-find) and the deterministic choice of each cluster's keeper.

Documents are dense indices 0..N-1 in input order (task rank, then row). Union always links the larger root under
the smaller, so a cluster's root is its smallest member whatever order edges arrive in; reruns, worker counts and
engines therefore agree. The keeper is the member with the best source priority, then the smallest index.
"""

from __future__ import annotations

import numpy as np


class UnionFind:
    """Parent array over N documents; ``union`` takes whole edge arrays at once."""

    def __init__(self, size: int) -> None:
        self.parent = np.arange(size, dtype=np.int64)

    def find(self, nodes: np.ndarray) -> np.ndarray:
        roots = self.parent[nodes]
        while True:
            up = self.parent[roots]
            if np.array_equal(up, roots):
                break
            roots = up
        self.parent[nodes] = roots  # path compression for the nodes asked about
        return roots

    def union(self, u: np.ndarray, v: np.ndarray) -> None:
        u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
        while u.size:
            ru, rv = self.find(u), self.find(v)
            pending = ru != rv
            if not pending.any():
                return
            u, v, ru, rv = u[pending], v[pending], ru[pending], rv[pending]
            # hook every larger root under the smallest root it meets; the rest link in the next round
            np.minimum.at(self.parent, np.maximum(ru, rv), np.minimum(ru, rv))

    def roots(self) -> np.ndarray:
        return self.find(np.arange(self.parent.size, dtype=np.int64))


def choose_keepers(roots: np.ndarray, priority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every document: the index of its cluster's keeper, and its cluster's size.

    ``priority`` is lower-is-better per document (the position of its source in the recipe's ``priority`` list);
    ties go to the smallest index, i.e. the document read first.
    """
    roots = np.asarray(roots, dtype=np.int64)
    n = roots.size
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if n >= 1 << 40:
        raise ValueError("too many documents for one dedup step")
    rank = (np.asarray(priority, dtype=np.int64) << 40) | np.arange(n, dtype=np.int64)
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, roots, rank)
    keeper = best[roots] & ((1 << 40) - 1)
    size = np.bincount(roots, minlength=n)[roots]
    return keeper, size


def source_priority(sources: list[str], priority: list[str]) -> np.ndarray:
    """Position of each document's source in ``priority`` (sources not listed come after all listed ones)."""
    order = {name: i for i, name in enumerate(priority)}
    return np.array([order.get(s, len(priority)) for s in sources], dtype=np.int64)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays."""
    if a.size == 0 and b.size == 0:
        return 1.0
    from jacorpus.corpus.dedup.hashing import compiled_kernels

    if compiled_kernels():
        from jacorpus.corpus.dedup.kernels import sorted_intersection_size

        inter = int(sorted_intersection_size(a, b))
    else:
        inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)
