"""The per-document half of dedup: opens the stage after ``prepare`` and applies its decisions task by task.

Task ``rank`` of the next stage reads exactly the rows task ``rank`` of the previous stage wrote, in order, so the
n-th document it sees is row n of ``decisions/<rank>.arrow``'s address space. It reads nothing else from the
work directory (cluster methods) or only the sorted frequent-line keys, memory-mapped (lines).
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from datatrove.data import DocumentsPipeline

from jacorpus.corpus.dedup.lines import remove_lines
from jacorpus.corpus.dedup.textnorm import normalize_for_dedup
from jacorpus.foundation import storage
from jacorpus.corpus.steps import JaStep

CLUSTER_FIELDS: dict[str, pa.DataType] = {"dedup_cluster_id": pa.string(), "dedup_cluster_size": pa.int64()}
LINE_FIELDS: dict[str, pa.DataType] = {"dedup_lines_removed": pa.int64()}


def _require_done(work_dir: str) -> dict[str, Any]:
    path = storage.join(work_dir, "DONE.json")
    if not storage.exists(path):
        raise RuntimeError(f"dedup decisions missing in {work_dir}: the global step's prepare() did not finish")
    return json.loads(storage.read_text(path))["stats"]


def _count_stats(step: JaStep, rank: int, stats: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Corpus-wide figures of prepare go into the manifest once, through task 0's ledger."""
    if rank == 0:
        for key in keys:
            if isinstance(stats.get(key), int):
                step.ledger.count(step.name, key, stats[key])


class ClusterApply(JaStep):
    """Drops the non-keepers of each cluster (``duplicate_of`` = the keeper's id); annotates every document."""

    name = "dedup"
    annotations: ClassVar[dict[str, pa.DataType]] = CLUSTER_FIELDS

    def __init__(self, work_dir: str, reason: str) -> None:
        super().__init__()
        self.work_dir, self.reason = work_dir, reason

    def decisions(self, rank: int) -> dict[int, tuple[str, str, int, bool]]:
        path = os.path.join(self.work_dir, "decisions", f"{rank:05d}.arrow")
        table = pa.ipc.open_file(pa.memory_map(storage.local_copy(path))).read_all()
        columns = [table.column(c).to_pylist() for c in ("row", "id", "keeper_id", "cluster_size", "keep")]
        return {row: rest for row, *rest in zip(*columns)}

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        stats = _require_done(self.work_dir)
        _count_stats(self, rank, stats, ("candidate_pairs", "verify_rejected", "clusters", "largest_cluster"))
        decisions = self.decisions(rank)
        for row, doc in enumerate(data or ()):
            decision = decisions.get(row)
            if decision is None:
                doc.metadata["dedup_cluster_id"], doc.metadata["dedup_cluster_size"] = doc.id, 1
                yield doc
                continue
            doc_id, keeper_id, size, keep = decision
            if doc_id != doc.id:
                raise RuntimeError(f"dedup decisions do not match task {rank} row {row}: the stage was rewritten")
            doc.metadata["dedup_cluster_id"], doc.metadata["dedup_cluster_size"] = keeper_id, size
            if keep:
                yield doc
            else:
                self.drop(doc, self.reason, duplicate_of=keeper_id)


class LineApply(JaStep):
    """Removes corpus-frequent lines; drops a document left with fewer than ``min_chars`` characters."""

    name = "dedup"
    annotations: ClassVar[dict[str, pa.DataType]] = LINE_FIELDS

    def __init__(self, work_dir: str, min_chars: int) -> None:
        super().__init__()
        self.work_dir, self.min_chars = work_dir, min_chars

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        stats = _require_done(self.work_dir)
        _count_stats(self, rank, stats, ("frequent_lines",))
        path = storage.local_copy(os.path.join(self.work_dir, "frequent_lines.npy"))
        frequent = np.load(path, mmap_mode="r") if os.path.getsize(path) > 4096 else np.load(path)
        for doc in data or ():
            text, removed = remove_lines(doc.text, frequent)
            doc.metadata["dedup_lines_removed"] = removed
            if removed:
                self.ledger.count(self.name, "lines_removed", removed)
                if len(normalize_for_dedup(text)) < max(self.min_chars, 1):
                    self.drop(doc, "too_short_after_line_dedup")  # the dropped shard keeps the full text
                    continue
                doc.text = text
            yield doc
