"""Bounded-memory grouping of (key, document) records: spill to key-range partition files, then sort each one.

This is an external sort by key: records go to the partition holding their key range (keys are uniform hashes, so
partitions are even), every task appends to its own file per partition, and a partition is later loaded alone,
sorted and scanned for equal keys. Peak memory is one partition, sized from a memory budget; the union-find
array (8 bytes per document) is the only structure that grows with the corpus.
"""

from __future__ import annotations

import glob
import os

import numpy as np

KEY_DOC = np.dtype([("key", "<u8"), ("doc", "<i8")])
KEY_ONLY = np.dtype([("key", "<u8")])
WORK_FACTOR = 4  # a partition in memory: records + sort order + sorted copies


def partition_count(records: int, record_bytes: int, memory_mb: int) -> int:
    budget = max(1, memory_mb) * 1024 * 1024
    return max(1, -(-records * record_bytes * WORK_FACTOR // budget))


def partition_of(keys: np.ndarray, parts: int) -> np.ndarray:
    """Key range of each key: the top 32 bits scaled to [0, parts), so partition order is key order."""
    return (((keys >> np.uint64(32)) * np.uint64(parts)) >> np.uint64(32)).astype(np.int64)


def partition_dir(directory: str, part: int) -> str:
    return os.path.join(directory, f"p{part:05d}")


class SpillWriter:
    """One task's records, appended to ``<dir>/p<part>/r<rank>.bin``; leftovers of a crashed attempt removed."""

    def __init__(self, directory: str, rank: int, parts: int, dtype: np.dtype, flush_records: int = 1 << 20):
        self.directory, self.rank, self.parts, self.dtype = directory, rank, parts, dtype
        self.flush_records = flush_records
        self.pending: list[np.ndarray] = []
        self.pending_count = 0
        self.written = 0
        for part in range(parts):
            os.makedirs(partition_dir(directory, part), exist_ok=True)
            path = self._path(part)
            if os.path.exists(path):
                os.remove(path)

    def _path(self, part: int) -> str:
        return os.path.join(partition_dir(self.directory, part), f"r{self.rank:05d}.bin")

    def add(self, records: np.ndarray) -> None:
        if records.size:
            self.pending.append(records.astype(self.dtype, copy=False))
            self.pending_count += records.size
            if self.pending_count >= self.flush_records:
                self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        records = np.concatenate(self.pending)
        self.pending, self.pending_count = [], 0
        part = partition_of(records["key"], self.parts)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.parts + 1))
        for p in range(self.parts):
            chunk = records[order[bounds[p] : bounds[p + 1]]]
            if chunk.size:
                with open(self._path(p), "ab") as fh:
                    fh.write(chunk.tobytes())
        self.written += records.size

    def close(self) -> int:
        self.flush()
        return self.written


def read_partition(directory: str, part: int, dtype: np.dtype) -> np.ndarray:
    files = sorted(glob.glob(os.path.join(glob.escape(partition_dir(directory, part)), "r*.bin")))
    arrays = [np.fromfile(path, dtype=dtype) for path in files]
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)
