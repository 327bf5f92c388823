"""Token shards: corpora tokenized in parallel and packed into fixed-length sequences that numpy memory-maps.

Layout of OUT::

    prepare.json              what was asked (tokenizer, seq_len, objective, corpora); a rerun must ask the same
    chunks/s00-r0000000000.tokens.npy   (sequences, seq_len) uint16 when the vocabulary fits, else uint32
    chunks/s00-r0000000000.docs.npy     flat positions (row * seq_len + column) where a document starts
    chunks/s00-r0000000000.words.npy    (sequences, seq_len) uint8, 1 where a token starts a word (with --wwm)
    chunks/s00-r0000000000.json         the chunk's counts; written last, so its presence marks the chunk done
    manifest.json             tokens, sequences, source mix (weights), tokenizer, seq_len, special ids, chunks

A chunk is a row range of one corpus. A rerun skips finished chunks, so a killed prepare resumes. Packing: CLM
documents are ``[bos] doc eos`` back to back, cut every seq_len tokens; MLM sequences are ``cls body sep`` with
documents separated by sep inside the body. The last partial sequence of a chunk is dropped (counted).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text
from jacorpus.foundation.finished_corpus import open_corpus
from jacorpus.tokenizers.loading import load_tokenizer

FORMAT = "jacorpus-token-shards/1"


@dataclass
class PrepareJob:
    corpora: list[tuple[str, float]]  # (corpus dir, mixing weight)
    tokenizer: str
    seq_len: int
    out: str
    objective: str = "clm"
    wwm: bool = False
    workers: int = 1
    chunk_rows: int = 2000
    text_column: str = "text"
    # None: run a tokenizer folder's code only when it is jacorpus's own (tokenizers/loading.py); True: trust it
    trust_remote_code: bool | None = None
    special_ids: dict[str, int | None] = field(default_factory=dict)  # filled by prepare()


def special_ids(tokenizer, objective: str) -> dict[str, int | None]:
    ids = {name: getattr(tokenizer, f"{name}_token_id") for name in ("bos", "eos", "cls", "sep", "pad", "mask", "unk")}
    if objective == "mlm":
        ids["begin"] = ids["cls"] if ids["cls"] is not None else ids["bos"]
        ids["end"] = ids["sep"] if ids["sep"] is not None else ids["eos"]
        if ids["mask"] is None or ids["begin"] is None or ids["end"] is None:
            raise ValueError("MLM needs a tokenizer with a mask token and cls/sep (or bos/eos) tokens")
    else:
        ids["end"] = ids["eos"] if ids["eos"] is not None else ids["sep"]
        ids["begin"] = ids["bos"] if ids["bos"] is not None and ids["bos"] != ids["end"] else None
        if ids["end"] is None:
            raise ValueError("CLM needs a tokenizer with an eos (or sep) token to end documents")
    return ids


def files_digest(directory: str, names: tuple[str, ...] | None = None) -> str:
    """Digest of a folder's small descriptive files (``names``, or all but model weights), to detect a changed input."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        wanted = name in names if names else not name.endswith((".safetensors", ".bin", ".pt", ".pth", ".arrow"))
        if wanted and os.path.isfile(path):
            digest.update(name.encode())
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:16]


CORPUS_FILES = ("manifest.json", "state.json", "dataset_info.json")


# ---------------------------------------------------------------------------------------------- worker side
_WORKER: dict[str, Any] = {}


def _worker_state(job: PrepareJob, tokenizer: Any = None) -> dict[str, Any]:
    """Tokenizer, word-id function and opened corpora, loaded once per process (``tokenizer``: one already loaded
    from ``job.tokenizer`` by this process, reused)."""
    key = (job.tokenizer, tuple(job.corpora), job.text_column)
    if _WORKER.get("key") != key:
        from jacorpus.train.words import default_word_id_fn

        corpora = {i: open_corpus(path).select_columns([job.text_column]) for i, (path, _) in enumerate(job.corpora)}
        if tokenizer is None:
            tokenizer = load_tokenizer(job.tokenizer, job.trust_remote_code, packing=True)
        _WORKER.update(key=key, tokenizer=tokenizer, corpora=corpora, word_ids=default_word_id_fn())
    return _WORKER


def tokenize_documents(job: PrepareJob, state: dict[str, Any], texts: list[str]):
    """(token stream, word starts or None, document start offsets) of documents laid end to end."""
    from jacorpus.train.words import word_starts

    tokenizer, ids = state["tokenizer"], job.special_ids
    head = [ids["begin"]] if job.objective == "clm" and ids["begin"] is not None else []
    pieces, word_pieces, doc_starts, length = [], [], [], 0
    for text, tokens in zip(texts, tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []):
        doc_starts.append(length)
        pieces.append(np.asarray(head + list(tokens) + [ids["end"]], dtype=np.int64))
        length += len(pieces[-1])
        if job.wwm:
            word_ids = state["word_ids"](tokenizer, text)
            if len(word_ids) != len(tokens):
                raise ValueError(f"word ids ({len(word_ids)}) do not align with tokens ({len(tokens)})")
            word_pieces.append(np.concatenate([np.ones(len(head), np.uint8), word_starts(word_ids), np.ones(1, np.uint8)]))
    stream = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    words = (np.concatenate(word_pieces) if word_pieces else np.zeros(0, np.uint8)) if job.wwm else None
    return stream, words, np.asarray(doc_starts, dtype=np.int64)


def pack(job: PrepareJob, stream: np.ndarray, words: np.ndarray | None, doc_starts: np.ndarray):
    """Cut the stream into (sequences, seq_len): CLM as is, MLM as cls body sep. Document starts become flat grid
    positions; those in the dropped tail are left out."""
    L, ids = job.seq_len, job.special_ids
    body = L if job.objective == "clm" else L - 2
    n = len(stream) // body
    tokens = np.empty((n, L), dtype=np.uint16 if ids["vocab_size"] <= 65535 else np.uint32)
    word_grid = np.ones((n, L), dtype=np.uint8) if words is not None else None
    inner = slice(None) if job.objective == "clm" else slice(1, -1)
    if job.objective == "mlm":
        tokens[:, 0], tokens[:, -1] = ids["begin"], ids["end"]
    tokens[:, inner] = stream[: n * body].reshape(n, body)
    if word_grid is not None:
        word_grid[:, inner] = words[: n * body].reshape(n, body)
    starts = doc_starts[doc_starts < n * body]
    positions = starts if job.objective == "clm" else (starts // body) * L + 1 + starts % body
    return tokens, word_grid, positions, len(stream) - n * body


def pack_chunk(job: PrepareJob, source: int, start: int, end: int) -> dict[str, Any]:
    """Tokenize rows [start, end) of corpus ``source`` and write the chunk's arrays, then its json."""
    state = _worker_state(job)
    texts = [t for t in state["corpora"][source][start:end][job.text_column] if t and t.strip()]
    tokens, word_grid, positions, dropped = pack(job, *tokenize_documents(job, state, texts))
    name = f"s{source:02d}-r{start:010d}"
    chunk_dir = os.path.join(job.out, "chunks")
    arrays = {"tokens": tokens, "docs": positions} | ({"words": word_grid} if word_grid is not None else {})
    for kind, array in arrays.items():
        with atomic_output(os.path.join(chunk_dir, f"{name}.{kind}.npy")) as tmp, open(tmp, "wb") as fh:
            np.save(fh, array)  # a file object: np.save would append ".npy" to a temporary name
    summary = {
        "name": name, "source": source, "rows": [start, end], "documents": len(texts),
        "documents_in_sequences": int(len(positions)), "sequences": int(len(tokens)), "tokens": int(tokens.size),
        "dropped_tail_tokens": int(dropped),
    }
    atomic_write_text(os.path.join(chunk_dir, f"{name}.json"), json.dumps(summary))
    return summary


def _run_unit(job: PrepareJob, unit: tuple[int, int, int]) -> dict[str, Any]:
    return pack_chunk(job, *unit)


# ---------------------------------------------------------------------------------------------- driver side
def check_out_dir(job: PrepareJob, request: dict[str, Any], overwrite: bool) -> None:
    request = json.loads(json.dumps(request))  # tuples become lists, as in the saved marker
    marker = os.path.join(job.out, "prepare.json")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as fh:
            previous = json.load(fh)
        if previous != request:
            if not overwrite:
                raise RuntimeError(f"{job.out} holds token shards of another request; pass --overwrite to replace them")
            shutil.rmtree(job.out)
    os.makedirs(os.path.join(job.out, "chunks"), exist_ok=True)
    atomic_write_text(marker, json.dumps(request, indent=2, ensure_ascii=False))


def prepare(job: PrepareJob, progress: bool = True, overwrite: bool = False) -> dict[str, Any]:
    """Tokenize and pack every chunk not already done, then write manifest.json. Returns the manifest."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from jacorpus.train.progress import progress_bar

    if job.objective not in ("clm", "mlm"):
        raise ValueError(f"objective must be clm or mlm, not {job.objective!r}")
    if job.seq_len < 8:
        raise ValueError("seq_len must be at least 8")
    if any(weight <= 0 for _, weight in job.corpora):
        raise ValueError("mixing weights must be positive")
    job.corpora = [(os.path.abspath(path), float(weight)) for path, weight in job.corpora]
    job.tokenizer, job.out = os.path.abspath(job.tokenizer), os.path.abspath(job.out)
    tokenizer = load_tokenizer(job.tokenizer, job.trust_remote_code, packing=True)
    job.special_ids = special_ids(tokenizer, job.objective) | {"vocab_size": len(tokenizer)}
    request = asdict(job) | {"tokenizer_digest": files_digest(job.tokenizer)}
    request["corpus_digests"] = [files_digest(path, CORPUS_FILES) for path, _ in job.corpora]
    for key in ("workers", "out", "trust_remote_code"):
        request.pop(key)
    check_out_dir(job, request, overwrite)

    sizes = [len(open_corpus(path)) for path, _ in job.corpora]
    units = [(i, start, min(start + job.chunk_rows, n)) for i, n in enumerate(sizes) for start in range(0, n, job.chunk_rows)]
    chunk_dir = os.path.join(job.out, "chunks")
    pending = [u for u in units if not os.path.exists(os.path.join(chunk_dir, f"s{u[0]:02d}-r{u[1]:010d}.json"))]
    with progress_bar("tokenizing", total=len(units), enabled=progress) as advance:
        advance(len(units) - len(pending))
        if job.workers <= 1 or len(pending) <= 1:
            _worker_state(job, tokenizer)  # in this process: the tokenizer loaded above, not a second copy
            for unit in pending:
                _run_unit(job, unit)
                advance(1)
        else:
            with ProcessPoolExecutor(min(job.workers, len(pending)), mp_context=get_context("spawn")) as pool:
                for _ in pool.map(_run_unit, [job] * len(pending), pending):
                    advance(1)
    return write_manifest(job, units, tokenizer)


def corpus_name(path: str) -> str:
    """The corpus recipe's name from its manifest, else the folder name."""
    try:
        with open(os.path.join(path, "manifest.json"), encoding="utf-8") as fh:
            return str(json.load(fh)["name"])
    except (OSError, KeyError, ValueError):
        return os.path.basename(path.rstrip("/"))


def write_manifest(job: PrepareJob, units: list[tuple[int, int, int]], tokenizer) -> dict[str, Any]:
    chunks = []
    for source, start, _ in units:
        with open(os.path.join(job.out, "chunks", f"s{source:02d}-r{start:010d}.json"), encoding="utf-8") as fh:
            chunks.append(json.load(fh))
    sources = []
    for i, (path, weight) in enumerate(job.corpora):
        mine = [c for c in chunks if c["source"] == i]
        sources.append({
            "name": corpus_name(path), "corpus": path, "weight": weight,
            "documents": sum(c["documents"] for c in mine), "sequences": sum(c["sequences"] for c in mine),
            "tokens": sum(c["tokens"] for c in mine), "dropped_tail_tokens": sum(c["dropped_tail_tokens"] for c in mine),
        })
    vocab = job.special_ids["vocab_size"]
    manifest = {
        "format": FORMAT, "objective": job.objective, "wwm": job.wwm, "seq_len": job.seq_len,
        "dtype": "uint16" if vocab <= 65535 else "uint32", "vocab_size": vocab,
        "tokenizer": {"path": job.tokenizer, "class": type(tokenizer).__name__, "digest": files_digest(job.tokenizer)},
        "special_ids": job.special_ids,
        "sources": sources,
        "sequences": sum(s["sequences"] for s in sources),
        "tokens": sum(s["tokens"] for s in sources),
        "weighted_tokens": int(sum(s["tokens"] * s["weight"] for s in sources)),
        "chunks": [{"name": c["name"], "source": c["source"], "sequences": c["sequences"]} for c in chunks],
    }
    atomic_write_text(os.path.join(job.out, "manifest.json"), json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest
