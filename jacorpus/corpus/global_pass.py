"""The global-step protocol: a corpus-wide pass declared once by the step, executed by whichever engine runs it.

A global step (``JaStep.is_global``) describes its pass as

1. **map over shards**: ``step.global_scan(ShardScan)`` turns one stage task's rows into *keyed records*
   (Arrow batches of ``reduction.schema``); the same function runs in a local worker, a Slurm job or a Spark
   executor;
2. **grouped reduction** of all records by key, one of two kinds the engines implement:
   - ``KeyCounts``: per key, how many records carry it (and, with ``first_doc``, the smallest document index);
     keys seen at least ``min_count`` times come back sorted, in chunks (``KeyCountChunk``);
   - ``Clusters``: documents sharing a key are linked (optionally each candidate pair checked by the step's
     verifier), connected components found, and one keeper per component chosen by ``(priority, index)``;
     the engine writes ``decisions/<rank>.arrow`` with ``write_rank_decisions``;
3. **decision files**: ``step.decide(result, layout, work_dir)`` writes what the step's per-document half
   (``step.apply_step(work_dir)``) reads in the next stage, and returns the pass's stats.

``run_global_pass`` is the driver every engine calls, with its ``Reducer`` (the execution: spill partitions and a
process pool locally, DataFrames on Spark). Engines never look at which step they run; a new global step needs no
engine change as long as its pass is a map and one of these reductions.

Records: ``KeyCounts`` records are ``(key)`` or ``(key, doc)``; ``Clusters`` records are key rows
``(key, doc)`` plus one document row per document ``(doc, prio, id, source, has_key)`` with a null key
(``CLUSTER_RECORDS``). Keys are uint64 hashes travelling as their int64 bit pattern.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from jacorpus.corpus.dedup.stage_io import StageLayout, arrow_numbers
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text

KEY_RECORDS = pa.schema([("key", pa.int64())])
KEY_DOC_RECORDS = pa.schema([("key", pa.int64()), ("doc", pa.int64())])
CLUSTER_RECORDS = pa.schema([
    ("key", pa.int64()), ("doc", pa.int64()), ("prio", pa.int32()),
    ("id", pa.string()), ("source", pa.string()), ("has_key", pa.bool_()),
])
DECISION_SCHEMA = pa.schema([
    ("row", pa.int64()), ("id", pa.string()), ("keeper_id", pa.string()),
    ("cluster_size", pa.int64()), ("keep", pa.bool_()),
])
FORMAT_VERSION = "v2"  # part of a pass's fingerprint: a change of the decision files' meaning reruns passes; v2: minhash defaults (bands for recall, verify on)


@dataclass(frozen=True)
class ShardScan:
    """The map input: task ``rank`` of the stage in ``stage_dir``, whose first document has dense index ``start``."""

    stage_dir: str
    work_dir: str
    rank: int
    start: int


@dataclass(frozen=True)
class KeyCounts:
    min_count: int
    first_doc: bool = False  # records carry their document; the smallest per key comes back

    @property
    def schema(self) -> pa.Schema:
        return KEY_DOC_RECORDS if self.first_doc else KEY_RECORDS


@dataclass(frozen=True)
class Clusters:
    verify: bool = False  # check each candidate pair with ``step.pair_verifier`` (chained bucket edges)
    schema: pa.Schema = CLUSTER_RECORDS


@dataclass
class GlobalPassPlan:
    """What the step declares for one pass over a given stage: the reduction, and the spill partitions a
    bounded-memory engine uses (also reported in the stats, so every engine reports the same number)."""

    reduction: KeyCounts | Clusters
    partitions: int
    stats: dict[str, Any] = field(default_factory=dict)  # figures known before the pass (e.g. LSH bands)


@dataclass
class KeyCountChunk:
    """Keys (uint64, sorted across chunks) seen at least ``min_count`` times; counts; smallest document or None."""

    keys: np.ndarray
    counts: np.ndarray
    first_docs: np.ndarray | None = None


@dataclass
class KeyCountResult:
    chunks: list[KeyCountChunk]
    distinct_keys: int
    scan: "ScanSummary"


@dataclass
class ClusterResult:
    candidate_pairs: int
    verify_rejected: int | None  # None without verify
    duplicates: int
    clusters: int
    largest_cluster: int
    scan: "ScanSummary"


@dataclass
class ScanSummary:
    no_key: int  # documents without any key (empty after normalization, no shingle)
    sources: set[str]


class Reducer(Protocol):
    """An engine's execution of a pass (see the module docstring)."""

    def start(self, work_dir: str, fingerprint: str, plan: GlobalPassPlan) -> None: ...

    def key_counts(self, step: Any, layout: StageLayout, work_dir: str, plan: GlobalPassPlan) -> KeyCountResult: ...

    def clusters(self, step: Any, layout: StageLayout, work_dir: str, plan: GlobalPassPlan) -> ClusterResult: ...


def fingerprint(options: Any, layout: StageLayout) -> str:
    return hashlib.sha256(f"{options.model_dump_json()}|{layout.fingerprint}|{FORMAT_VERSION}".encode()).hexdigest()[:24]


def finished_stats(work_dir: str, fp: str) -> dict | None:
    """The stats of a finished pass with this fingerprint (same options, same stage shards), else None."""
    done_path = storage.join(work_dir, "DONE.json")
    if storage.exists(done_path):
        done = json.loads(storage.read_text(done_path))
        if done["fingerprint"] == fp:
            return done["stats"]
    return None


def run_global_pass(step: Any, stage_dir: str, work_dir: str, reducer: Reducer) -> dict[str, Any]:
    """The corpus-wide pass of ``step`` over the shards of ``stage_dir``; decision files and ``DONE.json`` go to
    ``work_dir``. A finished pass with the same fingerprint is not run again."""
    layout = StageLayout(stage_dir)
    fp = fingerprint(step.options, layout)
    if (stats := finished_stats(work_dir, fp)) is not None:
        return stats
    plan = step.global_pass_plan(layout)
    reducer.start(work_dir, fp, plan)
    stats = {"method": getattr(step.options, "method", step.name), "docs": layout.total,
             "partitions": plan.partitions}
    if isinstance(plan.reduction, KeyCounts):
        result: KeyCountResult | ClusterResult = reducer.key_counts(step, layout, work_dir, plan)
    else:
        result = reducer.clusters(step, layout, work_dir, plan)
        unknown = set(getattr(step.options, "priority", [])) - result.scan.sources
        if unknown:
            warnings.warn(f"{step.name} priority names no source of this corpus: {sorted(unknown)}")
    stats["no_key"] = result.scan.no_key
    stats |= plan.stats
    stats |= step.decide(result, layout, work_dir)
    atomic_write_text(storage.join(work_dir, "DONE.json"), json.dumps({"fingerprint": fp, "stats": stats}))
    for leftover in ("ranks", "spill", "edges", "priority", "count_parts"):  # intermediate state of the reducers
        storage.rmtree(storage.join(work_dir, leftover))
    return stats


def require_done(work_dir: str, step_name: str) -> dict[str, Any]:
    """The stats of the finished pass a step's per-document half reads its decisions from."""
    path = storage.join(work_dir, "DONE.json")
    if not storage.exists(path):
        raise RuntimeError(f"{step_name} decisions missing in {work_dir}: the global pass did not finish")
    return json.loads(storage.read_text(path))["stats"]


# -- decision files shared by every engine ------------------------------------------------------------------------
def cluster_stats(result: ClusterResult) -> dict[str, Any]:
    stats: dict[str, Any] = {"candidate_pairs": result.candidate_pairs}
    if result.verify_rejected is not None:
        stats["verify_rejected"] = result.verify_rejected
    return stats | {"duplicates": result.duplicates, "clusters": result.clusters,
                    "largest_cluster": result.largest_cluster}


def write_rank_decisions(work_dir: str, rank: int, rows: np.ndarray, ids: pa.Array, keeper_ids: pa.Array,
                         sizes: np.ndarray, keep: np.ndarray) -> None:
    """``decisions/<rank>.arrow``: the rows of task ``rank`` in multi-document clusters, with their own id (a
    consistency check when applied), their keeper's id, the cluster size and whether the row is the keeper."""
    folder = storage.join(work_dir, "decisions")
    storage.makedirs(folder)
    columns = [arrow_numbers(np.asarray(rows, dtype=np.int64)), ids, keeper_ids,
               arrow_numbers(np.asarray(sizes, dtype=np.int64)), arrow_numbers(np.asarray(keep, dtype=bool))]
    table = pa.Table.from_arrays(columns, schema=DECISION_SCHEMA)
    with atomic_output(storage.join(folder, f"{rank:05d}.arrow")) as tmp:
        with pa.ipc.new_file(tmp, DECISION_SCHEMA) as writer:
            writer.write_table(table)


def write_sorted_array(path: str, chunks: list[np.ndarray], dtype: Any) -> int:
    """Concatenate ``chunks`` into the ``.npy`` file ``path`` without holding them all (chunks may be mapped)."""
    total = sum(int(c.size) for c in chunks)
    with atomic_output(path) as tmp:
        if total == 0:  # a memory map cannot be empty
            with open(tmp, "wb") as fh:
                np.save(fh, np.empty(0, dtype=dtype))
        else:
            out = np.lib.format.open_memmap(tmp, "w+", dtype, (total,))
            pos = 0
            for chunk in chunks:
                out[pos : pos + chunk.size] = chunk
                pos += chunk.size
            out.flush()
            del out
    return total

