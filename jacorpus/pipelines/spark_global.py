"""A global pass (``corpus/global_pass.py``) on Spark executors; it writes the very files the local engine writes.

- scan: one Spark task per stage task (``spark.range(n, numPartitions=n).mapInArrow``) running the step's own
  ``global_scan``; its keyed records come out as a DataFrame.
- ``KeyCounts``: a partial-aggregated group-by key (count, smallest document); the keys seen often enough are
  range-sorted and written in parts that the driver hands to the step, in key order, memory-mapped.
- ``Clusters``: each bucket links its smallest document to every other member (star edges: O(n) edges for a bucket
  of n, never all pairs), plus neighbours in document order when verifying (as ``lsh.bucket_edges``); verify: edges
  range-partitioned by their first document and sorted, checked by the step's ``pair_verifier``; connected
  components: large-star / small-star (``spark_graph.py``); keepers: ``min((priority, address, id))`` per component,
  as ``clusters.choose_keepers``; ``decisions/<rank>.arrow`` written by one task per rank.

Skew: per-key aggregations (bucket minimum, neighbour minimum, counts) are combined map-side, so a giant bucket or
cluster sends at most one value per partition to its key. The joins that hand those values back to the members
(bucket -> members, hub -> neighbours, root -> members) go through ``skew_safe_join``: a key with more rows than
``spark.jacorpus.dedup.heavyKeyRows`` is joined map-side against a broadcast of its one row, so a giant cluster
is not one task's work (Spark's adaptive skew join does not apply: one side is an aggregate). pyspark is imported
inside functions (the CLI imports this package at startup).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
import pyarrow as pa

from jacorpus.corpus.dedup.stage_io import StageLayout, arrow_numbers
from jacorpus.corpus.global_pass import (
    ClusterResult, GlobalPassPlan, KeyCountChunk, KeyCountResult, ScanSummary, ShardScan, write_rank_decisions,
)
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_output
from jacorpus.pipelines.spark_graph import connected_components, skew_safe_join

SPARK_TYPES = {pa.int64(): "long", pa.int32(): "int", pa.string(): "string", pa.bool_(): "boolean"}


def spark_ddl(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name} {SPARK_TYPES[f.type]}" for f in schema)


class SparkReducer:
    """``global_pass.Reducer`` on a Spark session. ``faults`` (tests): called as ``global:<rank>`` after a scan
    task streamed its records; it may raise, and Spark retries the task."""

    def __init__(self, spark, faults: Callable[[str], None] | None = None) -> None:
        self.spark, self.faults = spark, faults

    def start(self, work_dir: str, fingerprint: str, plan: GlobalPassPlan) -> None:
        storage.rmtree(work_dir)  # no partial state is reused: a Spark pass reruns whole
        storage.makedirs(work_dir)

    def scan(self, step: Any, layout: StageLayout, work_dir: str, schema: pa.Schema):
        """Records of every stage task: one Spark task per stage task (``range`` puts value i in partition i)."""
        self.spark.sparkContext.setJobDescription(f"{step.name}: scan")
        n = len(layout.ranks)
        slots = self.spark.range(0, n, 1, numPartitions=max(n, 1))
        return slots.mapInArrow(_scanner(step, layout, work_dir, schema, self.faults), spark_ddl(schema))

    def key_counts(self, step: Any, layout: StageLayout, work_dir: str, plan: GlobalPassPlan) -> KeyCountResult:
        from pyspark.sql import functions as F

        spec = plan.reduction
        records = self.scan(step, layout, work_dir, spec.schema)
        aggregates = [F.count(F.lit(1)).alias("count")] + ([F.min("doc").alias("first")] if spec.first_doc else [])
        counts = records.groupBy("key").agg(*aggregates).persist()  # partial aggregation: one row per map task
        folder = storage.join(work_dir, "count_parts")
        try:
            distinct = counts.count()
            frequent = counts.where(F.col("count") >= spec.min_count)
            # unsigned order = signed order of the key with its top bit flipped; range partitions come out in order
            ordered = frequent.orderBy(F.col("key").bitwiseXOR(F.lit(-(1 << 63))))
            storage.makedirs(folder)
            ordered.mapInArrow(_write_sorted_part(folder, spec.first_doc), "key long").collect()
        finally:
            counts.unpersist()
        chunks = []
        for name in sorted(p for p in storage.listdir(folder) if p.endswith(".keys.npy")):  # not a dead attempt's
            base = storage.join(folder, name[: -len(".keys.npy")])
            load = lambda kind: np.load(storage.local_copy(f"{base}.{kind}.npy"), mmap_mode="r")  # noqa: E731
            chunks.append(KeyCountChunk(load("keys"), load("counts"), load("firsts") if spec.first_doc else None))
        return KeyCountResult(chunks, int(distinct), ScanSummary(0, set()))

    def clusters(self, step: Any, layout: StageLayout, work_dir: str, plan: GlobalPassPlan) -> ClusterResult:
        records = self.scan(step, layout, work_dir, plan.reduction.schema).persist()
        try:
            summary = scan_summary(records)
            return cluster_decisions(self.spark, records, step, plan.reduction.verify, layout, work_dir, summary)
        finally:
            records.unpersist()


def _scanner(step: Any, layout: StageLayout, work_dir: str, schema: pa.Schema, faults):
    stage_dir, ranks, starts = layout.stage_dir, list(layout.ranks), [int(s) for s in layout.starts]

    def scan(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for slot in batch.column(0).to_pylist():
                rank = ranks[slot]
                for records in step.global_scan(ShardScan(stage_dir, work_dir, rank, starts[slot])):
                    yield records
                if faults is not None:
                    faults(f"global:{rank}")

    return scan


def scan_summary(records) -> ScanSummary:
    from pyspark.sql import functions as F

    docs = records.where(F.col("key").isNull())
    no_key = docs.where(~F.col("has_key")).count()
    seen = {row["source"] for row in docs.select("source").distinct().collect()}  # source names: a handful
    return ScanSummary(no_key, seen)


# -- KeyCounts ----------------------------------------------------------------------------------------------------
def _write_sorted_part(folder: str, first_doc: bool):
    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        tables = [pa.Table.from_batches([b]) for b in batches]
        table = pa.concat_tables(tables) if tables else None
        keys = table.column("key").to_numpy().view(np.uint64) if table is not None else np.empty(0, np.uint64)
        order = np.argsort(keys, kind="stable")
        columns = {"keys": keys[order]}
        columns["counts"] = (table.column("count").to_numpy()[order] if table is not None
                             else np.empty(0, np.int64)).astype(np.int64)
        if first_doc:
            columns["firsts"] = (table.column("first").to_numpy()[order] if table is not None
                                 else np.empty(0, np.int64)).astype(np.int64)
        part = TaskContext.get().partitionId()
        for kind in sorted(columns, reverse=True):  # "keys" last: its presence marks the part complete
            with atomic_output(storage.join(folder, f"{part:05d}.{kind}.npy")) as tmp, open(tmp, "wb") as fh:
                np.save(fh, columns[kind])
        yield pa.record_batch([arrow_numbers(np.array([keys.size], dtype=np.int64))], names=["key"])

    return write


# -- Clusters -----------------------------------------------------------------------------------------------------
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


def _verifier(step: Any, stage_dir: str):
    def verify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        verifier = step.pair_verifier(stage_dir)  # the local engine's verifier: the same pairs pass
        for batch in batches:  # edges sorted by u: u's shingle set serves its following edges from the cache
            us = batch.column("u").to_numpy(zero_copy_only=False).tolist()
            vs = batch.column("v").to_numpy(zero_copy_only=False).tolist()
            flags = arrow_numbers(np.array(verifier.accept(us, vs), dtype=bool))
            yield pa.record_batch([batch.column("u"), batch.column("v"), flags], names=["u", "v", "ok"])

    return verify


def verified_edges(spark, edges, step: Any, stage_dir: str):
    schema = "u long, v long, ok boolean"
    parts = int(spark.conf.get("spark.sql.shuffle.partitions"))
    ordered = edges.repartitionByRange(parts, "u").sortWithinPartitions("u", "v")
    return ordered.mapInArrow(_verifier(step, stage_dir), schema).persist()


def cluster_decisions(spark, records, step: Any, verify: bool, layout: StageLayout, work_dir: str,
                      summary: ScanSummary) -> ClusterResult:
    from pyspark.sql import functions as F

    describe = spark.sparkContext.setJobDescription
    describe(f"{step.name}: candidates")
    edges = candidate_edges(records, chain=verify).persist()
    checked, rejected = None, None
    try:
        if verify:
            describe(f"{step.name}: verify")
            checked = verified_edges(spark, edges, step, layout.stage_dir)
            counts = {r["ok"]: r["count"] for r in checked.groupBy("ok").count().collect()}
            candidate_pairs = counts.get(True, 0) + counts.get(False, 0)
            rejected = counts.get(False, 0)
            accepted = checked.where("ok").select("u", "v")
        else:
            candidate_pairs = edges.count()
            accepted = edges
        describe(f"{step.name}: connected components")
        members = connected_components(accepted)  # (node, root): root = smallest member, like UnionFind
        docs = records.where(F.col("key").isNull()).select(F.col("doc").alias("node"), "prio", "id")
        info = members.join(docs, "node").persist()  # one row per node on both sides: no skew
        clusters = info.groupBy("root").agg(
            F.min(F.struct("prio", "node", "id")).alias("k"), F.count(F.lit(1)).alias("size")
        ).persist()
        decided = skew_safe_join(info, clusters, "root").select(
            "node", "id", F.col("k.id").alias("keeper_id"), "size", (F.col("k.node") == F.col("node")).alias("keep")
        )
        describe(f"{step.name}: decisions")
        write_decisions(decided, layout, work_dir)
        summary_row = clusters.agg(F.count(F.lit(1)).alias("n"), F.sum("size").alias("docs"),
                                   F.max("size").alias("max")).collect()[0]
        clusters.unpersist()
        info.unpersist()
    finally:
        edges.unpersist()
        if checked is not None:
            checked.unpersist()
    return ClusterResult(
        candidate_pairs=int(candidate_pairs), verify_rejected=rejected,
        duplicates=int((summary_row["docs"] or 0) - summary_row["n"]), clusters=int(summary_row["n"]),
        largest_cluster=int(summary_row["max"] or (1 if layout.total else 0)), scan=summary,
    )


def _decision_writer(work_dir: str, ranks: list[int]):
    def write(slot: int, rows: Iterator[tuple[int, tuple]]) -> Iterator[int]:
        items = sorted(row for _, row in rows)  # (row, id, keeper_id, size, keep), by row
        columns = list(zip(*items)) if items else [[], [], [], [], []]
        write_rank_decisions(
            work_dir, ranks[slot], np.array(columns[0], dtype=np.int64), pa.array(list(columns[1]), pa.string()),
            pa.array(list(columns[2]), pa.string()), np.array(columns[3], dtype=np.int64),
            np.array(columns[4], dtype=bool),
        )
        yield len(items)

    return write


def write_decisions(decided, layout: StageLayout, work_dir: str) -> None:
    """``decisions/<rank>.arrow`` for every rank (empty ones too), one Spark task per rank."""
    starts, n = np.asarray(layout.starts, dtype=np.int64), len(layout.ranks)

    def addressed(row) -> tuple[int, tuple]:
        slot = int(np.searchsorted(starts, row["node"], side="right")) - 1
        return slot, (row["node"] - int(starts[slot]), row["id"], row["keeper_id"], row["size"], row["keep"])

    keyed = decided.rdd.map(addressed).partitionBy(max(n, 1), lambda slot: slot)
    keyed.mapPartitionsWithIndex(_decision_writer(work_dir, list(layout.ranks))).collect()
