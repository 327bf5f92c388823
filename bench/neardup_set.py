"""The planted-edit near-duplicate set of bench/dedup.py, and its exact ground truth. Not a bench itself.

Documents: real Japanese sentences (neko.txt, the ABEJA CC-ja pages, JSQuAD's Wikipedia paragraphs, JSTS captions)
recombined into base documents of 400-2,500 characters (the pool is walked shuffled, so a sentence recurs in only
a few documents), then planted copies of random earlier documents (a tenth of them copies of copies) with graded
edits: sentences replaced, deleted and inserted, characters substituted, the end cut off, in proportions drawn per
copy so their Jaccard to the original spreads over 0.4-1.0; plus every version of the three laws in
neardup_ja_law_versions (real graded near-duplicates).

Ground truth: the exact Jaccard of character 5-gram sets of every pair of documents that shares a 5-gram,
computed without any jacorpus code: NFKC (``unicodedata``), lower case, whitespace removed (``str.split``), and
5-grams identified exactly (no hashing: code points ranked, 4-grams ranked, then 5-grams ranked), the pair counts
from a sparse incidence product (scipy).
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import numpy as np


def sentence_pool(shared: Path) -> list[str]:
    neko = (shared / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    cc = json.loads((shared / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    squad = json.loads((shared / "jglue" / "jsquad-v1.3" / "valid-v1.3.json").read_text(encoding="utf-8"))
    contexts = {p["context"] for a in squad["data"] for p in a["paragraphs"]}
    captions = []
    with open(shared / "jglue" / "jsts-v1.3" / "train-v1.3.json", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            captions += [row["sentence1"], row["sentence2"]]
    text = "\n".join([neko, *(d["text"] for g in cc.values() for d in g), *sorted(contexts)])
    sentences = [s.strip() for s in re.split(r"(?<=[。！？])|\n", text) if len(s.strip()) >= 8]
    return list(dict.fromkeys(sentences + captions))  # distinct, in a fixed order


def law_texts(shared: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((shared / "neardup_ja_law_versions").glob("*/*.txt"))]


def _edit(sentences: list[str], rng: random.Random, pool: list[str]) -> str:
    copy = list(sentences)
    strength = rng.uniform(0.0, 0.35)
    kinds = rng.sample(["replace", "delete", "insert", "chars", "cut"], rng.randint(1, 3))
    share = strength / len(kinds)
    for kind in kinds:
        count = int(round(share * len(copy)))
        if kind == "replace":
            for _ in range(count):
                copy[rng.randrange(len(copy))] = rng.choice(pool)
        elif kind == "delete":
            for _ in range(min(count, len(copy) - 1)):
                del copy[rng.randrange(len(copy))]
        elif kind == "insert":
            for _ in range(count):
                copy.insert(rng.randrange(len(copy) + 1), rng.choice(pool))
        elif kind == "cut":
            copy = copy[: max(1, int(len(copy) * (1 - share)))]
    text = "".join(copy)
    if "chars" in kinds:  # typos: a character replaced by a random kana every ~1/(share/5) characters
        chars = list(text)
        for _ in range(int(len(chars) * share / 5)):
            chars[rng.randrange(len(chars))] = chr(rng.randrange(0x3041, 0x3097))
        text = "".join(chars)
    return text


def build(shared: Path, base_docs: int, copies: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """(texts, kinds): ``kinds`` is "base", "copy" or "law" per document; copies come after their originals."""
    rng = random.Random(seed)
    pool = sentence_pool(shared)
    order = list(range(len(pool)))
    rng.shuffle(order)
    cursor = 0
    docs: list[list[str]] = []
    texts, kinds = [], []
    copy_at = set(rng.sample(range(base_docs // 10, base_docs + copies), copies))
    for i in range(base_docs + copies):
        if i in copy_at and docs:
            j = rng.randrange(len(docs))
            text = _edit(docs[j], rng, pool)
            docs.append(re.split(r"(?<=[。！？])", text))
            texts.append(text)
            kinds.append("copy")
            continue
        target, sentences, size = rng.randint(400, 2500), [], 0
        while size < target:
            if cursor == len(order):
                rng.shuffle(order)
                cursor = 0
            sentences.append(pool[order[cursor]])
            size += len(sentences[-1])
            cursor += 1
        docs.append(sentences)
        texts.append("".join(sentences))
        kinds.append("base")
    laws = law_texts(shared)
    return texts + laws, kinds + ["law"] * len(laws)


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _rank(values: np.ndarray) -> np.ndarray:
    return np.unique(values, return_inverse=True)[1].astype(np.uint64)


def exact_pairs(texts: list[str], min_jaccard: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, jaccard) with i < j for every pair at or above ``min_jaccard``: exact, character 5-gram sets."""
    from scipy.sparse import csr_matrix

    norms = [_norm(t) for t in texts]
    lengths = np.array([len(s) for s in norms], dtype=np.int64)
    points = np.frombuffer("".join(norms).encode("utf-32-le"), dtype="<u4")
    chars = _rank(points)  # < 2^16 distinct characters in any real corpus of this size: checked below
    assert chars.max() < 1 << 16
    starts = np.cumsum(lengths) - lengths
    valid = np.ones(points.size, dtype=bool)  # a 5-gram starting at p lies inside its document
    ends = starts + lengths
    for k in range(1, 5):
        valid[np.clip(ends - k, 0, None)[lengths >= k]] = False
    index = np.flatnonzero(valid[: points.size - 4]) if points.size >= 5 else np.empty(0, dtype=np.int64)
    four = (chars[index] << 48) | (chars[index + 1] << 32) | (chars[index + 2] << 16) | chars[index + 3]
    five = (_rank(four) << np.uint64(16)) | chars[index + 4]
    gram = _rank(five).astype(np.int64)
    doc = np.searchsorted(starts, index, side="right") - 1
    incidence = csr_matrix((np.ones(gram.size, dtype=np.float32), (doc, gram)), shape=(len(texts), int(gram.max()) + 1))
    incidence.data[:] = 1.0
    incidence.sum_duplicates()
    incidence.data[:] = 1.0  # sets, not multisets
    sizes = np.asarray(incidence.sum(axis=1)).ravel()
    inter = (incidence @ incidence.T).tocoo()
    upper = inter.row < inter.col
    i, j, both = inter.row[upper], inter.col[upper], inter.data[upper].astype(np.float64)
    jaccard = both / (sizes[i] + sizes[j] - both)
    keep = jaccard >= min_jaccard
    return i[keep].astype(np.int64), j[keep].astype(np.int64), jaccard[keep]


def load_or_build(shared: Path, base_docs: int, copies: int, cache: Path) -> dict:
    """The set and its ground truth, cached under ``cache`` (the truth takes a minute for 20,000 documents)."""
    path = cache / f"neardup_{base_docs}_{copies}.npz"
    texts, kinds = build(shared, base_docs, copies)
    if path.exists():
        saved = np.load(path)
        if int(saved["docs"]) == len(texts):
            return {"texts": texts, "kinds": kinds, "i": saved["i"], "j": saved["j"], "jaccard": saved["jaccard"]}
    i, j, jaccard = exact_pairs(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, i=i, j=j, jaccard=jaccard, docs=len(texts))
    return {"texts": texts, "kinds": kinds, "i": i, "j": j, "jaccard": jaccard}
