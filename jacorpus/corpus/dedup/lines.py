"""CCNet-style line deduplication: lines found in at least ``min_count`` documents are boilerplate.

A line is compared after normalization (NFKC, lower case, whitespace removed, digits folded to 0, as CCNet folds
digits) so menus, footers and dated bylines match across pages. Each document counts a line once, so a line
repeated inside one document is not boilerplate by itself. Removal drops every occurrence, including the first.
"""

from __future__ import annotations

import re

import numpy as np
import xxhash

from jacorpus.corpus.dedup.textnorm import normalize_for_dedup

_DIGITS = re.compile(r"\d")


def normalize_line(line: str) -> str:
    return _DIGITS.sub("0", normalize_for_dedup(line))


def line_keys(text: str) -> list[int]:
    """64-bit key per line (0 for a line empty after normalization: never counted, never removed)."""
    keys = []
    for line in text.split("\n"):
        normalized = normalize_line(line)
        keys.append((xxhash.xxh3_64_intdigest(normalized.encode("utf-8")) or 1) if normalized else 0)
    return keys


def document_line_keys(text: str) -> np.ndarray:
    """The distinct non-empty line keys of one document (what the corpus-wide count adds up)."""
    keys = np.array(line_keys(text), dtype=np.uint64)
    return np.unique(keys[keys != 0])


def frequent_keys(keys: np.ndarray, min_count: int) -> np.ndarray:
    """Sorted keys present at least ``min_count`` times in ``keys`` (one entry per document and line)."""
    values, counts = np.unique(np.asarray(keys, dtype=np.uint64), return_counts=True)
    return values[counts >= min_count]


def remove_lines(text: str, frequent: np.ndarray) -> tuple[str, int]:
    """``text`` without its lines whose key is in the sorted array ``frequent``; and how many were removed."""
    lines = text.split("\n")
    keys = np.array(line_keys(text), dtype=np.uint64)
    if frequent.size == 0 or keys.size == 0:
        return text, 0
    pos = np.minimum(np.searchsorted(frequent, keys), frequent.size - 1)
    drop = (frequent[pos] == keys) & (keys != 0)
    removed = int(drop.sum())
    if not removed:
        return text, 0
    kept = [line for line, d in zip(lines, drop.tolist()) if not d]
    return "\n".join(kept).strip("\n"), removed
