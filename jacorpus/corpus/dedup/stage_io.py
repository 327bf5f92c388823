"""Reading a finished stage's Arrow shards for dedup: row counts per task, column batches, rows by address.

A document's address is its dense index: the documents of task 0 in row order, then task 1, ... . Shards are
memory-mapped, so reading a column or a few rows back (for verify, or for keeper ids) costs no copy of the stage.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from jacorpus.corpus.shards import read_parts
from jacorpus.foundation import storage


def arrow_numbers(values: np.ndarray) -> pa.Array:
    """A numpy array as an Arrow array without ``pa.array`` (whose first call imports pandas: +50 MB resident)."""
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:  # Arrow packs booleans into bits, least significant first
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), values.size, [None, pa.py_buffer(bits)])
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), values.size, [None, pa.py_buffer(values)])


class StageLayout:
    """Tasks of a stage and where each task's rows start in the dense index."""

    def __init__(self, stage_dir: str) -> None:
        self.stage_dir = stage_dir
        parts = read_parts(stage_dir)
        self.ranks = [int(p["rank"]) for p in parts]
        self.rows = np.array([sum(s["rows"] for s in p["shards"]) for p in parts], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.rows)))[:-1].astype(np.int64)
        self.total = int(self.rows.sum())
        listing = [(p["rank"], [(s["file"], s["rows"], s.get("sha256")) for s in p["shards"]]) for p in parts]
        self.fingerprint = hashlib.sha256(repr(listing).encode()).hexdigest()[:24]

    def shard_bytes(self) -> int:
        """Bytes of the stage's shard files (sizes records a pass will spill before it has read anything)."""
        return sum(storage.size(path) for rank in self.ranks for path in rank_files(self.stage_dir, rank))

    def locate(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``ranks``, row within that task) of dense indices."""
        slot = np.searchsorted(self.starts, indices, side="right") - 1
        return slot, indices - self.starts[slot]


def rank_files(stage_dir: str, rank: int) -> list[str]:
    return storage.glob(storage.join(storage.escape(stage_dir), f"shard-{rank:05d}-*.arrow"))


def iter_rank_batches(
    stage_dir: str, rank: int, columns: list[str], max_text_bytes: int = 8 << 20
) -> Iterator[pa.RecordBatch]:
    """Batches in row order, read (not mapped: a long scan must not keep a whole shard's pages resident), cut so
    that no batch holds more than ``max_text_bytes`` of text (its shingles and signatures scale with it)."""
    for path in rank_files(stage_dir, rank):
        with (storage.open(path, "rb") if storage.is_url(path) else pa.OSFile(path)) as source:
            for batch in pa.ipc.open_stream(source):
                if batch.num_rows == 0:
                    continue
                batch = batch.select(columns)
                offsets = np.frombuffer(batch.column("text").buffers()[1], dtype=np.int32)
                offsets = offsets[batch.column("text").offset : batch.column("text").offset + batch.num_rows + 1]
                start = 0
                while start < batch.num_rows:
                    stop = int(np.searchsorted(offsets, offsets[start] + max_text_bytes, side="right")) - 1
                    stop = min(max(stop, start + 1), batch.num_rows)
                    yield batch.slice(start, stop - start)
                    start = stop


def read_rank_table(stage_dir: str, rank: int) -> pa.Table | None:
    tables = []
    for path in rank_files(stage_dir, rank):
        # zero-copy over the mapping (of a cached local copy, for a URL)
        tables.append(pa.ipc.open_stream(pa.memory_map(storage.local_copy(path))).read_all())
    return pa.concat_tables(tables) if tables else None


class RowFetcher:
    """Values of one column at dense indices, keeping a few memory-mapped task tables open."""

    def __init__(self, layout: StageLayout, cache_tables: int = 8) -> None:
        self.layout = layout
        self.cache: OrderedDict[int, pa.Table | None] = OrderedDict()
        self.cache_tables = cache_tables

    def _table(self, slot: int) -> pa.Table | None:
        if slot in self.cache:
            self.cache.move_to_end(slot)
            return self.cache[slot]
        table = read_rank_table(self.layout.stage_dir, self.layout.ranks[slot])
        self.cache[slot] = table
        if len(self.cache) > self.cache_tables:
            self.cache.popitem(last=False)
        return table

    def fetch_arrow(self, column: str, indices: np.ndarray) -> pa.Array:
        """Values at ``indices``, in that order, as one Arrow array."""
        indices = np.asarray(indices, dtype=np.int64)
        slots, rows = self.layout.locate(indices)
        order = np.argsort(slots, kind="stable")
        chunks = []
        for slot in np.unique(slots).tolist():
            where = order[slots[order] == slot]
            chunks.append(self._table(slot).column(column).take(arrow_numbers(rows[where])))
        if not chunks:
            return pa.nulls(0, pa.string())  # id and text, the columns fetched
        grouped = pa.concat_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in chunks])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        return grouped.take(arrow_numbers(inverse))

    def fetch(self, column: str, indices: np.ndarray) -> list[Any]:
        return self.fetch_arrow(column, indices).to_pylist()
