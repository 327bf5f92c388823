"""The dedup step's corpus-wide pass on Spark executors; it writes the very files the local ``prepare`` writes.

- scan: one Spark task per stage task (``spark.range(n, numPartitions=n).mapInArrow``), the same pure functions as
  ``scan.py`` (shingles, MinHash, band keys, exact keys, line keys); records come out as Arrow batches: key rows
  ``(key, doc)`` and one doc row ``(doc, priority, id, source)`` per document. MinHash signatures are written per
  task to ``signatures/<rank>.arrow`` (temporary name, then rename: a retried task rewrites the same file).
- candidates: group by key. Each bucket links its smallest document to every other member (star edges: O(n) edges
  for a bucket of n, never all pairs), plus neighbours in document order when verifying (as ``lsh.bucket_edges``).
- verify: edges range-partitioned by their first document and sorted; executors re-read texts by address.
- connected components: large-star / small-star (Kiveris et al. 2014) over the edge DataFrame, each round
  checkpointed; it stops when every component is a star around its smallest member (= the union-find root).
- keepers: ``min((priority, address, id))`` per component, as ``clusters.choose_keepers``; ``decisions/<rank>.arrow``
  written by one task per rank.
- lines: line keys counted with a partial-aggregated group-by; the frequent ones range-sorted and written in parts
  that the driver concatenates (streamed) into ``frequent_lines.npy``.

Skew: per-key aggregations (bucket minimum, neighbour minimum, counts) are combined map-side, so a giant bucket or
cluster sends at most one value per partition to its key. The joins that hand those values back to the members
(bucket -> members, hub -> neighbours, root -> members) go through ``skew_safe_join``: a key with more rows than
``spark.jacorpus.dedup.heavyKeyRows`` is joined map-side against a broadcast of its one row, so a giant cluster
is not one task's work (Spark's adaptive skew join does not apply: one side is an aggregate). pyspark is imported
inside functions (the CLI imports this package at startup).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from jacorpus.corpus.dedup.prepare import DECISION_SCHEMA, finished_stats, fingerprint
from jacorpus.pipelines.spark_graph import connected_components, skew_safe_join
from jacorpus.corpus.dedup.spill import KEY_DOC, KEY_ONLY, partition_count
from jacorpus.corpus.dedup.stage_io import StageLayout, arrow_numbers
from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text, temporary_path

KEY_SCHEMA = pa.schema([("key", pa.int64())])  # uint64 keys travel as their int64 bit pattern
KEY_DDL = "key long"
RECORD_DDL = "key long, doc long, prio int, id string, source string, has_key boolean"
RECORD_SCHEMA = pa.schema([
    ("key", pa.int64()), ("doc", pa.int64()), ("prio", pa.int32()),
    ("id", pa.string()), ("source", pa.string()), ("has_key", pa.bool_()),
])


def _replace_atomically(path: str, write) -> None:
    with atomic_output(path) as tmp:  # unique per attempt: a speculative twin never shares it
        write(tmp)


def _write_ipc(path: str, table: pa.Table) -> None:
    def write(tmp: str) -> None:
        with pa.ipc.new_file(tmp, table.schema) as writer:
            writer.write_table(table)

    _replace_atomically(path, write)


# -- scan (executors) -----------------------------------------------------------------------------------------
def scan_records(options: Any, stage_dir: str, work_dir: str, rank: int, start: int, bands: int, rows: int,
                 fail_once: bool = False) -> Iterator[pa.RecordBatch]:
    """One stage task's records, with the same keys as ``scan.scan_rank`` (see there).

    ``fail_once`` (tests): fail the first attempt after it streamed its records and wrote its signatures.
    """
    from jacorpus.corpus.dedup.minhash import MinHasher
    from jacorpus.corpus.dedup.scan import signature_schema
    from jacorpus.corpus.dedup.shingles import Shingler

    minhash = options.method == "minhash"
    shingler = Shingler(options.unit, options.ngram) if minhash else None
    hasher = MinHasher(options.num_perm, options.seed, options.scheme) if minhash else None
    sig_schema = signature_schema(options.num_perm, options.scheme)
    sig_writer, sig_path, sig_tmp = None, "", ""
    if minhash:  # streamed to a name of this attempt's own, renamed once complete
        os.makedirs(os.path.join(work_dir, "signatures"), exist_ok=True)
        sig_path = os.path.join(work_dir, "signatures", f"{rank:05d}.arrow")
        sig_tmp = temporary_path(sig_path)
        sig_writer = pa.ipc.new_file(sig_tmp, sig_schema)
    try:
        yield from _scan_batches(options, stage_dir, rank, start, bands, rows, shingler, hasher, sig_writer, sig_schema)
        marker = os.path.join(work_dir, f"failed-once-{rank:05d}")
        if fail_once and not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError(f"injected failure of the dedup scan of rank {rank}")
        if sig_writer is not None:
            sig_writer.close()
            os.replace(sig_tmp, sig_path)
    finally:
        if sig_tmp and os.path.exists(sig_tmp):  # a failed attempt leaves no partial file
            os.remove(sig_tmp)


def _scan_batches(options: Any, stage_dir: str, rank: int, start: int, bands: int, rows: int,
                  shingler: Any, hasher: Any, sig_writer: Any, sig_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    from jacorpus.corpus.dedup.clusters import source_priority
    from jacorpus.corpus.dedup.exact import exact_keys
    from jacorpus.corpus.dedup.lines import document_line_keys
    from jacorpus.corpus.dedup.lsh import band_keys
    from jacorpus.corpus.dedup.stage_io import iter_rank_batches

    method = options.method
    doc = start
    for batch in iter_rank_batches(stage_dir, rank, ["id", "text", "source"]):
        texts = batch.column("text").to_pylist()
        index = np.arange(doc, doc + len(texts), dtype=np.int64)
        doc += len(texts)
        if method == "lines":
            keys = [document_line_keys(t) for t in texts]
            flat = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
            yield pa.record_batch([arrow_numbers(flat.view(np.int64))], schema=KEY_SCHEMA)
            continue
        sources = batch.column("source").to_pylist()
        if method == "exact":
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
            columns = [batch.column("id"), pa.FixedSizeListArray.from_arrays(values, options.num_perm)]
            sig_writer.write_batch(pa.record_batch(columns, schema=sig_schema))
        prio = source_priority(sources, list(options.priority)).astype(np.int32)
        n, k = len(texts), int(keys.size)
        yield pa.record_batch([
            pa.concat_arrays([arrow_numbers(keys.view(np.int64)), pa.nulls(n, pa.int64())]),
            arrow_numbers(np.concatenate((key_docs, index))),
            pa.concat_arrays([pa.nulls(k, pa.int32()), arrow_numbers(prio)]),
            pa.concat_arrays([pa.nulls(k, pa.string()), batch.column("id").cast(pa.string())]),
            pa.concat_arrays([pa.nulls(k, pa.string()), batch.column("source").cast(pa.string())]),
            pa.concat_arrays([pa.nulls(k, pa.bool_()), arrow_numbers(has_key)]),
        ], schema=RECORD_SCHEMA)


def _scanner(options: Any, layout: StageLayout, work_dir: str, bands: int, rows: int, fail: str):
    stage_dir, ranks, starts = layout.stage_dir, list(layout.ranks), [int(s) for s in layout.starts]

    def scan(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for slot in batch.column(0).to_pylist():
                rank = ranks[slot]
                fail_once = fail == f"dedup:{rank}"
                yield from scan_records(options, stage_dir, work_dir, rank, starts[slot], bands, rows, fail_once)

    return scan


def scan_frame(spark, options: Any, layout: StageLayout, work_dir: str, bands: int, rows: int, fail: str = ""):
    """Records of every stage task: one Spark task per stage task (``range`` puts value i in partition i)."""
    n = len(layout.ranks)
    schema = KEY_DDL if options.method == "lines" else RECORD_DDL
    slots = spark.range(0, n, 1, numPartitions=max(n, 1))
    return slots.mapInArrow(_scanner(options, layout, work_dir, bands, rows, fail), schema)


# -- entry point (driver) ---------------------------------------------------------------------------------------
def prepare_dedup_spark(spark, options: Any, stage_dir: str, work_dir: str, fail_once: str = "") -> dict[str, Any]:
    """``prepare.prepare_dedup`` on Spark: same ``DONE.json`` fingerprint, stats and decision files."""
    from jacorpus.corpus.dedup.lsh import resolve_bands

    layout = StageLayout(stage_dir)
    fp = fingerprint(options, layout)
    if (stats := finished_stats(work_dir, fp)) is not None:
        return stats
    shutil.rmtree(work_dir, ignore_errors=True)  # no partial state is reused: a Spark prepare reruns whole
    os.makedirs(work_dir, exist_ok=True)
    bands, rows = 1, 0
    if options.method == "minhash":
        bands, rows = resolve_bands(options.threshold, options.num_perm, options.bands, options.rows)
    # "partitions" as the local engine reports it (its spill partitions), so both engines' stats are equal
    if options.method == "lines":
        shard_bytes = sum(
            os.path.getsize(os.path.join(stage_dir, f)) for f in os.listdir(stage_dir)
            if f.startswith("shard-") and f.endswith(".arrow")
        )
        parts = partition_count(shard_bytes // 30, KEY_ONLY.itemsize, options.memory_mb)
    else:
        parts = partition_count(layout.total * bands, KEY_DOC.itemsize, options.memory_mb)
    stats: dict[str, Any] = {"method": options.method, "docs": layout.total, "partitions": parts}
    spark.sparkContext.setJobDescription(f"dedup {options.method}: scan")
    records = scan_frame(spark, options, layout, work_dir, bands, rows, fail_once).persist()
    try:
        if options.method == "lines":
            stats |= {"no_key": 0} | frequent_lines(records, options, work_dir)
        else:
            stats |= scan_stats(records, options)
            stats |= {"bands": bands, "rows": rows} if options.method == "minhash" else {}
            stats |= cluster_decisions(spark, records, options, layout, work_dir)
    finally:
        records.unpersist()
    atomic_write_text(os.path.join(work_dir, "DONE.json"), json.dumps({"fingerprint": fp, "stats": stats}))
    return stats


def scan_stats(records, options: Any) -> dict[str, Any]:
    from pyspark.sql import functions as F

    docs = records.where(F.col("key").isNull())
    no_key = docs.where(~F.col("has_key")).count()
    seen = {row["source"] for row in docs.select("source").distinct().collect()}  # source names: a handful
    if set(options.priority) - seen:
        warnings.warn(f"dedup priority names no source of this corpus: {sorted(set(options.priority) - seen)}")
    return {"no_key": no_key}


# -- lines ------------------------------------------------------------------------------------------------------
def _write_sorted_part(folder: str):
    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        keys = [b.column(0).to_numpy(zero_copy_only=False) for b in batches]
        flat = np.sort(np.concatenate(keys).view(np.uint64)) if keys else np.empty(0, dtype=np.uint64)
        part = TaskContext.get().partitionId()

        def save(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, flat)

        _replace_atomically(os.path.join(folder, f"{part:05d}.npy"), save)
        yield pa.record_batch([arrow_numbers(np.array([flat.size], dtype=np.int64))], schema=KEY_SCHEMA)

    return write


def frequent_lines(records, options: Any, work_dir: str) -> dict[str, Any]:
    from pyspark.sql import functions as F

    counts = records.groupBy("key").count().persist()  # partial aggregation: a frequent line is one row per map task
    try:
        distinct = counts.count()
        frequent = counts.where(F.col("count") >= options.min_count).select("key")
        # unsigned order = signed order of the key with its top bit flipped; range partitions come out in order
        flipped = F.col("key").bitwiseXOR(F.lit(-(1 << 63)))
        folder = os.path.join(work_dir, "frequent_parts")
        os.makedirs(folder, exist_ok=True)
        ordered = frequent.orderBy(flipped)
        ordered.mapInArrow(_write_sorted_part(folder), KEY_DDL).collect()  # one count per partition
    finally:
        counts.unpersist()
    parts = sorted(p for p in os.listdir(folder) if p.endswith(".npy"))  # not a dead attempt's temporary file
    arrays = [np.load(os.path.join(folder, p), mmap_mode="r") for p in parts]
    total = sum(a.size for a in arrays)
    path = os.path.join(work_dir, "frequent_lines.npy")
    if total == 0:  # a memory map cannot be empty
        np.save(path, np.empty(0, dtype=np.uint64))
    else:
        out = np.lib.format.open_memmap(path, "w+", np.uint64, (total,))
        pos = 0
        for array in arrays:  # streamed: the driver never holds more than one part
            out[pos : pos + array.size] = array
            pos += array.size
        out.flush()
        del out
    del arrays
    shutil.rmtree(folder, ignore_errors=True)
    return {"distinct_lines": int(distinct), "frequent_lines": int(total)}


# -- exact / minhash --------------------------------------------------------------------------------------------
def candidate_edges(records, chain: bool):
    """Distinct edges (u < v): each bucket's smallest document to the others; with ``chain`` also neighbours."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = records.where(F.col("key").isNotNull()).select("key", "doc")
    first = keys.groupBy("key").agg(F.min("doc").alias("u"))  # partial aggregation: no hot key
    edges = skew_safe_join(keys, first, "key").where(F.col("u") != F.col("doc")).select("u", F.col("doc").alias("v"))
    if chain:
        prev = F.lag("doc").over(Window.partitionBy("key").orderBy("doc"))
        neighbours = keys.select(prev.alias("u"), F.col("doc").alias("v")).where(F.col("u").isNotNull())
        edges = edges.unionByName(neighbours.where(F.col("u") != F.col("v")))
    return edges.distinct()


def _verifier(options: Any, stage_dir: str):
    def verify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from jacorpus.corpus.dedup.candidates import PairVerifier

        verifier = PairVerifier(options, stage_dir)  # the local engine's verifier: the same pairs pass
        for batch in batches:  # edges sorted by u: u's shingle set serves its following edges from the cache
            us = batch.column("u").to_numpy(zero_copy_only=False).tolist()
            vs = batch.column("v").to_numpy(zero_copy_only=False).tolist()
            flags = arrow_numbers(np.array(verifier.accept(us, vs), dtype=bool))
            yield pa.record_batch([batch.column("u"), batch.column("v"), flags], names=["u", "v", "ok"])

    return verify


def verified_edges(spark, edges, options: Any, stage_dir: str):
    schema = "u long, v long, ok boolean"
    parts = int(spark.conf.get("spark.sql.shuffle.partitions"))
    ordered = edges.repartitionByRange(parts, "u").sortWithinPartitions("u", "v")
    return ordered.mapInArrow(_verifier(options, stage_dir), schema).persist()


def cluster_decisions(spark, records, options: Any, layout: StageLayout, work_dir: str) -> dict[str, Any]:
    from pyspark.sql import functions as F

    describe = spark.sparkContext.setJobDescription
    stats: dict[str, Any] = {}
    describe(f"dedup {options.method}: candidates")
    edges = candidate_edges(records, chain=options.verify).persist()
    checked = None
    try:
        if options.verify:
            describe(f"dedup {options.method}: verify")
            checked = verified_edges(spark, edges, options, layout.stage_dir)
            counts = {r["ok"]: r["count"] for r in checked.groupBy("ok").count().collect()}
            stats["candidate_pairs"] = counts.get(True, 0) + counts.get(False, 0)
            stats["verify_rejected"] = counts.get(False, 0)
            accepted = checked.where("ok").select("u", "v")
        else:
            stats["candidate_pairs"] = edges.count()
            accepted = edges
        describe(f"dedup {options.method}: connected components")
        members = connected_components(accepted)  # (node, root): root = smallest member, like UnionFind
        docs = records.where(F.col("key").isNull()).select(F.col("doc").alias("node"), "prio", "id")
        info = members.join(docs, "node").persist()  # one row per node on both sides: no skew
        clusters = info.groupBy("root").agg(
            F.min(F.struct("prio", "node", "id")).alias("k"), F.count(F.lit(1)).alias("size")
        ).persist()
        decided = skew_safe_join(info, clusters, "root").select(
            "node", "id", F.col("k.id").alias("keeper_id"), "size", (F.col("k.node") == F.col("node")).alias("keep")
        )
        describe(f"dedup {options.method}: decisions")
        write_decisions(decided, layout, work_dir)
        summary = clusters.agg(F.count(F.lit(1)).alias("n"), F.sum("size").alias("docs"), F.max("size").alias("max"))
        row = summary.collect()[0]
        clusters.unpersist()
        info.unpersist()
        stats["duplicates"] = int((row["docs"] or 0) - row["n"])
        stats["clusters"] = int(row["n"])
        stats["largest_cluster"] = int(row["max"] or (1 if layout.total else 0))
    finally:
        edges.unpersist()
        if checked is not None:
            checked.unpersist()
    return stats


def _decision_writer(folder: str, ranks: list[int]):
    def write(slot: int, rows: Iterator[tuple[int, tuple]]) -> Iterator[int]:
        items = sorted(row for _, row in rows)  # (row, id, keeper_id, size, keep), by row
        columns = list(zip(*items)) if items else [[], [], [], [], []]
        table = pa.Table.from_arrays([
            arrow_numbers(np.array(columns[0], dtype=np.int64)), pa.array(list(columns[1]), pa.string()),
            pa.array(list(columns[2]), pa.string()), arrow_numbers(np.array(columns[3], dtype=np.int64)),
            arrow_numbers(np.array(columns[4], dtype=bool)),
        ], schema=DECISION_SCHEMA)
        _write_ipc(os.path.join(folder, f"{ranks[slot]:05d}.arrow"), table)
        yield len(items)

    return write


def write_decisions(decided, layout: StageLayout, work_dir: str) -> None:
    """``decisions/<rank>.arrow`` for every rank (empty ones too), one Spark task per rank."""
    folder = os.path.join(work_dir, "decisions")
    os.makedirs(folder, exist_ok=True)
    starts, n = np.asarray(layout.starts, dtype=np.int64), len(layout.ranks)

    def addressed(row) -> tuple[int, tuple]:
        slot = int(np.searchsorted(starts, row["node"], side="right")) - 1
        return slot, (row["node"] - int(starts[slot]), row["id"], row["keeper_id"], row["size"], row["keep"])

    keyed = decided.rdd.map(addressed).partitionBy(max(n, 1), lambda slot: slot)
    keyed.mapPartitionsWithIndex(_decision_writer(folder, list(layout.ranks))).collect()
