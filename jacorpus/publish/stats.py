"""Corpus statistics for cards: lengths and character-type shares, over a bounded, deterministic sample."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CHAR_CLASSES = {
    "hiragana": re.compile(r"[\u3041-\u309f]"),
    "katakana": re.compile(r"[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]"),
    "kanji": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "latin": re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]"),
    "digit": re.compile(r"[0-9\uff10-\uff19]"),
    "space": re.compile(r"\s"),
}


@dataclass
class CorpusStats:
    documents: int
    sampled: int
    lengths: np.ndarray
    char_shares: dict[str, float]
    cluster_sizes: list[int] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def length_summary(self) -> dict[str, float]:
        if not len(self.lengths):
            return {}
        q = np.percentile(self.lengths, [5, 50, 95])
        return {"mean": float(self.lengths.mean()), "p5": float(q[0]), "median": float(q[1]), "p95": float(q[2]),
                "max": int(self.lengths.max()), "total_chars": int(self.lengths.sum())}


def corpus_stats(directory: str, max_docs: int = 50_000, n_samples: int = 3) -> CorpusStats:
    from jacorpus.foundation.finished_corpus import open_corpus

    ds = open_corpus(directory)  # Arrow or Parquet
    n = len(ds)
    step = max(1, n // max_docs) if n else 1
    picked = ds.select(range(0, n, step)) if n else ds
    texts = picked["text"] if n else []
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    counts = {name: 0 for name in CHAR_CLASSES}
    total = int(lengths.sum()) or 1
    for text in texts:
        for name, pattern in CHAR_CLASSES.items():
            counts[name] += len(pattern.findall(text))
    shares = {name: counts[name] / total for name in CHAR_CLASSES}
    shares["other"] = max(0.0, 1.0 - sum(shares.values()))
    cluster_sizes: list[int] = []
    if "dedup_cluster_size" in ds.column_names and n:
        cluster_sizes = [int(s) for s in picked["dedup_cluster_size"] if s is not None]
    samples = []
    for i in np.linspace(0, max(n - 1, 0), num=min(n_samples, n), dtype=int):
        row = ds[int(i)]
        samples.append({"id": row["id"], "source": row["source"], "text": row["text"]})
    return CorpusStats(n, len(texts), lengths, shares, cluster_sizes, samples)
