"""Pass 1 of the local engine's dedup: one task per stage task, streaming its shards in constant memory.

For each document it computes the method's keys (exact: one text key; minhash: one key per LSH band; lines: the
document's distinct line keys) and appends (key, document index) records to the key-range spill files. MinHash
signatures are also kept, with document ids, as ``signatures/<rank>.arrow`` (loadable as datasketch LeanMinHash).
A finished task leaves ``ranks/<rank>.json``, so a crashed prepare resumes at the first unfinished task.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from jacorpus.corpus.dedup.clusters import source_priority
from jacorpus.corpus.dedup.exact import exact_keys
from jacorpus.corpus.dedup.lines import document_line_keys
from jacorpus.corpus.dedup.lsh import band_keys
from jacorpus.corpus.dedup.minhash import MinHasher
from jacorpus.corpus.dedup.shingles import Shingler
from jacorpus.corpus.dedup.spill import KEY_DOC, KEY_ONLY, SpillWriter
from jacorpus.corpus.dedup.stage_io import arrow_numbers, iter_rank_batches
from jacorpus.foundation.atomic_files import atomic_write_text


@dataclass
class ScanTask:
    options: Any  # DedupOptions
    stage_dir: str
    work_dir: str
    rank: int
    start: int  # dense index of the task's first document
    parts: int
    bands: int = 1
    rows: int = 0


def signature_schema(num_perm: int, scheme: str) -> pa.Schema:
    value = pa.uint64() if scheme == "legacy" else pa.uint32()
    return pa.schema([("id", pa.string()), ("signature", pa.list_(value, num_perm))])


def scan_rank(task: ScanTask) -> dict[str, Any]:
    marker = os.path.join(task.work_dir, "ranks", f"{task.rank:05d}.json")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as fh:
            return json.load(fh)
    opts = task.options
    method = opts.method
    record = KEY_ONLY if method == "lines" else KEY_DOC
    spill = SpillWriter(os.path.join(task.work_dir, "spill"), task.rank, task.parts, record)
    shingler = Shingler(opts.unit, opts.ngram) if method == "minhash" else None
    hasher = MinHasher(opts.num_perm, opts.seed, opts.scheme) if method == "minhash" else None
    sig_writer, sig_schema = None, signature_schema(opts.num_perm, opts.scheme)
    if method == "minhash":
        os.makedirs(os.path.join(task.work_dir, "signatures"), exist_ok=True)
        sig_path = os.path.join(task.work_dir, "signatures", f"{task.rank:05d}.arrow")
        sig_writer = pa.ipc.new_file(sig_path, sig_schema)
    priorities: list[np.ndarray] = []
    sources: Counter[str] = Counter()
    doc, empty = task.start, 0
    for batch in iter_rank_batches(task.stage_dir, task.rank, ["id", "text", "source"]):
        texts = batch.column("text").to_pylist()
        batch_sources = batch.column("source").to_pylist()
        sources.update(batch_sources)
        index = np.arange(doc, doc + len(texts), dtype=np.int64)
        doc += len(texts)
        if method == "lines":
            for text in texts:
                keys = document_line_keys(text)
                spill.add(keys.view(KEY_ONLY))
            continue
        priorities.append(source_priority(batch_sources, list(opts.priority)))
        if method == "exact":
            keys = exact_keys(texts)
            has_key = keys != 0
            spill.add(_records(keys[has_key], index[has_key]))
            empty += int((~has_key).sum())
            continue
        hashes, counts = shingler.hash_batch(texts)
        signatures = hasher.signatures_flat(hashes, counts)
        has_shingles = counts > 0
        empty += int((~has_shingles).sum())
        keys = band_keys(signatures[has_shingles], task.bands, task.rows)
        spill.add(_records(keys.ravel(), np.repeat(index[has_shingles], task.bands)))
        values = arrow_numbers(signatures.ravel())
        columns = [batch.column("id"), pa.FixedSizeListArray.from_arrays(values, opts.num_perm)]
        sig_writer.write_batch(pa.record_batch(columns, schema=sig_schema))
    records = spill.close()
    if sig_writer is not None:
        sig_writer.close()
    if method != "lines":
        prio = np.concatenate(priorities) if priorities else np.empty(0, dtype=np.int64)
        os.makedirs(os.path.join(task.work_dir, "priority"), exist_ok=True)
        np.save(os.path.join(task.work_dir, "priority", f"{task.rank:05d}.npy"), prio.astype(np.int32))
    result = {"rank": task.rank, "docs": doc - task.start, "records": records, "no_key": empty}
    result["sources"] = dict(sources)
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    atomic_write_text(marker, json.dumps(result))
    return result


def _records(keys: np.ndarray, docs: np.ndarray) -> np.ndarray:
    out = np.empty(keys.size, dtype=KEY_DOC)
    out["key"], out["doc"] = keys, docs
    return out
