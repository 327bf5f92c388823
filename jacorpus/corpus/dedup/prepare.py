"""The bounded-memory execution of a global pass (``corpus/global_pass.py``), used by the local and Slurm engines.

1. scan (``scan.py``): per stage task, the step's keyed records -> key-range spill files (+ source priorities);
2. ``KeyCounts``: per key-range partition, sort and count -> the keys seen often enough, with their first document;
3. ``Clusters``: per partition, link equal keys -> candidate edges (``candidates.py``); optionally verify each pair;
   union-find over all edges, keeper per cluster, ``decisions/<rank>.arrow`` for the tasks of the next stage.
``config.json`` carries the pass's fingerprint: a crashed pass resumes at the first unfinished scan when the
options and the stage's shards are unchanged. When the work folder is a URL (``s3://...``) the spill files live in a
local scratch folder (they are appended to, and read back on this machine) and only the pass's results (decision
files, ``DONE.json``) go to the work folder; such a pass is not resumed, it reruns whole. Which tasks run where (inline, a process pool) is the ``runner``'s
business: the engine supplies it, so this module holds no pool and no progress bar.
"""

from __future__ import annotations

import json
import os
import shutil
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from jacorpus.corpus.dedup.candidates import EdgeTask, VerifyTask, bucket_partition, read_edges, verify_partition
from jacorpus.corpus.dedup.clusters import UnionFind, choose_keepers
from jacorpus.corpus.dedup.scan import ScanTask, scan_rank
from jacorpus.corpus.dedup.spill import read_partition
from jacorpus.corpus.dedup.stage_io import RowFetcher, StageLayout
from jacorpus.corpus.global_pass import (
    ClusterResult, GlobalPassPlan, KeyCountChunk, KeyCountResult, ScanSummary, ShardScan, write_rank_decisions,
)
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text


class InlineRunner:
    """Runs a phase's tasks one after the other in this process (the engines' runners take the same calls)."""

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], label: str) -> list[Any]:
        return [fn(task) for task in tasks]


class SpillReducer:
    """``global_pass.Reducer`` over spill partitions; ``runner.map(fn, tasks, label)`` runs each phase's tasks."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.scratch = ""  # where spill files go: the work folder, or a local folder when that is a URL

    def start(self, work_dir: str, fingerprint: str, plan: GlobalPassPlan) -> None:
        if storage.is_url(work_dir):
            storage.rmtree(work_dir)  # no partial state is reused: the pass reruns whole
            self.scratch = storage.scratch_dir("jacorpus-pass-")
            weakref.finalize(self, shutil.rmtree, self.scratch, True)  # spill files go with the reducer
        else:
            self.scratch = work_dir
        config_path = os.path.join(self.scratch, "config.json")
        if os.path.exists(config_path):
            with open(config_path, encoding="utf-8") as fh:
                if json.load(fh).get("fingerprint") != fingerprint:  # other options or other shards: start over
                    shutil.rmtree(self.scratch)
        os.makedirs(self.scratch, exist_ok=True)
        if os.path.exists(os.path.join(self.scratch, "DONE.json")):
            os.remove(os.path.join(self.scratch, "DONE.json"))
        atomic_write_text(config_path, json.dumps({"fingerprint": fingerprint, "parts": plan.partitions}))

    def scan(self, step: Any, layout: StageLayout, work_dir: str, plan: GlobalPassPlan) -> ScanSummary:
        tasks = [
            ScanTask(step, ShardScan(layout.stage_dir, work_dir, rank, int(layout.starts[slot])), plan.partitions,
                     plan.reduction, self.scratch)
            for slot, rank in enumerate(layout.ranks)
        ]
        scans = self.runner.map(scan_rank, tasks, f"{step.name}: scan")
        return ScanSummary(sum(s["no_key"] for s in scans), {name for s in scans for name in s["sources"]})

    def key_counts(self, step: Any, layout: StageLayout, work_dir: str, plan: GlobalPassPlan) -> KeyCountResult:
        summary = self.scan(step, layout, work_dir, plan)
        spec = plan.reduction
        tasks = [(self.scratch, p, spec.min_count, spec.first_doc) for p in range(plan.partitions)]
        results = self.runner.map(count_partition, tasks, f"{step.name}: count")
        return KeyCountResult([r[0] for r in results], sum(r[1] for r in results), summary)

    def clusters(self, step: Any, layout: StageLayout, work_dir: str, plan: GlobalPassPlan) -> ClusterResult:
        summary = self.scan(step, layout, work_dir, plan)
        return clusters(step, layout, work_dir, plan.partitions, self.runner, plan.reduction.verify, summary,
                        self.scratch)


# -- KeyCounts ----------------------------------------------------------------------------------------------------
def count_partition(task: tuple[str, int, int, bool]) -> tuple[KeyCountChunk, int]:
    """The keys of one partition seen at least ``min_count`` times (sorted), and the partition's distinct keys."""
    from jacorpus.corpus.dedup.spill import KEY_DOC, KEY_ONLY

    work_dir, part, min_count, first_doc = task
    records = read_partition(os.path.join(work_dir, "spill"), part, KEY_DOC if first_doc else KEY_ONLY)
    order = np.argsort(records["key"], kind="stable")
    keys = records["key"][order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if keys.size else np.empty(0, np.int64)
    counts = np.diff(np.append(starts, keys.size))
    frequent = counts >= min_count
    firsts = np.minimum.reduceat(records["doc"][order], starts)[frequent] if first_doc and keys.size else None
    if first_doc and firsts is None:
        firsts = np.empty(0, dtype=np.int64)
    chunk = KeyCountChunk(keys[starts][frequent].astype(np.uint64), counts[frequent].astype(np.int64), firsts)
    return chunk, int(starts.size)


# -- Clusters -----------------------------------------------------------------------------------------------------
def clusters(step: Any, layout: StageLayout, work_dir: str, parts: int, runner: Any, verify: bool,
             summary: ScanSummary, scratch: str | None = None) -> ClusterResult:
    """Decision files go to ``work_dir``; spill files, edges and priorities are read from ``scratch``."""
    scratch = scratch or work_dir
    shutil.rmtree(os.path.join(scratch, "edges"), ignore_errors=True)
    n = layout.total
    edge_tasks = [EdgeTask(scratch, p, parts, n, chain=verify) for p in range(parts)]
    runner.map(bucket_partition, edge_tasks, f"{step.name}: buckets")
    candidate_pairs, rejected = 0, None
    union = UnionFind(n)
    if verify:
        verify_tasks = [VerifyTask(step, layout.stage_dir, scratch, e) for e in range(parts)]
        results = runner.map(verify_partition, verify_tasks, f"{step.name}: verify")
        candidate_pairs = sum(a + r for a, r in results)
        rejected = sum(r for _, r in results)
    for e in range(parts):
        u, v = read_edges(scratch, e, "accepted.bin" if verify else "p*.bin")
        if not verify:
            candidate_pairs += int(u.size)
        union.union(u, v)
    roots = union.roots()
    del union
    files = [os.path.join(scratch, "priority", f"{rank:05d}.npy") for rank in layout.ranks]
    priority = np.concatenate([np.load(f) for f in files]) if files else np.empty(0, dtype=np.int32)
    keeper, size = choose_keepers(roots, priority)
    del roots, priority
    write_decisions(layout, work_dir, keeper, size)
    multi = size > 1
    return ClusterResult(
        candidate_pairs=candidate_pairs, verify_rejected=rejected,
        duplicates=int((multi & (keeper != np.arange(n))).sum()), clusters=int((multi & (keeper == np.arange(n))).sum()),
        largest_cluster=int(size.max()) if n else 0, scan=summary,
    )


def write_decisions(layout: StageLayout, work_dir: str, keeper: np.ndarray, size: np.ndarray) -> None:
    """Per task: the rows in multi-document clusters, with their own id (a consistency check), keeper id, size."""
    fetcher = RowFetcher(layout)
    for slot, rank in enumerate(layout.ranks):
        start = int(layout.starts[slot])
        stop = start + int(layout.rows[slot])
        rows = np.flatnonzero(size[start:stop] > 1)
        index = rows + start
        ids = fetcher.fetch_arrow("id", np.concatenate((index, keeper[index])))
        write_rank_decisions(work_dir, rank, rows, ids.slice(0, rows.size), ids.slice(rows.size), size[index],
                             keeper[index] == index)
