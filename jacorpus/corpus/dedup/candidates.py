"""Candidate pairs of exact/minhash dedup: equal keys within a key-range partition, then an optional verify.

Edges (u < v, dense document indices) are written to ``edges/e<k>/`` where ``k`` is the range of ``u``, so each
verify task reads the edges of a range of documents, sorted, and a document's text is fetched once per run of
edges. Both functions run in worker processes and communicate only through files.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from jacorpus.corpus.dedup.clusters import jaccard
from jacorpus.corpus.dedup.lsh import bucket_edges, unique_edges
from jacorpus.corpus.dedup.shingles import Shingler
from jacorpus.corpus.dedup.textnorm import normalize_for_dedup
from jacorpus.corpus.dedup.spill import KEY_DOC, read_partition
from jacorpus.corpus.dedup.stage_io import RowFetcher, StageLayout

EDGE = np.dtype([("u", "<i8"), ("v", "<i8")])
VERIFY_CHUNK_EDGES = 64  # at most 128 documents fetched at once


@dataclass
class EdgeTask:
    work_dir: str
    part: int
    edge_parts: int
    docs: int
    chain: bool


def _edge_path(work_dir: str, edge_part: int, name: str) -> str:
    folder = os.path.join(work_dir, "edges", f"e{edge_part:05d}")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


def bucket_partition(task: EdgeTask) -> int:
    """Candidate edges of one key-range partition, written to ``edges/e<range of u>/p<part>.bin``."""
    records = read_partition(os.path.join(task.work_dir, "spill"), task.part, KEY_DOC)
    u, v = unique_edges(*bucket_edges(records["key"], records["doc"], chain=task.chain))
    del records
    target = (u * task.edge_parts) // max(task.docs, 1)
    for e in np.unique(target).tolist():
        mask = target == e
        edges = np.empty(int(mask.sum()), dtype=EDGE)
        edges["u"], edges["v"] = u[mask], v[mask]
        edges.tofile(_edge_path(task.work_dir, e, f"p{task.part:05d}.bin"))
    return int(u.size)


def read_edges(work_dir: str, edge_part: int, pattern: str = "p*.bin") -> tuple[np.ndarray, np.ndarray]:
    files = sorted(glob.glob(os.path.join(glob.escape(work_dir), "edges", f"e{edge_part:05d}", pattern)))
    edges = np.concatenate([np.fromfile(f, dtype=EDGE) for f in files]) if files else np.empty(0, dtype=EDGE)
    return unique_edges(edges["u"], edges["v"])


@dataclass
class VerifyTask:
    step: Any  # a GlobalStep: its pair_verifier decides
    stage_dir: str
    work_dir: str
    edge_part: int


class PairVerifier:
    """Decides whether candidate pairs really are duplicates: equal normalized text (exact) or shingle-set Jaccard
    at or above the threshold (minhash). Fed edges sorted by their first document, its text is fetched once and
    reused from a cache, which is emptied whenever it outgrows a quarter of the memory budget. Shared by the
    local and Spark engines, so both accept exactly the same pairs."""

    def __init__(self, options: Any, stage_dir: str) -> None:
        self.fetcher = RowFetcher(StageLayout(stage_dir))
        self.shingler = Shingler(options.unit, options.ngram)
        self.exact = options.method == "exact"
        self.threshold = options.threshold
        self.budget = options.memory_mb * 1024 * 1024 // 4
        self.cache: dict[int, Any] = {}
        self.cached_bytes = 0

    def accept(self, u: list[int], v: list[int]) -> list[bool]:
        out: list[bool] = []
        for start in range(0, len(u), VERIFY_CHUNK_EDGES):
            cu, cv = u[start : start + VERIFY_CHUNK_EDGES], v[start : start + VERIFY_CHUNK_EDGES]
            if self.cached_bytes > self.budget:
                self.cache.clear()
                self.cached_bytes = 0
            missing = sorted(set(cu + cv) - self.cache.keys())
            for doc, text in zip(missing, self.fetcher.fetch("text", np.array(missing, dtype=np.int64))):
                self.cache[doc] = normalize_for_dedup(text) if self.exact else self.shingler.hash_set64(text)
                self.cached_bytes += len(self.cache[doc]) * (4 if self.exact else 8)
            if self.exact:
                out += [self.cache[a] == self.cache[b] for a, b in zip(cu, cv)]
            else:
                out += [jaccard(self.cache[a], self.cache[b]) >= self.threshold for a, b in zip(cu, cv)]
        return out


def verify_partition(task: VerifyTask) -> tuple[int, int]:
    """Keep the candidate edges whose documents really are duplicates; returns (accepted, rejected)."""
    u, v = read_edges(task.work_dir, task.edge_part)
    accepted = np.array(task.step.pair_verifier(task.stage_dir).accept(u.tolist(), v.tolist()), dtype=bool)
    edges = np.empty(int(accepted.sum()), dtype=EDGE)
    edges["u"], edges["v"] = u[accepted], v[accepted]
    edges.tofile(_edge_path(task.work_dir, task.edge_part, "accepted.bin"))
    return int(accepted.sum()), int((~accepted).sum())
