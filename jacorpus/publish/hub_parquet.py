"""The Parquet files a dataset card points at: the corpus' shards coalesced into few size-bounded files, with
published ``origin`` names (``public_paths.py``).

A run writes at least one shard per input file (one task per file), so a 331-document corpus from 27 files had 27
tiny shards; the Hub's viewer and ``load_dataset`` are better served by a few files of about ``max_bytes`` (Arrow
bytes, before Parquet compression; 500 MB as ``datasets.push_to_hub`` uses), cut between rows. Rows keep the corpus
order. Files are
written under temporary names and renamed when all are complete; earlier ``train-*.parquet`` files are removed.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from jacorpus.foundation.atomic_files import temporary_path
from jacorpus.publish.public_paths import PublicNames

DEFAULT_MAX_FILE_BYTES = 500 * 1000 * 1000
ROW_GROUP_BYTES = 64 << 20  # rows buffered before a Parquet row group is written (bounds memory)


def shard_batches(path: str) -> Iterator[pa.RecordBatch]:
    if path.endswith(".parquet"):
        yield from pq.ParquetFile(path).iter_batches()
        return
    with pa.memory_map(path) as source:
        yield from pa.ipc.open_stream(source)


def public_batch(batch: pa.RecordBatch, names: PublicNames, cache: dict[tuple[str, str], str]) -> pa.RecordBatch:
    if "origin" not in batch.schema.names:
        return batch
    sources, origins = batch.column("source").to_pylist(), batch.column("origin").to_pylist()
    public = []
    for source, origin in zip(sources, origins):
        if origin is None:
            public.append(None)
            continue
        shown, sep, locator = origin.rpartition("#")
        key = (source, shown if sep else origin)
        if key not in cache:
            cache[key] = names.file(source, key[1])
        public.append(f"{cache[key]}#{locator}" if sep else cache[key])
    index = batch.schema.get_field_index("origin")
    return batch.set_column(index, batch.schema.field(index), pa.array(public, type=pa.string()))


class RollingParquet:
    """Appends batches to temporary Parquet files, a new file past ``max_bytes``; row groups of about
    ``ROW_GROUP_BYTES``."""

    def __init__(self, out_dir: str, schema: pa.Schema, max_bytes: int) -> None:
        self.out_dir, self.schema, self.max_bytes = out_dir, schema, max_bytes
        self.files: list[str] = []
        self.writer: pq.ParquetWriter | None = None
        self.file_bytes = self.buffered_bytes = 0
        self.buffer: list[pa.RecordBatch] = []

    def add(self, batch: pa.RecordBatch) -> None:
        """Rows go to the current file while it has room; a batch is cut at the row that would overflow it (a
        single row larger than the bound gets a file of its own)."""
        while batch.num_rows:
            room = self.max_bytes - self.file_bytes - self.buffered_bytes
            if batch.nbytes <= room:
                part, batch = batch, batch.slice(batch.num_rows)
            else:
                rows = rows_that_fit(batch, room)
                if rows == 0 and (self.buffer or self.file_bytes):
                    self.flush()
                    self.close()
                    continue
                part, batch = batch.slice(0, max(rows, 1)), batch.slice(max(rows, 1))
            self.buffer.append(part)
            self.buffered_bytes += part.nbytes
            if self.file_bytes + self.buffered_bytes >= self.max_bytes:
                self.flush()
                self.close()
            elif self.buffered_bytes >= ROW_GROUP_BYTES:
                self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.writer is None:
            self.files.append(temporary_path(os.path.join(self.out_dir, f"part-{len(self.files):05d}.parquet")))
            self.writer = pq.ParquetWriter(self.files[-1], self.schema)
        self.writer.write_table(pa.Table.from_batches(self.buffer, schema=self.schema))
        self.file_bytes += self.buffered_bytes
        self.buffer, self.buffered_bytes = [], 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer, self.file_bytes = None, 0

    def finish(self) -> list[str]:
        self.flush()
        self.close()
        if not self.files:  # an empty corpus is still one loadable file
            self.files.append(temporary_path(os.path.join(self.out_dir, "part-00000.parquet")))
            pq.write_table(self.schema.empty_table(), self.files[-1])
        return self.files

    def discard(self) -> None:
        self.close()
        for path in self.files:
            if os.path.exists(path):
                os.remove(path)


def rows_that_fit(batch: pa.RecordBatch, room: int) -> int:
    """The most leading rows of ``batch`` whose bytes fit in ``room`` (binary search: rows differ in size)."""
    low, high = 0, batch.num_rows
    while low < high:
        mid = (low + high + 1) // 2
        if batch.slice(0, mid).nbytes <= room:
            low = mid
        else:
            high = mid - 1
    return low


def export_parquet(directory: str, manifest: dict[str, Any], max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[str]:
    """Write ``DIR/data/train-XXXXX-of-YYYYY.parquet``; returns their paths relative to DIR."""
    names = PublicNames.of_manifest(manifest)
    out_dir = os.path.join(directory, "data")
    os.makedirs(out_dir, exist_ok=True)
    shards = [os.path.join(directory, s["file"]) for s in manifest["shards"]]
    # every shard has the writer's schema; an empty Parquet corpus has no shard, its features are in dataset_info.json
    schema = shard_schema(shards[0]) if shards else info_schema(directory)
    out = RollingParquet(out_dir, schema, max_bytes)
    cache: dict[tuple[str, str], str] = {}
    try:
        for path in shards:
            for batch in shard_batches(path):
                if batch.num_rows:
                    out.add(public_batch(batch, names, cache))
        written = out.finish()
    except BaseException:
        out.discard()
        raise
    final = [f"data/train-{i:05d}-of-{len(written):05d}.parquet" for i in range(len(written))]
    for stale in glob.glob(os.path.join(glob.escape(out_dir), "train-*.parquet")):
        if os.path.relpath(stale, directory).replace(os.sep, "/") not in final:
            os.remove(stale)
    for tmp, name in zip(written, final):
        os.replace(tmp, os.path.join(directory, name))
    return final


def info_schema(directory: str) -> pa.Schema:
    import json

    from datasets import Features

    with open(os.path.join(directory, "dataset_info.json"), encoding="utf-8") as fh:
        return Features.from_dict(json.load(fh)["features"]).arrow_schema


def shard_schema(path: str) -> pa.Schema:
    if path.endswith(".parquet"):
        return pq.read_schema(path)
    with pa.memory_map(path) as source:
        return pa.ipc.open_stream(source).schema
