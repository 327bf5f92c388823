"""Vectorized MinHash signatures, bit-identical to ``datasketch.MinHash`` fed the same shingle hashes.

datasketch 2.x draws its permutations from ``np.random.RandomState(seed)``. Scheme ``affine32`` (its default since
2.0.0): pre-mix each hash with the 32-bit MurmurHash3 finalizer, then ``a*h + b mod 2^32`` with odd ``a``.
Scheme ``legacy`` (datasketch < 2.0, datatrove): ``((a*h + b) mod 2^64) mod (2^61 - 1)``, masked to 32 bits.
We apply the same arithmetic to many shingles and many documents per numpy call instead of one update per value.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from jacorpus.corpus.dedup.hashing import compiled_kernels, fmix32

Scheme = Literal["affine32", "legacy"]
MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH32 = (1 << 32) - 1


def permutations(num_perm: int, seed: int, scheme: Scheme = "affine32") -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) parameters datasketch draws for ``MinHash(num_perm, seed, scheme=scheme)``, in its draw order."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":  # datasketch draws a and b alternately, one pair per permutation
        pairs = [
            (gen.randint(1, MERSENNE_PRIME, dtype=np.uint64), gen.randint(0, MERSENNE_PRIME, dtype=np.uint64))
            for _ in range(num_perm)
        ]
        params = np.array(pairs, dtype=np.uint64).T
        return params[0].copy(), params[1].copy()
    if scheme != "affine32":
        raise ValueError(f"unknown MinHash scheme {scheme!r}: use affine32 or legacy")
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class MinHasher:
    """Signatures of shingle-hash arrays. ``max_rows`` bounds the (num_perm x shingles) work matrix."""

    def __init__(self, num_perm: int = 128, seed: int = 1, scheme: Scheme = "affine32", max_rows: int = 4096):
        self.num_perm, self.seed, self.scheme, self.max_rows = num_perm, seed, scheme, max_rows
        a, b = permutations(num_perm, seed, scheme)
        self.a, self.b = a[:, None], b[:, None]  # one permutation per row: reductions run along contiguous rows
        self.dtype = np.dtype(np.uint64 if scheme == "legacy" else np.uint32)
        self.empty = self.dtype.type(MAX_HASH32)  # datasketch's value for "no shingle seen"

    def _permuted(self, hashes: np.ndarray) -> np.ndarray:
        """(num_perm, len(hashes)) permuted values."""
        if self.scheme == "legacy":
            phv = self.a * hashes.astype(np.uint64)[None, :]  # wraps mod 2^64, exactly as datasketch's uint64 math
            phv += self.b
            phv %= MERSENNE_PRIME
            phv &= np.uint64(MAX_HASH32)
            return phv
        phv = self.a * fmix32(hashes.astype(np.uint32))[None, :]
        phv += self.b
        return phv

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        out = np.full(self.num_perm, self.empty, dtype=self.dtype)
        for start in range(0, len(hashes), self.max_rows):
            np.minimum(out, self._permuted(hashes[start : start + self.max_rows]).min(axis=1), out=out)
        return out

    def signatures_flat(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """(documents, num_perm) signatures of documents whose hashes are concatenated, ``counts`` each.

        Consecutive documents are batched into one matrix of at most ``max_rows`` columns per numpy call; a
        document without shingles keeps datasketch's empty signature.
        """
        if compiled_kernels():
            from jacorpus.corpus.dedup import kernels

            return kernels.signatures(hashes, counts, self.a[:, 0], self.b[:, 0], self.scheme, int(self.empty))
        return self.signatures_flat_numpy(hashes, counts)

    def signatures_flat_numpy(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The pure-numpy ``signatures_flat`` (used without numba; tested equal to the compiled one)."""
        counts = np.asarray(counts, dtype=np.int64)
        out = np.full((counts.size, self.num_perm), self.empty, dtype=self.dtype)
        ends = np.cumsum(counts)
        starts = ends - counts
        doc = 0
        while doc < counts.size:
            if counts[doc] == 0:
                doc += 1
                continue
            if counts[doc] >= self.max_rows:
                out[doc] = self.signature(hashes[starts[doc] : ends[doc]])
                doc += 1
                continue
            last = int(np.searchsorted(ends, starts[doc] + self.max_rows, side="right"))  # docs fitting the batch
            docs = np.arange(doc, max(last, doc + 1))
            docs = docs[counts[docs] > 0]
            block = self._permuted(hashes[starts[doc] : ends[docs[-1]]])
            out[docs] = np.minimum.reduceat(block, starts[docs] - starts[doc], axis=1).T
            doc = int(docs[-1]) + 1
        return out

    def signatures(self, hash_arrays: Sequence[np.ndarray]) -> np.ndarray:
        """(len(hash_arrays), num_perm) signatures."""
        counts = np.fromiter((len(h) for h in hash_arrays), dtype=np.int64, count=len(hash_arrays))
        flat = np.concatenate(hash_arrays) if len(hash_arrays) else np.empty(0, dtype=np.uint32)
        return self.signatures_flat(flat, counts)


def lean_minhash(signature: np.ndarray, seed: int = 1, scheme: Scheme = "affine32"):
    """A ``datasketch.LeanMinHash`` holding one of our signatures (for querying with ``datasketch.MinHashLSH``)."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=signature, scheme=scheme)
