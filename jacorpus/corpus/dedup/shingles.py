"""Shingles of normalized text: character n-grams (default) or Sudachi word n-grams, hashed to uint32.

Normalization (NFKC, lower case, whitespace removed) makes full-width/half-width variants, case and line wrapping
irrelevant, which matters for Japanese web text copied between sites. Character 5-grams suit Japanese (no spaces
to split on); ``unit="word"`` uses Sudachi split mode A surfaces instead.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np
import xxhash

from jacorpus.corpus.dedup.hashing import batch_window_murmur3, compiled_kernels, murmur3_blocks, window_murmur3
from jacorpus.corpus.dedup.textnorm import codepoints, codepoints_batch, nfkc, normalize_for_dedup
from jacorpus.foundation.sudachi_chunks import sudachi_pieces

def word_token_id(word: str) -> int:
    return xxhash.xxh32_intdigest(word.encode("utf-8"))


class Shingler:
    """Text -> hashed shingles. Picklable: the Sudachi tokenizer is created lazily in each process."""

    def __init__(self, unit: Literal["char", "word"] = "char", ngram: int = 5) -> None:
        if ngram < 1:
            raise ValueError("ngram must be >= 1")
        self.unit, self.ngram = unit, ngram
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"unit": self.unit, "ngram": self.ngram, "_tokenizer": None}

    def words(self, text: str) -> list[str]:
        if self._tokenizer is None:
            from sudachipy import Dictionary, SplitMode

            self._tokenizer = Dictionary(dict="core").create(mode=SplitMode.A)
        out: list[str] = []
        for chunk in sudachi_pieces(nfkc(text).lower()):  # spaces and line ends kept: they separate words
            out.extend(m.surface() for m in self._tokenizer.tokenize(chunk) if m.surface().strip())
        return ["".join(w.split()) for w in out]

    def tokens(self, text: str) -> np.ndarray:
        if self.unit == "char":
            return codepoints(normalize_for_dedup(text))
        return np.fromiter((word_token_id(w) for w in self.words(text)), dtype=np.uint32)

    def hashes(self, text: str) -> np.ndarray:
        """uint32 hash of every shingle (with repeats; a document shorter than n is one shingle)."""
        return window_murmur3(self.tokens(text), self.ngram)

    def hash_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes of many documents at once: (all hashes concatenated, count per document)."""
        if self.unit == "char":
            flat, counts = codepoints_batch(texts)
        else:
            tokens = [self.tokens(t) for t in texts]
            counts = np.fromiter((t.size for t in tokens), dtype=np.int64, count=len(tokens))
            flat = np.concatenate(tokens) if tokens else np.empty(0, dtype=np.uint32)
        return batch_window_murmur3(flat, counts, self.ngram)

    def hash_set64(self, text: str) -> np.ndarray:
        """Sorted unique 64-bit shingle hashes: collision-free enough to compute exact Jaccard for verify."""
        tokens = self.tokens(text)
        if compiled_kernels():
            from jacorpus.corpus.dedup import kernels

            counts = np.array([tokens.size])
            low = kernels.window_hashes(tokens, counts, self.ngram, seed=0)[0].astype(np.uint64)
            high = kernels.window_hashes(tokens, counts, self.ngram, seed=0x5BD1E995)[0].astype(np.uint64)
        else:
            low = window_murmur3(tokens, self.ngram, seed=0).astype(np.uint64)
            high = window_murmur3(tokens, self.ngram, seed=0x5BD1E995).astype(np.uint64)
        keys = np.sort((high << np.uint64(32)) | low)  # sort + neighbour test: 3x np.unique's hash path here
        return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys

    # -- the same shingles as Python objects, for datasketch and for tests --------------------------------------
    def shingles(self, text: str) -> list[Any]:
        """Character shingles as strings, word shingles as tuples of words."""
        seq: Any = normalize_for_dedup(text) if self.unit == "char" else self.words(text)
        if len(seq) == 0:
            return []
        n = min(self.ngram, len(seq))
        grams = [seq[i : i + n] for i in range(len(seq) - n + 1)]
        return grams if self.unit == "char" else [tuple(g) for g in grams]

    @property
    def hashfunc(self) -> Callable[[Any], int]:
        """datasketch ``hashfunc`` giving the same value as ``hashes`` for one shingle from ``shingles``."""
        return char_shingle_hash if self.unit == "char" else word_shingle_hash


def char_shingle_hash(shingle: str) -> int:
    return murmur3_blocks(ord(c) for c in shingle)


def word_shingle_hash(shingle: tuple[str, ...]) -> int:
    return murmur3_blocks(word_token_id(w) for w in shingle)
