"""Hash functions shared by every engine: MurmurHash3 over windows of 32-bit tokens, and 64-bit mixers.

A shingle is a window of ``n`` 32-bit tokens (Unicode code points for characters, word hashes for words). Its hash
is MurmurHash3_x86_32 (seed 0) of the tokens as little-endian 4-byte blocks, i.e. for characters exactly
``murmurhash3_32(shingle.encode("utf-32-le"))``: a published function any engine or language can reproduce.
``window_murmur3`` computes it for all windows of a token array at once; ``murmur3_blocks`` is the scalar twin.
"""

from __future__ import annotations

import functools
import os
from typing import Iterable

import numpy as np

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M5, _N1 = np.uint32(5), np.uint32(0xE6546B64)
MASK32, MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


@functools.cache
def compiled_kernels() -> bool:
    """Whether the numba loops of ``kernels.py`` are used (numba installed and ``JACORPUS_NUMBA`` is not ``0``)."""
    if os.environ.get("JACORPUS_NUMBA", "1") == "0":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _rotl32(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def window_murmur3(tokens: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """MurmurHash3_x86_32 of every window of ``n`` consecutive uint32 tokens (one window if fewer tokens)."""
    tokens = np.asarray(tokens, dtype=np.uint32)
    if tokens.size == 0:
        return np.empty(0, dtype=np.uint32)
    n = min(n, tokens.size)
    count = tokens.size - n + 1
    k = tokens * _C1  # the per-block scramble depends on the token only: do it once for the whole text
    k = _rotl32(k, 15) * _C2
    h = np.full(count, seed, dtype=np.uint32)
    for j in range(n):
        h ^= k[j : j + count]
        h = _rotl32(h, 13) * _M5 + _N1
    h ^= np.uint32(4 * n)
    return fmix32(h)


def batch_window_murmur3(tokens: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``window_murmur3`` of many documents whose tokens are concatenated (``counts`` tokens each), in one pass.

    Returns (hashes concatenated, hashes per document). Windows across a document boundary are discarded; a
    document shorter than n (one shingle of all its tokens) is hashed on its own.
    """
    if compiled_kernels():
        from jacorpus.corpus.dedup import kernels

        return kernels.window_hashes(tokens, counts, n)
    return batch_window_murmur3_numpy(tokens, counts, n)


def batch_window_murmur3_numpy(tokens: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pure-numpy ``batch_window_murmur3`` (used without numba; tested equal to the compiled one)."""
    counts = np.asarray(counts, dtype=np.int64)
    out_counts = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
    out = np.empty(int(out_counts.sum()), dtype=np.uint32)
    ends = np.cumsum(counts)
    starts = ends - counts
    full = counts >= n
    if full.any() and tokens.size >= n:
        windows = window_murmur3(tokens, n)
        # a window starting at p is inside its document when p <= end - n; mark those ranges with a +1/-1 sweep
        sweep = np.zeros(windows.size + 1, dtype=np.int64)
        np.add.at(sweep, starts[full], 1)
        np.add.at(sweep, ends[full] - n + 1, -1)
        inside = np.cumsum(sweep[:-1]) > 0
        out[np.repeat(full, out_counts)] = windows[inside]
    out_starts = np.cumsum(out_counts) - out_counts
    for doc in np.flatnonzero(~full & (counts > 0)).tolist():
        out[out_starts[doc]] = window_murmur3(tokens[starts[doc] : ends[doc]], n)[0]
    return out, out_counts


def murmur3_blocks(tokens: Iterable[int], seed: int = 0) -> int:
    """Scalar MurmurHash3_x86_32 of 32-bit blocks (the hash of one shingle, for datasketch's ``hashfunc``)."""
    h, length = seed & MASK32, 0
    for token in tokens:
        k = (token * 0xCC9E2D51) & MASK32
        k = ((k << 15) | (k >> 17)) & MASK32
        k = (k * 0x1B873593) & MASK32
        h ^= k
        h = ((h << 13) | (h >> 19)) & MASK32
        h = (h * 5 + 0xE6546B64) & MASK32
        length += 4
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK32
    return h ^ (h >> 16)


def combine64(columns: np.ndarray, salt: np.ndarray | int) -> np.ndarray:
    """A 64-bit key for each row of ``columns`` (..., k) of uint32 values, salted (e.g. by band index).

    Each value is folded in with a multiply and the MurmurHash3 64-bit finalizer; salts keep equal values of
    different bands apart, so all bands share one key space.
    """
    columns = np.asarray(columns, dtype=np.uint32)
    h = fmix64(np.asarray(salt, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019))
    h = np.broadcast_to(h, columns.shape[:-1]).copy()
    for j in range(columns.shape[-1]):
        h = fmix64((h ^ columns[..., j].astype(np.uint64)) * np.uint64(0x9FB21C651E98DF25))
    return h
