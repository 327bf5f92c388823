"""The local engine's dedup decisions over all shards of a stage, in bounded memory, resumable.

1. scan (``scan.py``): per task, keys -> key-range spill files (+ signatures, source priorities);
2. buckets (``candidates.py``): per key-range partition, sort, link equal keys -> candidate edges;
3. verify (``candidates.py``, optional): exact Jaccard of each candidate pair's shingle sets;
4. union-find over all edges, keeper per cluster, and ``decisions/<rank>.arrow`` for the tasks of the next stage.
For ``lines``: per partition, keys found in >= min_count documents -> ``frequent_lines.npy`` (sorted).
``DONE.json`` carries a fingerprint of the options and of the stage's shards; a matching one skips everything.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from jacorpus.corpus.dedup.candidates import EdgeTask, VerifyTask, bucket_partition, read_edges, verify_partition
from jacorpus.corpus.dedup.clusters import UnionFind, choose_keepers
from jacorpus.corpus.dedup.lines import frequent_keys
from jacorpus.corpus.dedup.lsh import resolve_bands
from jacorpus.corpus.dedup.scan import ScanTask, scan_rank
from jacorpus.corpus.dedup.spill import KEY_DOC, KEY_ONLY, partition_count, read_partition
from jacorpus.corpus.dedup.stage_io import RowFetcher, StageLayout, arrow_numbers
from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text

DECISION_SCHEMA = pa.schema([
    ("row", pa.int64()), ("id", pa.string()), ("keeper_id", pa.string()),
    ("cluster_size", pa.int64()), ("keep", pa.bool_()),
])


class TaskRunner:
    """Runs a phase's tasks inline (one worker) or on one process pool shared by all phases of a prepare."""

    def __init__(self, workers: int, progress: bool) -> None:
        self.workers, self.progress, self.pool = workers, progress, None

    def __enter__(self) -> "TaskRunner":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], label: str) -> list[Any]:
        from rich.progress import track

        if self.workers <= 1 or len(tasks) <= 1:
            return [fn(t) for t in track(tasks, description=label, disable=not self.progress)]
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("forkserver")  # like datatrove: no fork of a threaded parent
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        results = self.pool.map(fn, tasks)
        return list(track(results, total=len(tasks), description=label, disable=not self.progress))


def fingerprint(options: Any, layout: StageLayout) -> str:
    return hashlib.sha256(f"{options.model_dump_json()}|{layout.fingerprint}|v1".encode()).hexdigest()[:24]


def finished_stats(work_dir: str, fp: str) -> dict | None:
    """The stats of a finished prepare with this fingerprint (same options, same stage shards), else None."""
    done_path = os.path.join(work_dir, "DONE.json")
    if os.path.exists(done_path):
        with open(done_path, encoding="utf-8") as fh:
            done = json.load(fh)
        if done["fingerprint"] == fp:
            return done["stats"]
    return None


def prepare_dedup(options: Any, stage_dir: str, work_dir: str, workers: int = 1, progress: bool = True) -> dict:
    layout = StageLayout(stage_dir)
    fp = fingerprint(options, layout)
    if (stats := finished_stats(work_dir, fp)) is not None:
        return stats
    done_path = os.path.join(work_dir, "DONE.json")
    config_path = os.path.join(work_dir, "config.json")
    if os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as fh:
            if json.load(fh).get("fingerprint") != fp:  # other options or other shards: start over
                shutil.rmtree(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    if os.path.exists(done_path):
        os.remove(done_path)

    bands, rows = 1, 0
    if options.method == "minhash":
        bands, rows = resolve_bands(options.threshold, options.num_perm, options.bands, options.rows)
    if options.method == "lines":  # records = (document, distinct line): estimate from shard bytes, ~30 bytes a line
        records = sum(os.path.getsize(p) for p in glob.glob(os.path.join(glob.escape(stage_dir), "shard-*.arrow"))) // 30
        parts = partition_count(records, KEY_ONLY.itemsize, options.memory_mb)
    else:
        parts = partition_count(layout.total * bands, KEY_DOC.itemsize, options.memory_mb)
    atomic_write_text(config_path, json.dumps({"fingerprint": fp, "parts": parts, "bands": bands, "rows": rows}))

    tasks = [
        ScanTask(options, stage_dir, work_dir, rank, int(layout.starts[slot]), parts, bands, rows)
        for slot, rank in enumerate(layout.ranks)
    ]
    stats: dict[str, Any] = {"method": options.method, "docs": layout.total, "partitions": parts}
    with TaskRunner(workers, progress) as runner:
        scans = runner.map(scan_rank, tasks, f"dedup {options.method}: scan")
        stats["no_key"] = sum(s["no_key"] for s in scans)
        seen = {name for s in scans for name in s["sources"]}
        if options.method != "lines" and set(options.priority) - seen:
            warnings.warn(f"dedup priority names no source of this corpus: {sorted(set(options.priority) - seen)}")
        if options.method == "lines":
            stats |= frequent_lines(options, work_dir, parts, runner)
        else:
            stats |= {"bands": bands, "rows": rows} if options.method == "minhash" else {}
            stats |= clusters(options, layout, work_dir, parts, runner)
    atomic_write_text(done_path, json.dumps({"fingerprint": fp, "stats": stats}))
    for leftover in ("ranks", "spill", "edges", "priority"):  # scan markers go with the spill files they vouch for
        shutil.rmtree(os.path.join(work_dir, leftover), ignore_errors=True)
    return stats


# -- lines ------------------------------------------------------------------------------------------------------
def _frequent_in_partition(task: tuple[str, int, int]) -> tuple[np.ndarray, int]:
    work_dir, part, min_count = task
    keys = read_partition(os.path.join(work_dir, "spill"), part, KEY_ONLY)["key"]
    return frequent_keys(keys, min_count), int(np.unique(keys).size)


def frequent_lines(options: Any, work_dir: str, parts: int, runner: TaskRunner) -> dict[str, Any]:
    tasks = [(work_dir, p, options.min_count) for p in range(parts)]
    results = runner.map(_frequent_in_partition, tasks, "dedup lines: count")
    frequent = np.concatenate([r[0] for r in results]) if results else np.empty(0, dtype=np.uint64)
    # partitions are key ranges, so their concatenation is sorted (LineApply binary-searches it)
    np.save(os.path.join(work_dir, "frequent_lines.npy"), frequent.astype(np.uint64))
    return {"distinct_lines": sum(r[1] for r in results), "frequent_lines": int(frequent.size)}


# -- exact / minhash ---------------------------------------------------------------------------------------------
def clusters(options: Any, layout: StageLayout, work_dir: str, parts: int, runner: TaskRunner) -> dict:
    shutil.rmtree(os.path.join(work_dir, "edges"), ignore_errors=True)
    n = layout.total
    edge_tasks = [EdgeTask(work_dir, p, parts, n, chain=options.verify) for p in range(parts)]
    runner.map(bucket_partition, edge_tasks, f"dedup {options.method}: buckets")
    stats: dict[str, Any] = {"candidate_pairs": 0}
    union = UnionFind(n)
    if options.verify:
        verify_tasks = [VerifyTask(options, layout.stage_dir, work_dir, e) for e in range(parts)]
        results = runner.map(verify_partition, verify_tasks, f"dedup {options.method}: verify")
        stats["candidate_pairs"] = sum(a + r for a, r in results)
        stats["verify_rejected"] = sum(r for _, r in results)
    for e in range(parts):
        u, v = read_edges(work_dir, e, "accepted.bin" if options.verify else "p*.bin")
        if not options.verify:
            stats["candidate_pairs"] += int(u.size)
        union.union(u, v)
    roots = union.roots()
    del union
    files = [os.path.join(work_dir, "priority", f"{rank:05d}.npy") for rank in layout.ranks]
    priority = np.concatenate([np.load(f) for f in files]) if files else np.empty(0, dtype=np.int32)
    keeper, size = choose_keepers(roots, priority)
    del roots, priority
    write_decisions(layout, work_dir, keeper, size)
    multi = size > 1
    stats["duplicates"] = int((multi & (keeper != np.arange(n))).sum())
    stats["clusters"] = int((multi & (keeper == np.arange(n))).sum())
    stats["largest_cluster"] = int(size.max()) if n else 0
    return stats


def write_decisions(layout: StageLayout, work_dir: str, keeper: np.ndarray, size: np.ndarray) -> None:
    """Per task: the rows in multi-document clusters, with their own id (a consistency check), keeper id, size."""
    folder = os.path.join(work_dir, "decisions")
    os.makedirs(folder, exist_ok=True)
    fetcher = RowFetcher(layout)
    for slot, rank in enumerate(layout.ranks):
        start = int(layout.starts[slot])
        stop = start + int(layout.rows[slot])
        rows = np.flatnonzero(size[start:stop] > 1)
        index = rows + start
        ids = fetcher.fetch_arrow("id", np.concatenate((index, keeper[index])))
        columns = [
            arrow_numbers(rows.astype(np.int64)), ids.slice(0, rows.size), ids.slice(rows.size),
            arrow_numbers(size[index].astype(np.int64)), arrow_numbers(keeper[index] == index),
        ]
        table = pa.Table.from_arrays(columns, schema=DECISION_SCHEMA)
        with atomic_output(os.path.join(folder, f"{rank:05d}.arrow")) as tmp:
            with pa.ipc.new_file(tmp, DECISION_SCHEMA) as writer:
                writer.write_table(table)
