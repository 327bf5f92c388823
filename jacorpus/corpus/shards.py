"""Size-bounded Arrow/Parquet shards, written atomically, that together form a Hugging Face saved dataset.

Each task (rank) writes ``shard-<rank>-<n>.<ext>`` files: a shard is written under a temporary name and renamed
when complete, so a crash never leaves a half shard that looks whole. Before writing, a task removes shards a
crashed earlier attempt of the same rank left behind, so a rerun neither duplicates nor loses rows. The task's
ledger and shard list are saved last, as ``<dir>/.jacorpus/parts/<rank>.json``: its presence marks the task done.

The directory may be a URL (``s3://...``, ``foundation/storage.py``): a shard is then staged in a local temporary
file and uploaded under its final name once complete (an object store shows an object whole or not at all).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline

from jacorpus.corpus.document import CORE_FIELDS, DROPPED_FIELDS
from jacorpus.corpus.steps import JaStep
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text, disk_error, file_sha256, temporary_path

DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024
BATCH_ROWS = 1000


def document_row(doc: Document, annotation_names: list[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    md = doc.metadata
    meta = dict(md.get("meta") or {})
    for key, value in md.items():  # anything a step stored without declaring it stays visible, in metadata
        if key not in ("source", "origin", "meta") and key not in annotation_names:
            meta[key] = value
    row = {
        "id": doc.id,
        "text": doc.text,
        "source": md.get("source"),
        "origin": md.get("origin"),
        "metadata": orjson.dumps(meta, default=str, option=orjson.OPT_SORT_KEYS).decode() if meta else "{}",
    }
    for name in annotation_names:
        row[name] = md.get(name)
    if extra:
        row.update(extra)
    return row


class RollingShardFile:
    """Appends rows to the current shard and starts a new one past ``max_bytes``."""

    def __init__(self, directory: str, prefix: str, schema: pa.Schema, fmt: str, max_bytes: int) -> None:
        self.directory, self.prefix, self.schema, self.fmt, self.max_bytes = directory, prefix, schema, fmt, max_bytes
        self.rows: list[dict[str, Any]] = []
        self.buffered_bytes = 0
        self.writer: Any = None
        self.tmp_path = self.final_path = ""
        self.shard_rows = self.shard_bytes = 0
        self.done: list[dict[str, Any]] = []
        storage.makedirs(directory)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.buffered_bytes += len(row["text"]) * 3 + 200  # UTF-8 upper bound for Japanese, plus other columns
        full = self.shard_bytes + self.buffered_bytes >= self.max_bytes
        if full or len(self.rows) >= BATCH_ROWS or self.buffered_bytes >= 32 * 1024 * 1024:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        with self._disk_errors():
            if self.writer is None:
                self._open()
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.shard_rows += len(self.rows)
        self.shard_bytes += self.buffered_bytes
        self.rows, self.buffered_bytes = [], 0
        if self.shard_bytes >= self.max_bytes:
            self._close()

    @contextlib.contextmanager
    def _disk_errors(self):
        """A full disk or a read-only folder: the half-written temporary shard is removed (only whole shards ever
        carry a final name) and the error names the file."""
        try:
            yield
        except OSError as exc:
            if self.writer is not None:
                with contextlib.suppress(Exception):
                    self.writer.close()
                self.writer = None
            with contextlib.suppress(OSError):
                os.remove(self.tmp_path)
            raise disk_error(exc, f"cannot write shard {self.final_path}") from exc

    def _open(self) -> None:
        ext = "parquet" if self.fmt == "parquet" else "arrow"
        self.final_path = storage.join(self.directory, f"{self.prefix}-{len(self.done):05d}.{ext}")
        # streamed into, renamed (uploaded, for a URL) when the shard is complete
        remote = storage.is_url(self.final_path)
        self.tmp_path = storage.local_temp_path(self.final_path) if remote else temporary_path(self.final_path)
        if self.fmt == "parquet":
            self.writer = pq.ParquetWriter(self.tmp_path, self.schema)
        else:  # datasets' save_to_disk format: the Arrow IPC stream format
            self.writer = pa.ipc.new_stream(pa.OSFile(self.tmp_path, "wb"), self.schema)
        self.shard_rows = self.shard_bytes = 0

    def _close(self) -> None:
        with self._disk_errors():
            self.writer.close()
            self.writer = None
            with open(self.tmp_path, "rb+") as fh:  # on disk before the rename commits it (power loss)
                os.fsync(fh.fileno())
            entry = {"file": os.path.basename(self.final_path), "rows": self.shard_rows,
                     "bytes": os.path.getsize(self.tmp_path), "sha256": file_sha256(self.tmp_path)}
            if storage.is_url(self.final_path):
                storage.upload(self.tmp_path, self.final_path)
                os.remove(self.tmp_path)
            else:
                os.replace(self.tmp_path, self.final_path)
        self.done.append(entry)

    def close(self) -> list[dict[str, Any]]:
        self.flush()
        if self.writer is not None:
            self._close()
        return self.done


def peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes: with the local engine, of this task alone (each task
    runs in a process of its own); saved in the task's part for the memory bound (docs/engines.md)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def task_peak_rss(directory: str) -> dict[int, int]:
    """Rank -> peak RSS of every finished task of the stages under ``directory`` (an output folder)."""
    peaks: dict[int, int] = {}
    pattern = os.path.join(glob.escape(directory), "**", ".jacorpus", "parts", "*.json")
    for path in glob.glob(pattern, recursive=True) + glob.glob(os.path.join(glob.escape(directory), ".jacorpus", "parts", "*.json")):
        with open(path, encoding="utf-8") as fh:
            part = json.load(fh)
        peaks[part["rank"]] = max(peaks.get(part["rank"], 0), part.get("peak_rss_bytes", 0))
    return peaks


def remove_task_leftovers(directory: str, prefix: str) -> None:
    for path in storage.glob(storage.join(storage.escape(directory), f"{prefix}-*")):
        storage.remove(path)


class DroppedShards:
    """A task's drop sink (``TaskContext.drop_sink``): dropped documents with their reason, as shards of their own.
    Created with the task's context, before any step runs, so no drop can precede it."""

    def __init__(self, directory: str, prefix: str, schema: pa.Schema, fmt: str, max_bytes: int,
                 annotation_names: list[str]) -> None:
        remove_task_leftovers(directory, prefix)
        self.file = RollingShardFile(directory, prefix, schema, fmt, max_bytes)
        self.names = annotation_names

    def __call__(self, doc: Document, reason: str, extra: dict[str, Any]) -> None:
        self.file.add(document_row(doc, self.names, {"reason": reason, "duplicate_of": extra.get("duplicate_of")}))

    def close(self) -> list[dict[str, Any]]:
        return self.file.close()


def iter_task_rows(directory: str, rank: int):
    """Rows of the shards task ``rank`` wrote into ``directory`` (arrow stream files), in order."""
    for path in storage.glob(storage.join(storage.escape(directory), f"shard-{rank:05d}-*.arrow")):
        with (storage.open(path, "rb") if storage.is_url(path) else pa.memory_map(path)) as source:
            for batch in pa.ipc.open_stream(source):
                yield from batch.to_pylist()


class ShardWriter(JaStep):
    """Last step of a stage: writes kept documents (and dropped ones when asked), then the task's ledger part."""

    name = "write"
    type = "💽 - WRITER"

    def __init__(
        self,
        directory: str,
        annotation_fields: dict[str, pa.DataType],
        fmt: str = "arrow",
        max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
        keep_dropped: bool = False,
        dropped_directory: str | None = None,
        count_kept: bool = True,
        stage: int = 0,
    ) -> None:
        super().__init__()
        self.directory, self.fmt, self.max_shard_bytes = directory, fmt, max_shard_bytes
        self.annotation_fields = dict(annotation_fields)
        self.keep_dropped = keep_dropped
        self.dropped_directory = dropped_directory or os.path.join(directory, "dropped")
        self.count_kept = count_kept  # intermediate stages pass documents on; only the final stage counts them
        self.stage = stage

    def schema(self, dropped: bool = False) -> pa.Schema:
        fields = dict(CORE_FIELDS) | self.annotation_fields
        if dropped:
            fields |= DROPPED_FIELDS
        return pa.schema([pa.field(k, v) for k, v in fields.items()])

    def drop_sink(self, dropped_directory: str | None, rank: int) -> DroppedShards | None:
        """The drop sink of task ``rank`` (None unless output.keep_dropped is on)."""
        if not self.keep_dropped:
            return None
        return DroppedShards(dropped_directory or self.dropped_directory, f"shard-s{self.stage}-{rank:05d}",
                             self.schema(True), self.fmt, self.max_shard_bytes, list(self.annotation_fields))

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        context = self.context
        directory = context.output_dir or self.directory
        names = list(self.annotation_fields)
        prefix = f"shard-{rank:05d}"
        remove_task_leftovers(directory, prefix)
        kept = RollingShardFile(directory, prefix, self.schema(), self.fmt, self.max_shard_bytes)
        for doc in data or ():
            if self.count_kept:
                self.ledger.kept(doc)
            kept.add(document_row(doc, names))
        part = self.ledger.to_dict() | {"rank": rank, "shards": kept.close(), "peak_rss_bytes": peak_rss()}
        if context.drop_sink is not None:
            part["dropped_shards"] = context.drop_sink.close()
        parts_dir = storage.join(directory, ".jacorpus", "parts")
        storage.makedirs(parts_dir)
        atomic_write_text(storage.join(parts_dir, f"{rank:05d}.json"), json.dumps(part, ensure_ascii=False))
        return
        yield  # a generator, so datatrove chains it like any writer


def read_parts(directory: str) -> list[dict[str, Any]]:
    parts_dir = storage.join(directory, ".jacorpus", "parts")
    parts = []
    for path in storage.glob(storage.join(storage.escape(parts_dir), "*.json")):
        parts.append(json.loads(storage.read_text(path)))
    return sorted(parts, key=lambda p: p["rank"])


def write_saved_dataset(directory: str, shard_files: list[str], schema: pa.Schema, fmt: str) -> None:
    """Make ``directory`` loadable with ``datasets.load_from_disk`` (arrow) by writing state.json/dataset_info.json."""
    from datasets import Features

    features = Features.from_arrow_schema(schema)
    info = {"citation": "", "description": "", "features": features.to_dict(), "homepage": "", "license": ""}
    atomic_write_text(storage.join(directory, "dataset_info.json"), json.dumps(info, indent=2))
    if fmt != "arrow":
        return
    fingerprint = hashlib.sha256("\n".join(shard_files).encode()).hexdigest()[:16]
    state = {
        "_data_files": [{"filename": name} for name in shard_files],
        "_fingerprint": fingerprint,
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    atomic_write_text(storage.join(directory, "state.json"), json.dumps(state, indent=2))
