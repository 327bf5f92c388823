"""Reading a finished corpus folder (what ``jacorpus corpus run`` wrote): its manifest, shards and texts.

A folder is either an Arrow saved dataset (``state.json`` lists its ``shard-*.arrow`` files, Arrow IPC streams) or a
folder of ``shard-*.parquet`` files; both readers below take either, so no area reads only one of the two formats.
- ``open_corpus``: a ``datasets.Dataset`` (random access by row; memory-mapped);
- ``iter_corpus_texts``: texts streamed batch by batch, one batch from each shard in turn, so a cap on what is read
  samples every shard (every source) instead of only the first ones; nothing is loaded whole.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Any, Iterable, Iterator

BATCH_ROWS = 256


def load_manifest(directory: str) -> dict[str, Any]:
    """``directory/manifest.json``; the directory may be a URL (s3://..., see ``foundation/storage.py``)."""
    from jacorpus.foundation import storage

    path = storage.join(directory, "manifest.json")
    if not storage.exists(path):
        raise FileNotFoundError(f"no manifest.json in {directory}: not a finished jacorpus output")
    return json.loads(storage.read_text(path))


def corpus_shard_files(directory: str) -> list[str]:
    """The shard files of a corpus folder, in order (``state.json``'s list when there is one)."""
    state = os.path.join(directory, "state.json")
    if os.path.exists(state):
        with open(state, encoding="utf-8") as fh:
            files = [entry["filename"] for entry in json.load(fh).get("_data_files", [])]
        return [os.path.join(directory, name) for name in files]
    pattern = os.path.join(glob.escape(directory), "*")
    found = sorted(p for p in glob.glob(pattern) if p.endswith((".arrow", ".parquet")))
    return [path for path in found if not os.path.basename(path).startswith(".")]


def is_corpus_dir(path: str) -> bool:
    return os.path.isdir(path) and (os.path.exists(os.path.join(path, "state.json")) or bool(corpus_shard_files(path)))


def open_corpus(path: str):
    """A corpus folder as a ``datasets.Dataset``: the Arrow format is a saved dataset; Parquet shards are read
    through datasets' parquet loader (memory-mapped via its cache)."""
    from datasets import load_dataset, load_from_disk

    if os.path.exists(os.path.join(path, "state.json")):
        return load_from_disk(path)
    files = [p for p in corpus_shard_files(path) if p.endswith(".parquet")]
    if not files:
        raise FileNotFoundError(f"{path} is neither a saved dataset (state.json) nor a folder of Parquet shards")
    return load_dataset("parquet", data_files=files, split="train")


def iter_shard_batches(path: str, column: str = "text", batch_rows: int = BATCH_ROWS) -> Iterator[list[Any]]:
    """Values of one column of one shard (Parquet, Arrow stream or Arrow file), ``batch_rows`` at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.endswith(".parquet"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=[column]):
            yield batch.column(0).to_pylist()
        return
    with pa.memory_map(path) as source:
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowInvalid:  # an Arrow file (random-access format) rather than a stream
            reader = pa.ipc.open_file(source)
            batches: Iterable = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            batches = reader
        for batch in batches:
            values = batch.column(batch.schema.get_field_index(column))
            for start in range(0, len(values), batch_rows):
                yield values.slice(start, batch_rows).to_pylist()


def iter_corpus_texts(directory: str) -> Iterator[str]:
    """Non-empty texts of a corpus folder, one batch from each shard in turn."""
    readers = [iter_shard_batches(path) for path in corpus_shard_files(directory)]
    while readers:
        alive = []
        for reader in readers:
            batch = next(reader, None)
            if batch is None:
                continue
            alive.append(reader)
            yield from (text for text in batch if text)
        readers = alive
