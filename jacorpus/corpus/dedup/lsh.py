"""LSH banding: (bands, rows) for a Jaccard threshold, band keys, and candidate edges from equal keys.

Two documents become candidates when all ``rows`` values of at least one band agree; the probability is
``1 - (1 - s^rows)^bands`` for Jaccard ``s``. Like datasketch's ``MinHashLSH`` we pick (bands, rows) minimizing the
weighted areas of false positives (below the threshold) and false negatives (above it), but weighted for recall
(``RECALL_WEIGHTS``: a missed duplicate stays in the corpus for good, while a false candidate costs one exact
check, since ``verify`` is on by default). At threshold 0.8 and 128 permutations that is 16 bands x 8 rows
(datasketch's equal weights give 9 x 13, which makes a pair at J = 0.8 a candidate only 40% of the time;
bench/results/dedup.md measures both). The integrands are polynomials of degree bands*rows <= num_perm, so
Gauss-Legendre quadrature with enough nodes is exact.
"""

from __future__ import annotations

import functools

import numpy as np

from jacorpus.corpus.dedup.hashing import combine64


def candidate_probability(s: np.ndarray | float, bands: int, rows: int) -> np.ndarray:
    return 1.0 - (1.0 - np.asarray(s, dtype=np.float64) ** rows) ** bands


@functools.cache
def _gauss_legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(nodes)


def _integral(f, lo: float, hi: float, nodes: int) -> float:
    x, w = _gauss_legendre(nodes)
    return float(0.5 * (hi - lo) * np.dot(w, f(0.5 * (hi - lo) * x + 0.5 * (hi + lo))))


@functools.cache
def optimal_bands(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimizing the weighted false positive/negative areas."""
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be between 0 and 1")
    nodes = num_perm // 2 + 2  # exact for polynomials of degree <= num_perm + 2
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = _integral(lambda s: candidate_probability(s, bands, rows), 0.0, threshold, nodes)
            fn = _integral(lambda s: 1.0 - candidate_probability(s, bands, rows), threshold, 1.0, nodes)
            error = fp * false_positive_weight + fn * false_negative_weight
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


RECALL_WEIGHTS = (0.05, 0.95)  # (false positive, false negative) weights of the default banding


def resolve_bands(threshold: float, num_perm: int, bands: int | None, rows: int | None) -> tuple[int, int]:
    """Explicit bands/rows win (one of them alone fills num_perm); otherwise derived from the threshold with
    ``RECALL_WEIGHTS``."""
    if bands is None and rows is None:
        return optimal_bands(threshold, num_perm, *RECALL_WEIGHTS)
    bands = bands if bands is not None else num_perm // rows
    rows = rows if rows is not None else num_perm // bands
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise ValueError(f"bands*rows must be between 1 and num_perm={num_perm}, got {bands}*{rows}")
    return bands, rows


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(docs, bands) uint64 keys: band ``j`` hashes signature values ``[j*rows, (j+1)*rows)`` salted by ``j``."""
    signatures = np.asarray(signatures)
    cut = signatures[:, : bands * rows].reshape(len(signatures), bands, rows)
    return combine64(cut.astype(np.uint32), np.arange(bands, dtype=np.uint64))


def bucket_edges(keys: np.ndarray, docs: np.ndarray, chain: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Candidate edges (u < v) among records with equal keys.

    Each bucket links its smallest document to every other member (a star: enough for connected components);
    ``chain`` also links neighbours in document order, so a verify pass that rejects a star edge can still
    connect two true duplicates through their own edge.
    """
    keys, docs = np.asarray(keys, dtype=np.uint64), np.asarray(docs, dtype=np.int64)
    if keys.size < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    same = keys[1:] == keys[:-1]
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    first = docs[starts][np.cumsum(np.concatenate(([True], ~same))) - 1]
    member = np.flatnonzero(np.concatenate(([False], same)))
    u, v = first[member], docs[member]
    if chain:
        u = np.concatenate((u, docs[member - 1]))
        v = np.concatenate((v, docs[member]))
    keep = u != v
    return u[keep], v[keep]


def unique_edges(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges with duplicates removed, sorted by (u, v)."""
    if u.size == 0:
        return u, v
    pairs = np.unique(np.stack((np.minimum(u, v), np.maximum(u, v)), axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]
