"""Compiled loops (numba) for the two hot spots of MinHash: window hashes and the permutation minimum.

Why by hand: the numpy versions (``hashing.window_murmur3``, ``MinHasher._permuted``) materialize a
(num_perm x shingles) matrix and make ~30 passes over the token array; these loops keep one signature row in
registers/L1 and LLVM vectorizes the permutation loop (8 uint32 lanes with AVX2). Measured on 2,000-character
Japanese documents, one core: window hashes 69 -> ~4 us, 128-permutation signatures 136 -> ~25 us a document
(bench/results/dedup.md). Same arithmetic as the numpy path (tests compare both, and both to datasketch).

numba is optional: this module is imported only when ``hashing.compiled_kernels()`` is True (numba installed and
``JACORPUS_NUMBA`` not ``0``); otherwise the callers use the pure-numpy path. Compiled code is cached on disk
(``cache=True``), so only the first process compiles (~2 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def rotl(x, r):
    return np.uint32((x << np.uint32(r)) | (x >> np.uint32(32 - r)))


@njit(cache=True, inline="always")
def fmix(h):
    h ^= h >> np.uint32(16)
    h = np.uint32(h * np.uint32(0x85EBCA6B))
    h ^= h >> np.uint32(13)
    h = np.uint32(h * np.uint32(0xC2B2AE35))
    return np.uint32(h ^ (h >> np.uint32(16)))


@njit(cache=True)
def _window_hashes(tokens, starts, counts, out_starts, n, seed):
    """MurmurHash3_x86_32 (``seed``) of each window of ``n`` tokens inside each document (one window of all
    its tokens for a document shorter than n). Loops run over windows innermost, so they vectorize."""
    c1, c2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
    out = np.empty(out_starts[-1], dtype=np.uint32)
    k = np.empty(tokens.size, dtype=np.uint32)
    for i in range(tokens.size):
        k[i] = np.uint32(rotl(np.uint32(tokens[i] * c1), 15) * c2)
    for d in range(counts.size):
        start, count = starts[d], counts[d]
        if count == 0:
            continue
        width = min(n, count)
        windows = count - width + 1
        h = out[out_starts[d] : out_starts[d] + windows]
        h[:] = np.uint32(seed)
        for j in range(width):
            for w in range(windows):
                x = h[w] ^ k[start + w + j]
                h[w] = np.uint32(rotl(x, 13) * np.uint32(5) + np.uint32(0xE6546B64))
        for w in range(windows):
            h[w] = fmix(np.uint32(h[w] ^ np.uint32(4 * width)))
    return out


@njit(cache=True)
def _affine32(hashes, starts, counts, a, b, out):
    """datasketch affine32: min over shingles of a * fmix32(h) + b mod 2^32, for each document.

    Permutations outermost, shingles innermost: the inner loop is a min-reduction LLVM vectorizes (measured 2.3x
    faster than the shingle-outer order)."""
    for d in range(counts.size):
        mixed = np.empty(counts[d], dtype=np.uint32)
        for i in range(counts[d]):
            mixed[i] = fmix(hashes[starts[d] + i])
        for p in range(a.size):
            ap, bp, low = a[p], b[p], out[d, p]
            for i in range(mixed.size):
                low = min(low, np.uint32(ap * mixed[i] + bp))
            out[d, p] = low
    return out


@njit(cache=True)
def _legacy(hashes, starts, counts, a, b, out):
    """datasketch < 2 / datatrove: ((a*h + b) mod 2^64) mod (2^61 - 1), masked to 32 bits.

    x mod (2^61 - 1) is computed as (x & p) + (x >> 61), less p once if still >= p: exact for any 64-bit x."""
    prime = np.uint64((1 << 61) - 1)
    mask = np.uint64(0xFFFFFFFF)
    for d in range(counts.size):
        values = hashes[starts[d] : starts[d] + counts[d]].astype(np.uint64)
        for p in range(a.size):
            ap, bp, low = a[p], b[p], out[d, p]
            for i in range(values.size):
                x = np.uint64(ap * values[i] + bp)
                x = (x & prime) + (x >> np.uint64(61))
                x = x - prime if x >= prime else x
                low = min(low, x & mask)
            out[d, p] = low
    return out


@njit(cache=True)
def dedup_codepoints(points, lengths, table, offsets, values):
    """``textnorm._dedup_table`` applied to the concatenated code points of many texts: (code points, count per
    text, texts holding a character the table leaves to the string path). Two passes: sizes, then values."""
    size = 0
    counts = np.zeros(lengths.size, dtype=np.int64)
    slow = np.zeros(lengths.size, dtype=np.bool_)
    for step in range(2):
        flat = np.empty(size, dtype=np.uint32)
        at, pos = 0, 0
        for d in range(lengths.size):
            begin = at
            for i in range(pos, pos + lengths[d]):
                v = table[points[i]]
                if v <= 0x10FFFF:
                    if step:
                        flat[at] = v
                    at += 1
                elif v == 0xFFFFFFFE:
                    slow[d] = True
                elif v != 0xFFFFFFFF:
                    k = v - 0xE0000000
                    for j in range(offsets[k], offsets[k + 1]):
                        if step:
                            flat[at] = values[j]
                        at += 1
            pos += lengths[d]
            counts[d] = at - begin
        size = at
    return flat, counts, slow


@njit(cache=True)
def sorted_intersection_size(a, b):
    """How many values two sorted unique arrays share (one merge pass; ``np.intersect1d`` sorts both again)."""
    i = j = count = 0
    while i < a.size and j < b.size:
        if a[i] == b[j]:
            count += 1
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return count


def window_hashes(tokens: np.ndarray, counts: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(hashes concatenated, hashes per document), as ``hashing.batch_window_murmur3``."""
    counts = np.asarray(counts, dtype=np.int64)
    out_counts = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
    starts = np.cumsum(counts) - counts
    out_starts = np.concatenate(([0], np.cumsum(out_counts))).astype(np.int64)
    tokens = np.ascontiguousarray(tokens, dtype=np.uint32)
    return _window_hashes(tokens, starts, counts, out_starts, n, np.uint32(seed)), out_counts


def signatures(hashes: np.ndarray, counts: np.ndarray, a: np.ndarray, b: np.ndarray, scheme: str,
               empty: int) -> np.ndarray:
    """(documents, num_perm) signatures; a document without shingles keeps ``empty`` everywhere."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    dtype = np.uint64 if scheme == "legacy" else np.uint32
    out = np.full((counts.size, a.size), empty, dtype=dtype)
    hashes = np.ascontiguousarray(hashes, dtype=np.uint32)
    kernel = _legacy if scheme == "legacy" else _affine32
    return kernel(hashes, starts, counts, np.ascontiguousarray(a), np.ascontiguousarray(b), out)
