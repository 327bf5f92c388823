"""Documents' text streamed from a jacorpus output directory or from text files, under a sampling cap.

A corpus directory (a Hugging Face saved dataset of Arrow or Parquet shards) is read batch by batch, taking one batch
from each shard in turn so that a cap samples every shard (every source) instead of only the first ones; nothing is
loaded whole, so a 100 GB corpus costs the memory of a few batches. Text files hold one document per blank-line
separated block (``split="blank_line"``) or per line.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from typing import Iterable, Iterator, Literal

TEXT_SUFFIXES = (".txt", ".txt.gz", ".txt.bz2", ".txt.xz", ".txt.zst", ".text")
BATCH_ROWS = 256


@dataclass
class SampleCap:
    """Stop after this many documents or characters (None: no limit)."""

    documents: int | None = None
    characters: int | None = None


def is_corpus_dir(path: str) -> bool:
    return os.path.isdir(path) and (
        os.path.exists(os.path.join(path, "state.json")) or bool(_shard_files(path))
    )


def _shard_files(directory: str) -> list[str]:
    state = os.path.join(directory, "state.json")
    if os.path.exists(state):
        with open(state, encoding="utf-8") as fh:
            files = [entry["filename"] for entry in json.load(fh).get("_data_files", [])]
        return [os.path.join(directory, name) for name in files]
    found = sorted(glob.glob(os.path.join(directory, "*.arrow")) + glob.glob(os.path.join(directory, "*.parquet")))
    return [path for path in found if not os.path.basename(path).startswith(".")]


def _shard_batches(path: str) -> Iterator[list[str | None]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.endswith(".parquet"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=["text"]):
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
            column = batch.column(batch.schema.get_field_index("text"))
            for start in range(0, len(column), BATCH_ROWS):
                yield column.slice(start, BATCH_ROWS).to_pylist()


def iter_corpus_dir(directory: str) -> Iterator[str]:
    """Texts of a corpus directory, one batch from each shard in turn."""
    readers = [_shard_batches(path) for path in _shard_files(directory)]
    while readers:
        alive = []
        for reader in readers:
            batch = next(reader, None)
            if batch is None:
                continue
            alive.append(reader)
            yield from (text for text in batch if text)
        readers = alive


def iter_text_file(path: str, split: Literal["blank_line", "line"] = "blank_line") -> Iterator[str]:
    from jacorpus.corpus.sources.compression import iter_lines

    block: list[str] = []
    for _, _, line in iter_lines(path):
        if split == "line":
            if line.strip():
                yield line
        elif line.strip():
            block.append(line)
        elif block:
            yield "\n".join(block)
            block = []
    if block:
        yield "\n".join(block)


def _text_files(directory: str) -> list[str]:
    found = [p for p in glob.glob(os.path.join(directory, "**", "*"), recursive=True) if p.endswith(TEXT_SUFFIXES)]
    return sorted(found)


def iter_texts(
    paths: Iterable[str], cap: SampleCap | None = None, split: Literal["blank_line", "line"] = "blank_line"
) -> Iterator[str]:
    """Documents of every path (corpus directories, text files, folders of text files), until the cap is reached."""
    cap = cap or SampleCap()
    documents = characters = 0
    for path in paths:
        if is_corpus_dir(path):
            source: Iterator[str] = iter_corpus_dir(path)
        elif os.path.isdir(path):
            source = (text for file in _text_files(path) for text in iter_text_file(file, split))
        elif os.path.isfile(path):
            source = iter_text_file(path, split)
        else:
            raise FileNotFoundError(f"no corpus directory or text file at {path}")
        for text in source:
            if cap.characters is not None and characters + len(text) > cap.characters:
                text = text[: cap.characters - characters]
            if text:
                yield text
            documents += 1
            characters += len(text)
            if (cap.documents is not None and documents >= cap.documents) or (
                cap.characters is not None and characters >= cap.characters
            ):
                return
