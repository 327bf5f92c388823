"""The recipe step ``dedup``: ``method: exact | lines | minhash`` with its options.

A global step (``corpus/global_pass.py``): the engine cuts the recipe here and runs the pass declared below over
every shard of the stage before (map: ``global_scan`` keys each document; reduction: ``Clusters`` for exact and
minhash, ``KeyCounts`` for lines; ``decide`` writes the decision files), then starts the next stage with
``apply_step``. This is the only implementation of dedup's keys, priorities, partition sizing and stats; the
engines only execute. Example::

    - dedup: {method: minhash, threshold: 0.8, unit: char, ngram: 5, verify: true, priority: [wikipedia, cc100]}
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Iterator, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from jacorpus.corpus.dedup.apply import CLUSTER_FIELDS, LINE_FIELDS, ClusterApply, LineApply
from jacorpus.corpus.dedup.spill import KEY_DOC, KEY_ONLY, partition_count
from jacorpus.corpus.dedup.stage_io import StageLayout, arrow_numbers, iter_rank_batches
from jacorpus.corpus.global_pass import (
    ClusterResult, Clusters, GlobalPassPlan, KeyCountResult, KeyCounts, ShardScan, cluster_stats, write_sorted_array,
)
from jacorpus.corpus.steps import GlobalStep, StepOptions, register_step
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_output


MINHASH_ONLY = ("threshold", "unit", "ngram", "num_perm", "bands", "rows", "seed", "scheme")
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    **{name: ("minhash",) for name in MINHASH_ONLY},
    "verify": ("exact", "minhash"),
    "priority": ("exact", "minhash"),
    "min_count": ("lines",),
    "min_chars": ("lines",),
}


class DedupOptions(StepOptions):
    method: Literal["exact", "lines", "minhash"] = "minhash"
    # minhash
    threshold: float = Field(0.8, gt=0.0, lt=1.0, description="Jaccard similarity of near-duplicates")
    unit: Literal["char", "word"] = "char"
    ngram: int = Field(5, ge=1, le=64)
    num_perm: int = Field(128, ge=2, le=1024)
    bands: int | None = Field(None, ge=1)
    rows: int | None = Field(None, ge=1)
    seed: int = Field(1, ge=0, lt=2**32)
    scheme: Literal["affine32", "legacy"] = "affine32"  # datasketch's permutation scheme (affine32: its default)
    # exact and minhash
    # minhash: on by default (bands are chosen for recall, verify keeps precision exact); exact: off (64-bit keys)
    verify: bool | None = Field(None, description="check every candidate pair exactly; default: minhash yes, exact no")
    priority: list[str] = Field(default_factory=list, description="source names, the first is kept first")
    # lines
    min_count: int = Field(2, ge=2, description="documents a line must occur in to be removed")
    min_chars: int = Field(50, ge=0, description="drop a document left shorter than this by line removal")
    # engine
    memory_mb: int = Field(256, ge=16, description="memory budget of one spill partition")

    @model_validator(mode="after")
    def options_fit_the_method(self) -> "DedupOptions":
        for name in self.model_fields_set:
            if self.method not in METHOD_OPTIONS.get(name, (self.method,)):
                raise ValueError(f"option {name!r} does not apply to method {self.method!r}")
        return self

    @model_validator(mode="after")
    def bands_fit(self) -> "DedupOptions":
        bands, rows = self.bands, self.rows
        if bands is not None or rows is not None:
            b = bands if bands is not None else self.num_perm // rows
            r = rows if rows is not None else self.num_perm // bands
            if b < 1 or r < 1 or b * r > self.num_perm:
                raise ValueError(f"bands*rows must be at most num_perm={self.num_perm}")
        return self


@register_step
class Dedup(GlobalStep):
    name = "dedup"
    type = "🫂 - DEDUP"
    Options = DedupOptions
    annotations: ClassVar[dict[str, pa.DataType]] = CLUSTER_FIELDS

    def __init__(self, options: DedupOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        if self.options.method == "lines":  # lines leave no clusters; they report what they removed
            self.annotations = LINE_FIELDS

    # -- the pass ------------------------------------------------------------------------------------------------
    def bands_rows(self) -> tuple[int, int]:
        from jacorpus.corpus.dedup.lsh import resolve_bands

        opts = self.options
        if opts.method != "minhash":
            return 1, 0
        return resolve_bands(opts.threshold, opts.num_perm, opts.bands, opts.rows)

    def global_pass_plan(self, layout: StageLayout) -> GlobalPassPlan:
        opts = self.options
        if opts.method == "lines":  # records = (document, distinct line): estimated from shard bytes, ~30 bytes a line
            parts = partition_count(layout.shard_bytes() // 30, KEY_ONLY.itemsize, opts.memory_mb)
            return GlobalPassPlan(KeyCounts(opts.min_count), parts)
        bands, rows = self.bands_rows()
        parts = partition_count(layout.total * bands, KEY_DOC.itemsize, opts.memory_mb)
        stats = {"bands": bands, "rows": rows} if opts.method == "minhash" else {}
        verify = opts.verify if opts.verify is not None else opts.method == "minhash"
        return GlobalPassPlan(Clusters(verify=verify), parts, stats)

    def global_scan(self, task: ShardScan) -> Iterator[pa.RecordBatch]:
        """Keys of one stage task's documents: exact: one text key; minhash: one key per LSH band (signatures kept
        as ``signatures/<rank>.arrow``, loadable as datasketch LeanMinHash); lines: the distinct line keys."""
        from jacorpus.corpus.dedup.minhash import MinHasher
        from jacorpus.corpus.dedup.scan import signature_schema
        from jacorpus.corpus.dedup.shingles import Shingler

        opts = self.options
        minhash = opts.method == "minhash"
        shingler = Shingler(opts.unit, opts.ngram) if minhash else None
        hasher = MinHasher(opts.num_perm, opts.seed, opts.scheme) if minhash else None
        bands, rows = self.bands_rows()
        sig_schema = signature_schema(opts.num_perm, opts.scheme)
        if not minhash:
            yield from self._scan_batches(task, bands, rows, shingler, hasher, None, sig_schema)
            return
        # streamed to a name of this attempt's own, renamed (uploaded, for a URL) once complete; a failed attempt
        # leaves no partial file
        storage.makedirs(storage.join(task.work_dir, "signatures"))
        with atomic_output(storage.join(task.work_dir, "signatures", f"{task.rank:05d}.arrow")) as sig_tmp:
            sig_writer = pa.ipc.new_file(sig_tmp, sig_schema)
            yield from self._scan_batches(task, bands, rows, shingler, hasher, sig_writer, sig_schema)
            sig_writer.close()

    def _scan_batches(self, task: ShardScan, bands: int, rows: int, shingler: Any, hasher: Any, sig_writer: Any,
                      sig_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        from jacorpus.corpus.dedup.clusters import source_priority
        from jacorpus.corpus.dedup.exact import exact_keys
        from jacorpus.corpus.dedup.lines import document_line_keys
        from jacorpus.corpus.dedup.lsh import band_keys
        from jacorpus.corpus.global_pass import CLUSTER_RECORDS, KEY_RECORDS

        opts = self.options
        doc = task.start
        for batch in iter_rank_batches(task.stage_dir, task.rank, ["id", "text", "source"]):
            texts = batch.column("text").to_pylist()
            index = np.arange(doc, doc + len(texts), dtype=np.int64)
            doc += len(texts)
            if opts.method == "lines":
                keys = [document_line_keys(t) for t in texts]
                flat = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
                yield pa.record_batch([arrow_numbers(flat.view(np.int64))], schema=KEY_RECORDS)
                continue
            if opts.method == "exact":
                keys = exact_keys(texts)
                has_key = keys != 0
                key_docs = index[has_key]
                keys = keys[has_key]
            else:
                hashes, counts = shingler.hash_batch(texts)
                signatures = hasher.signatures_flat(hashes, counts)
                has_key = counts > 0
                keys = band_keys(signatures[has_key], bands, rows).ravel()
                key_docs = np.repeat(index[has_key], bands)
                values = arrow_numbers(signatures.ravel())
                columns = [batch.column("id"), pa.FixedSizeListArray.from_arrays(values, opts.num_perm)]
                sig_writer.write_batch(pa.record_batch(columns, schema=sig_schema))
            prio = source_priority(batch.column("source").to_pylist(), list(opts.priority)).astype(np.int32)
            n, k = len(texts), int(keys.size)
            yield pa.record_batch([
                pa.concat_arrays([arrow_numbers(keys.view(np.int64)), pa.nulls(n, pa.int64())]),
                arrow_numbers(np.concatenate((key_docs, index))),
                pa.concat_arrays([pa.nulls(k, pa.int32()), arrow_numbers(prio)]),
                pa.concat_arrays([pa.nulls(k, pa.string()), batch.column("id").cast(pa.string())]),
                pa.concat_arrays([pa.nulls(k, pa.string()), batch.column("source").cast(pa.string())]),
                pa.concat_arrays([pa.nulls(k, pa.bool_()), arrow_numbers(has_key)]),
            ], schema=CLUSTER_RECORDS)

    def pair_verifier(self, stage_dir: str):
        from jacorpus.corpus.dedup.candidates import PairVerifier

        return PairVerifier(self.options, stage_dir)

    def decide(self, result: KeyCountResult | ClusterResult, layout: StageLayout, work_dir: str) -> dict[str, Any]:
        if isinstance(result, ClusterResult):  # the engine wrote decisions/<rank>.arrow
            return cluster_stats(result)
        # partitions are key ranges, so their concatenation is sorted (LineApply binary-searches it)
        path = os.path.join(work_dir, "frequent_lines.npy")
        frequent = write_sorted_array(path, [chunk.keys for chunk in result.chunks], np.uint64)
        return {"distinct_lines": result.distinct_keys, "frequent_lines": frequent}

    def prepare(self, input_dir: str, work_dir: str, workers: int = 1, progress: bool = False) -> dict[str, Any]:
        """The pass run in this process, without a pool or progress bar (bench/ and tests; the engines run it with
        their own reducer: ``pipelines/local.py`` on a process pool, ``pipelines/spark_global.py`` on Spark)."""
        from jacorpus.corpus.dedup.prepare import InlineRunner, SpillReducer
        from jacorpus.corpus.global_pass import run_global_pass

        if workers != 1 or progress:
            raise ValueError("an in-process pass runs one worker without progress; engines run it on more")
        return run_global_pass(self, input_dir, work_dir, SpillReducer(InlineRunner()))

    def apply_step(self, work_dir: str):
        if self.options.method == "lines":
            return LineApply(work_dir, self.options.min_chars)
        return ClusterApply(work_dir, "exact_duplicate" if self.options.method == "exact" else "near_duplicate")
