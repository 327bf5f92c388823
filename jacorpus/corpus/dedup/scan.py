"""Pass 1 of the spill reducer: one task per stage task, spilling the step's keyed records in constant memory.

The records come from ``step.global_scan`` (the step's one implementation of its keys); this module only sends key
records to the key-range spill files and keeps, for ``Clusters``, each document's source priority
(``priority/<rank>.npy``). A finished task leaves ``ranks/<rank>.json``, so a crashed pass resumes at the first
unfinished task.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from jacorpus.corpus.dedup.spill import KEY_DOC, KEY_ONLY, SpillWriter
from jacorpus.corpus.global_pass import KeyCounts, ShardScan
from jacorpus.foundation.atomic_files import atomic_write_text


@dataclass
class ScanTask:
    step: Any  # a GlobalStep
    shard: ShardScan
    parts: int
    reduction: Any  # KeyCounts | Clusters
    scratch: str | None = None  # local folder of the spill files (default: the pass's work folder)


def signature_schema(num_perm: int, scheme: str) -> pa.Schema:
    value = pa.uint64() if scheme == "legacy" else pa.uint32()
    return pa.schema([("id", pa.string()), ("signature", pa.list_(value, num_perm))])


def _numbers(column: pa.Array | pa.ChunkedArray, dtype: Any) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype)


def scan_rank(task: ScanTask) -> dict[str, Any]:
    work_dir, rank = task.scratch or task.shard.work_dir, task.shard.rank
    marker = os.path.join(work_dir, "ranks", f"{rank:05d}.json")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as fh:
            return json.load(fh)
    counting = isinstance(task.reduction, KeyCounts)
    with_doc = not counting or task.reduction.first_doc
    record = KEY_DOC if with_doc else KEY_ONLY
    spill = SpillWriter(os.path.join(work_dir, "spill"), rank, task.parts, record)
    priorities: list[np.ndarray] = []
    sources: Counter[str] = Counter()
    empty = 0
    # imported here, not at the top: the forkserver preloads this module, and pyarrow.compute (~25 ms) would delay
    # every run's first task; a scan task loads it once (Array.is_null needs it anyway)
    import pyarrow.compute as pc

    for batch in task.step.global_scan(task.shard):
        if not counting:  # key rows, then one document row per document (null key)
            is_doc = batch.column("key").is_null()
            docs, batch = batch.filter(is_doc), batch.filter(pc.invert(is_doc))
            priorities.append(_numbers(docs.column("prio"), np.int32))
            sources.update(docs.column("source").to_pylist())
            empty += int((~_numbers(docs.column("has_key"), bool)).sum())
        out = np.empty(batch.num_rows, dtype=record)
        out["key"] = _numbers(batch.column("key"), np.int64).view(np.uint64)
        if with_doc:
            out["doc"] = _numbers(batch.column("doc"), np.int64)
        spill.add(out)
    records = spill.close()
    if not counting:
        prio = np.concatenate(priorities) if priorities else np.empty(0, dtype=np.int32)
        os.makedirs(os.path.join(work_dir, "priority"), exist_ok=True)
        np.save(os.path.join(work_dir, "priority", f"{rank:05d}.npy"), prio.astype(np.int32))
    result = {"rank": rank, "records": records, "no_key": empty, "sources": dict(sources)}
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    atomic_write_text(marker, json.dumps(result))
    return result
