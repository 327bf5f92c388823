"""`decontaminate`: drop documents (or cut the spans) that contain benchmark items, by n-gram overlap.

The benchmark files are named in the recipe::

    decontaminate:
      benchmarks:
        - {name: jsts, path: jsts-v1.3/valid-v1.3.json, fields: [sentence1, sentence2], id: sentence_pair_id}
        - {name: jsquad, path: jsquad-v1.3/valid-v1.3.json, records: data.paragraphs,
           fields: [context, qas.question], id: qas.id}
      ngram: 13
      unit: char        # or word (Sudachi split mode A)
      action: drop      # or cut (remove the matching spans, keep the rest)

Files are read by extension: ``.json`` (one JSON value: an array of records or one object; JSGLUE's ``.json``
files are JSON lines, which is detected), ``.jsonl``/``.ndjson`` (JSON lines), ``.csv``/``.tsv`` (a header row).
Fields are dotted paths that descend through objects and lists; every string they reach is one item, so a
list-valued field (IgakuQA's ``choices``) counts item by item. An item id is ``<record id>/<field>[/<k>]`` where
the record id is the value of ``id`` (or the record's number in the file).

Matching is datatrove's n-gram decontamination made Japanese: the same normalization and shingles as dedup
(``jacorpus.corpus.dedup.textnorm`` / ``shingles``: NFKC, lower case, whitespace removed; character n-grams or
Sudachi words), 64-bit n-gram hashes, and an item matches a document when at least ``min_overlap`` of the item's
distinct n-grams occur in it (1 n-gram is datatrove's rule; the default 0.5 keeps a generic phrase shared by a short
caption and an encyclopedia article from counting; bench/results/decontaminate.md measures both). Items with fewer
than ``min_item_ngrams`` n-grams (default 3: 15 characters at n=13) are too short to tell from a common phrase and
are not searched; they are counted (``short_items:<name>`` in the step's counters).

Drop reason ``decontaminate:<benchmark>`` (the benchmark with the most matched n-grams), annotation
``contamination`` = ``"<benchmark>:<item id>; ..."`` on dropped and cut documents, counters per benchmark in the
manifest (``steps.decontaminate["documents:<benchmark>"]``, ``"cut_chars:<benchmark>"``).
"""

from __future__ import annotations

import csv
import glob
import json
import os
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Literal

import numpy as np
import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jacorpus.corpus.dedup.hashing import window_murmur3
from jacorpus.corpus.dedup.shingles import Shingler, word_token_id
from jacorpus.foundation.sudachi_chunks import split_for_sudachi
from jacorpus.corpus.dedup.textnorm import nfkc, normalize_for_dedup
from jacorpus.corpus.steps import JaStep, StepOptions, register_step

HIGH_SEED = 0x5BD1E995  # the second 32-bit half of a 64-bit shingle hash, as in Shingler.hash_set64


class BenchmarkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    path: str  # relative to the recipe's folder; a glob pattern reads every file it matches, in sorted order
    fields: list[str] = Field(min_length=1)
    id: str | None = None  # dotted path of the record id (first value reached); default: record number
    records: str | None = None  # dotted path from a top-level value to the records (JSQuAD: data.paragraphs)

    @field_validator("fields", mode="before")
    @classmethod
    def one_field_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class DecontaminateOptions(StepOptions):
    benchmarks: list[BenchmarkSpec] = Field(min_length=1)
    ngram: int = Field(13, ge=2)
    unit: Literal["char", "word"] = "char"
    action: Literal["drop", "cut"] = "drop"
    min_overlap: float = Field(0.5, gt=0.0, le=1.0)  # share of an item's distinct n-grams found in the document
    # an item with fewer distinct n-grams is not indexed (counted as short): a 13-character JSQuAD question such
    # as "15歳以上の国民の識字率は" is one n-gram and occurs in every country article
    min_item_ngrams: int = Field(3, ge=1)


# -- reading benchmark files ---------------------------------------------------------------------------------------
def read_records(path: str) -> list[Any]:
    """Top-level records of a JSON / JSON lines / CSV file, chosen by extension."""
    ext = os.path.splitext(path)[1].lower()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        if ext in (".csv", ".tsv"):
            return list(csv.DictReader(fh, delimiter="\t" if ext == ".tsv" else ","))
        text = fh.read()
    if ext in (".jsonl", ".ndjson"):
        return _json_lines(text, path)
    if ext == ".json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise ValueError(f"{path}: not valid JSON: {exc}") from exc
            return _json_lines(text, path)  # JGLUE's *.json files hold one JSON object a line
        return value if isinstance(value, list) else [value]
    raise ValueError(f"{path}: unknown benchmark file type {ext!r} (use .json, .jsonl, .ndjson, .csv or .tsv)")


def _json_lines(text: str, path: str) -> list[Any]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON: {exc}") from exc
    return out


def reach(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(list-index suffix, value) of everything a dotted path reaches; lists on the way are flattened."""
    def walk(node: Any, parts: list[str], suffix: str) -> Iterator[tuple[str, Any]]:
        if isinstance(node, list):
            for k, item in enumerate(node):
                yield from walk(item, parts, f"{suffix}/{k}")
            return
        if not parts:
            yield suffix, node
            return
        if isinstance(node, dict) and parts[0] in node:
            yield from walk(node[parts[0]], parts[1:], suffix)

    yield from walk(value, path.split(".") if path else [], "")


@dataclass
class BenchmarkItem:
    benchmark: str
    item_id: str
    text: str


def benchmark_items(spec: BenchmarkSpec, base_dir: str = ".") -> list[BenchmarkItem]:
    """Every item of one benchmark file; a field that reaches nothing in the whole file is an error."""
    path = spec.path if os.path.isabs(spec.path) else os.path.normpath(os.path.join(base_dir, spec.path))
    files = sorted(glob.glob(path)) if glob.has_magic(path) else [path] if os.path.isfile(path) else []
    if not files:
        raise FileNotFoundError(f"benchmark {spec.name!r}: no file matches {path}")
    top = [record for file in files for record in read_records(file)]
    records = [r for value in top for _, r in reach(value, spec.records)] if spec.records else top
    items: list[BenchmarkItem] = []
    found = dict.fromkeys(spec.fields, 0)
    for number, record in enumerate(records):
        record_id = str(number)
        if spec.id is not None:
            ids = [v for _, v in reach(record, spec.id) if v is not None]
            record_id = str(ids[0]) if ids else record_id
        for field in spec.fields:
            for suffix, value in reach(record, field):
                if isinstance(value, str) and value.strip():
                    found[field] += 1
                    items.append(BenchmarkItem(spec.name, f"{record_id}/{field}{suffix}", value))
    missing = [f for f, n in found.items() if n == 0]
    if missing:
        keys = sorted(records[0]) if records and isinstance(records[0], dict) else type(records[0]).__name__ if records else "no records"
        raise ValueError(f"benchmark {spec.name!r}: field(s) {missing} reach no text in {path} (first record: {keys})")
    return items


# -- the n-gram index -----------------------------------------------------------------------------------------------
def hashes64(tokens: np.ndarray, n: int) -> np.ndarray:
    """64-bit hash of every window of ``n`` tokens, in text order (Shingler.hash_set64 before its unique)."""
    low = window_murmur3(tokens, n, seed=0).astype(np.uint64)
    high = window_murmur3(tokens, n, seed=HIGH_SEED).astype(np.uint64)
    return (high << np.uint64(32)) | low


class NgramIndex:
    """Sorted unique n-gram hashes of all items, with a CSR map from n-gram to the items that contain it."""

    PREFILTER_BITS = 24  # a 2 MiB bit table in front of the binary search: most document n-grams stop there

    def __init__(self, items: list[BenchmarkItem], shingler: Shingler, benchmarks: list[str],
                 min_item_ngrams: int = 1) -> None:
        self.items = items
        self.benchmarks = benchmarks
        bench_index = {b: i for i, b in enumerate(benchmarks)}
        self.item_benchmark = np.array([bench_index[it.benchmark] for it in items], dtype=np.int32)
        per_item, owners = [], []
        self.item_grams = np.zeros(len(items), dtype=np.int64)
        for k, item in enumerate(items):
            tokens = shingler.tokens(item.text)
            if tokens.size < shingler.ngram + min_item_ngrams - 1:
                continue  # too short to be told from a common phrase (counted as short_items)
            grams = np.unique(hashes64(tokens, shingler.ngram))
            if grams.size < min_item_ngrams:
                continue
            self.item_grams[k] = grams.size
            per_item.append(grams)
            owners.append(np.full(grams.size, k, dtype=np.int64))
        flat = np.concatenate(per_item) if per_item else np.empty(0, np.uint64)
        owner = np.concatenate(owners) if owners else np.empty(0, np.int64)
        order = np.argsort(flat, kind="stable")
        flat, owner = flat[order], owner[order]
        self.grams, starts = np.unique(flat, return_index=True)
        self.offsets = np.append(starts, flat.size).astype(np.int64)
        self.owners = owner
        self.short_items = np.bincount(self.item_benchmark[self.item_grams == 0], minlength=len(benchmarks))
        self.prefilter = np.zeros(1 << self.PREFILTER_BITS, dtype=bool)
        self.prefilter[(self.grams & np.uint64((1 << self.PREFILTER_BITS) - 1)).astype(np.int64)] = True

    def lookup(self, doc_grams: np.ndarray) -> np.ndarray:
        """Positions in ``self.grams`` of the document n-grams that are in the index (-1 where not)."""
        if self.grams.size == 0 or doc_grams.size == 0:
            return np.full(doc_grams.size, -1, dtype=np.int64)
        out = np.full(doc_grams.size, -1, dtype=np.int64)
        low = (doc_grams & np.uint64((1 << self.PREFILTER_BITS) - 1)).astype(np.int64)
        candidates = np.nonzero(self.prefilter[low])[0]
        pos = np.searchsorted(self.grams, doc_grams[candidates])
        pos[pos == self.grams.size] = 0
        out[candidates] = np.where(self.grams[pos] == doc_grams[candidates], pos, -1)
        return out

    def matched_items(self, gram_positions: np.ndarray, min_overlap: float) -> dict[int, int]:
        """Items with at least ``min_overlap`` of their n-grams among the given distinct index positions."""
        gram_positions = np.unique(gram_positions[gram_positions >= 0])
        if gram_positions.size == 0:
            return {}
        lengths = self.offsets[gram_positions + 1] - self.offsets[gram_positions]
        idx = np.repeat(self.offsets[gram_positions], lengths) + (
            np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
        items, counts = np.unique(self.owners[idx], return_counts=True)
        need = np.ceil(self.item_grams[items] * min_overlap - 1e-9)
        ok = counts >= need
        return dict(zip(items[ok].tolist(), counts[ok].tolist()))


_INDEX_CACHE: dict[str, NgramIndex] = {}
_INDEX_LOCK = threading.Lock()


def load_index(options: DecontaminateOptions, base_dir: str) -> NgramIndex:
    """One index per process and recipe step (steps are pickled/deep-copied per task; the index is not)."""
    key = json.dumps([options.model_dump(mode="json"), os.path.abspath(base_dir)], sort_keys=True)
    with _INDEX_LOCK:
        if key not in _INDEX_CACHE:
            items = [it for spec in options.benchmarks for it in benchmark_items(spec, base_dir)]
            _INDEX_CACHE[key] = NgramIndex(items, Shingler(options.unit, options.ngram),
                                           [b.name for b in options.benchmarks], options.min_item_ngrams)
        return _INDEX_CACHE[key]


# -- token spans, for cutting ---------------------------------------------------------------------------------------
def normalized_chars_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """``normalize_for_dedup(text)`` with, for each character, the original [start, end) it came from.

    Characters are normalized one cluster at a time (a base character with the combining marks after it, so a
    half-width kana and its half-width dakuten still compose), which gives the same string as normalizing the whole
    text for everything but exotic sequences; the caller checks and falls back to dropping.
    """
    out, starts, ends = [], [], []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(nfkc(text[j])[:1] or " "):
            j += 1
        piece = "".join(nfkc(text[i:j]).lower().split())
        for ch in piece:
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return "".join(out), starts, ends


def word_tokens_with_offsets(text: str, shingler: Shingler) -> tuple[np.ndarray, list[int], list[int]]:
    """Sudachi (mode A) word ids as ``Shingler.tokens`` makes them, with the original span of each word."""
    shingler.words("")  # creates the tokenizer
    ids, starts, ends = [], [], []
    normalized_offsets: list[int] = []
    norm_parts = []
    for i, ch in enumerate(text):  # NFKC per character keeps offsets; words are the same for ordinary text
        piece = nfkc(ch).lower()
        norm_parts.append(piece)
        normalized_offsets.extend([i] * len(piece))
    normalized = "".join(norm_parts)
    for base, chunk in split_for_sudachi(normalized):
        for m in shingler._tokenizer.tokenize(chunk):
            surface = "".join(m.surface().split())
            if not surface:
                continue
            ids.append(word_token_id(surface))
            starts.append(normalized_offsets[base + m.begin()])
            ends.append(normalized_offsets[base + m.end() - 1] + 1)
    return np.array(ids, dtype=np.uint32), starts, ends


@register_step
class Decontaminate(JaStep):
    """Drops documents (``action: drop``) or cuts the spans (``action: cut``) that overlap benchmark items."""

    name = "decontaminate"
    Options: ClassVar[type[StepOptions]] = DecontaminateOptions
    annotations: ClassVar[dict[str, pa.DataType]] = {"contamination": pa.string()}

    def __init__(self, options: StepOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        names = [b.name for b in self.options.benchmarks]
        if len(set(names)) != len(names):
            raise ValueError(f"decontaminate: benchmark names must be unique, got {names}")
        self.shingler = Shingler(self.options.unit, self.options.ngram)
        index = self.index  # read the files now: a wrong path or field fails at plan time, not in a worker
        if not index.grams.size:
            raise ValueError(f"decontaminate: no benchmark item has {self.options.min_item_ngrams} n-grams of "
                             f"{self.options.ngram} {self.options.unit}s")

    @property
    def index(self) -> NgramIndex:  # in a module cache, not in the step: pickles and deep copies stay small
        return load_index(self.options, self.base_dir)

    def count_short_items(self) -> None:
        for name, short in zip(self.index.benchmarks, self.index.short_items.tolist()):
            if short:
                self.ledger.count(self.name, f"short_items:{name}", short)

    def annotate(self, doc: Document, matches: dict[int, int]) -> str:
        """Sets ``contamination``, counts per benchmark, returns the benchmark with most matched n-grams."""
        index = self.index
        per_bench: dict[str, int] = {}
        for item, grams in matches.items():
            name = index.benchmarks[index.item_benchmark[item]]
            per_bench[name] = per_bench.get(name, 0) + grams
        for name in per_bench:
            self.ledger.count(self.name, f"documents:{name}")
            self.stat_update(f"contaminated_{name}")
        top = sorted(matches.items(), key=lambda kv: (-kv[1], kv[0]))
        doc.metadata["contamination"] = "; ".join(
            f"{index.items[k].benchmark}:{index.items[k].item_id}" for k, _ in top)
        return max(per_bench.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        index, opts = self.index, self.options
        if rank == 0:
            self.count_short_items()
        for doc in data:
            with self.track_time():
                # every window, repeats included: a sort or hash-unique of all of them costs more than the lookup
                doc_grams = hashes64(self.shingler.tokens(doc.text), opts.ngram)
                matches = index.matched_items(index.lookup(doc_grams), opts.min_overlap)
                if not matches:
                    yield doc
                    continue
                benchmark = self.annotate(doc, matches)
                if opts.action == "drop" or not self.cut(doc, matches):
                    self.drop(doc, benchmark)
                    continue
            if doc.text.strip():
                yield doc
            else:
                self.drop(doc, "empty_after_decontaminate")

    def cut(self, doc: Document, matches: dict[int, int]) -> bool:
        """Remove every window of a matched item's n-grams; False when the spans cannot be located (then drop)."""
        index, n = self.index, self.options.ngram
        if self.options.unit == "char":
            normalized, starts, ends = normalized_chars_with_offsets(doc.text)
            if normalized != normalize_for_dedup(doc.text):
                return False
            tokens = np.frombuffer(normalized.encode("utf-32-le"), dtype="<u4").astype(np.uint32)
        else:
            tokens, starts, ends = word_tokens_with_offsets(doc.text, self.shingler)
        if tokens.size < n:
            return False
        positions = index.lookup(hashes64(tokens, n))
        # the index n-grams that belong to a matched item (through the CSR owners); only those are cut
        wanted = np.zeros(index.grams.size, dtype=bool)
        matched = np.fromiter(matches, dtype=np.int64)
        owner_ok = np.isin(index.owners, matched)
        gram_of_owner = np.repeat(np.arange(index.grams.size), np.diff(index.offsets))
        wanted[gram_of_owner[owner_ok]] = True
        hit = np.nonzero((positions >= 0) & wanted[np.maximum(positions, 0)])[0]
        if hit.size == 0:
            return False
        remove = np.zeros(len(doc.text) + 1, dtype=np.int32)  # difference array over original characters
        for w in hit.tolist():
            remove[starts[w]] += 1
            remove[ends[w + n - 1]] -= 1
        mask = np.cumsum(remove[:-1]) > 0
        cut_chars = int(mask.sum())
        doc.text = "".join(ch for ch, gone in zip(doc.text, mask.tolist()) if not gone)
        for item in matches:
            self.ledger.count(self.name, f"cut_items:{index.benchmarks[index.item_benchmark[item]]}")
        self.ledger.count(self.name, "cut_chars", cut_chars)
        return True
