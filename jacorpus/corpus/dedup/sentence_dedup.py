"""The recipe step ``sentence_dedup``: exact-duplicate sentences (or paragraphs) removed across documents.

As in the Swallow corpus pipeline, text repeated verbatim across pages (boilerplate sentences, copied paragraphs)
is kept once: the first document in reading order (stage task, then row) keeps its copy, every later document
loses it. Units are compared after the dedup normalization (NFKC, lower case, whitespace removed); units shorter
than ``min_unit_chars`` normalized characters ("はい。") are never removed. A document left with fewer than
``min_chars`` characters is dropped (reason ``too_short_after_sentence_dedup``). Example::

    - sentence_dedup: {unit: sentence, min_unit_chars: 10, min_chars: 50}

A global step on the protocol of ``corpus/global_pass.py`` (map: each document's distinct unit keys; reduction:
``KeyCounts(min_count=2, first_doc=True)``; decision files: the repeated keys with their first document), so every
engine runs it without knowing it exists.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Iterator, Literal

import numpy as np
import pyarrow as pa
import xxhash
from datatrove.data import DocumentsPipeline
from pydantic import Field

from jacorpus.corpus.dedup.spill import KEY_DOC, partition_count
from jacorpus.corpus.dedup.stage_io import StageLayout, arrow_numbers, iter_rank_batches
from jacorpus.corpus.dedup.textnorm import normalize_for_dedup
from jacorpus.corpus.global_pass import (
    KEY_DOC_RECORDS, GlobalPassPlan, KeyCountResult, KeyCounts, ShardScan, require_done, write_sorted_array,
)
from jacorpus.corpus.sentences import sentence_spans
from jacorpus.corpus.steps import GlobalStep, JaStep, StepOptions, register_step
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text

REMOVED_FIELD: dict[str, pa.DataType] = {"sentence_dedup_removed": pa.int64()}


class SentenceDedupOptions(StepOptions):
    unit: Literal["sentence", "paragraph"] = Field("sentence", description="paragraph: a non-empty line")
    min_unit_chars: int = Field(10, ge=1, description="shorter units (normalized) are never removed")
    min_chars: int = Field(0, ge=0, description="drop a document left shorter than this")
    memory_mb: int = Field(256, ge=16, description="memory budget of one spill partition")


def unit_spans(text: str, unit: str) -> list[tuple[int, int]]:
    """(start, end) of each unit: sentences (``corpus/sentences.py``) or non-empty lines, whitespace excluded."""
    if unit == "sentence":
        return sentence_spans(text)
    spans, start = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            s = start + line.index(stripped[0])
            spans.append((s, s + len(stripped)))
        start += len(line) + 1
    return spans


def unit_keys(text: str, spans: list[tuple[int, int]], min_unit_chars: int) -> np.ndarray:
    """64-bit key per unit; 0 for a unit too short to be removed."""
    keys = np.zeros(len(spans), dtype=np.uint64)
    for i, (s, e) in enumerate(spans):
        normalized = normalize_for_dedup(text[s:e])
        if len(normalized) >= min_unit_chars:
            keys[i] = xxhash.xxh3_64_intdigest(normalized.encode("utf-8")) or 1
    return keys


def remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without ``spans`` (sorted, disjoint); a line left blank by a removal goes with it."""
    pieces, cursor = [], 0
    for s, e in spans:
        pieces.append(text[cursor:s])
        cursor = e
    pieces.append(text[cursor:])
    lines = "".join(pieces).split("\n")
    touched = {text.count("\n", 0, s) for s, _ in spans}  # lines that lost a unit
    kept = [line.strip() if i in touched else line for i, line in enumerate(lines)]
    return "\n".join(line for i, line in enumerate(kept) if line or i not in touched).strip("\n")


@register_step
class SentenceDedup(GlobalStep):
    name = "sentence_dedup"
    type = "🫂 - DEDUP"
    Options = SentenceDedupOptions
    annotations: ClassVar[dict[str, pa.DataType]] = REMOVED_FIELD

    def global_pass_plan(self, layout: StageLayout) -> GlobalPassPlan:
        # records = (document, distinct unit): estimated from the stage's characters, ~40 bytes of UTF-8 a unit
        parts = partition_count(layout.shard_bytes() // 40, KEY_DOC.itemsize, self.options.memory_mb)
        return GlobalPassPlan(KeyCounts(min_count=2, first_doc=True), parts)

    def global_scan(self, task: ShardScan) -> Iterator[pa.RecordBatch]:
        opts = self.options
        doc = task.start
        for batch in iter_rank_batches(task.stage_dir, task.rank, ["text"]):
            keys, docs = [], []
            for text in batch.column("text").to_pylist():
                found = unit_keys(text, unit_spans(text, opts.unit), opts.min_unit_chars)
                found = np.unique(found[found != 0])  # a document counts a unit once
                keys.append(found)
                docs.append(np.full(found.size, doc, dtype=np.int64))
                doc += 1
            flat = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
            owners = np.concatenate(docs) if docs else np.empty(0, dtype=np.int64)
            yield pa.record_batch([arrow_numbers(flat.view(np.int64)), arrow_numbers(owners)], schema=KEY_DOC_RECORDS)

    def decide(self, result: KeyCountResult, layout: StageLayout, work_dir: str) -> dict[str, Any]:
        repeated = write_sorted_array(os.path.join(work_dir, "units.npy"), [c.keys for c in result.chunks], np.uint64)
        write_sorted_array(os.path.join(work_dir, "first_docs.npy"), [c.first_docs for c in result.chunks], np.int64)
        starts = {str(rank): int(start) for rank, start in zip(layout.ranks, layout.starts)}
        atomic_write_text(os.path.join(work_dir, "starts.json"), json.dumps(starts))
        return {"distinct_units": result.distinct_keys, "repeated_units": repeated}

    def apply_step(self, work_dir: str) -> JaStep:
        return SentenceDedupApply(work_dir, self.options)


class SentenceDedupApply(JaStep):
    """Removes the units a document repeats from an earlier one; drops a document left too short."""

    name = "sentence_dedup"
    annotations: ClassVar[dict[str, pa.DataType]] = REMOVED_FIELD

    def __init__(self, work_dir: str, options: SentenceDedupOptions) -> None:
        super().__init__()
        self.work_dir, self.step_options = work_dir, options

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        stats = require_done(self.work_dir, self.name)
        if rank == 0:  # corpus-wide figures go into the manifest once
            self.ledger.count(self.name, "repeated_units", stats["repeated_units"])
        opts = self.step_options
        with open(storage.local_copy(os.path.join(self.work_dir, "starts.json")), encoding="utf-8") as fh:
            index = json.load(fh).get(str(rank), 0)
        units = np.load(storage.local_copy(os.path.join(self.work_dir, "units.npy")), mmap_mode="r")
        first = np.load(storage.local_copy(os.path.join(self.work_dir, "first_docs.npy")), mmap_mode="r")
        for doc in data or ():
            removed = self.remove(doc.text, index, units, first, opts)
            index += 1
            doc.metadata["sentence_dedup_removed"] = removed[1]
            if removed[1]:
                self.ledger.count(self.name, "units_removed", removed[1])
                if len(normalize_for_dedup(removed[0])) < max(opts.min_chars, 1):
                    self.drop(doc, "too_short_after_sentence_dedup")  # the dropped shard keeps the full text
                    continue
                doc.text = removed[0]
            yield doc

    @staticmethod
    def remove(text: str, index: int, units: np.ndarray, first: np.ndarray,
               opts: SentenceDedupOptions) -> tuple[str, int]:
        if units.size == 0:
            return text, 0
        spans = unit_spans(text, opts.unit)
        keys = unit_keys(text, spans, opts.min_unit_chars)
        pos = np.minimum(np.searchsorted(units, keys), units.size - 1)
        repeated = (units[pos] == keys) & (keys != 0) & (first[pos] != index)
        if not repeated.any():
            return text, 0
        return remove_spans(text, [span for span, r in zip(spans, repeated.tolist()) if r]), int(repeated.sum())
