"""Exact deduplication key: a 64-bit hash of the normalized text (NFKC, lower case, whitespace removed).

Documents that differ only in width variants, case or line wrapping share a key. Two distinct texts of a corpus of
n documents share a 64-bit key with probability about n^2 / 2^65 (3e-8 for a million documents), so ``verify: true``
(which compares the normalized texts of candidates) is an option, not a default.
"""

from __future__ import annotations

import numpy as np
import xxhash

from jacorpus.corpus.dedup.textnorm import normalize_for_dedup

EMPTY_KEY = 0  # documents empty after normalization get no key: they are not duplicates of each other here


def exact_key(text: str) -> int:
    normalized = normalize_for_dedup(text)
    if not normalized:
        return EMPTY_KEY
    return xxhash.xxh3_64_intdigest(normalized.encode("utf-8")) or 1


def exact_keys(texts: list[str]) -> np.ndarray:
    return np.fromiter((exact_key(t) for t in texts), dtype=np.uint64, count=len(texts))
