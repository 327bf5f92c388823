"""The planted-edit near-duplicate set of bench/dedup.py, and its exact ground truth. Not a bench itself.

Documents: real Japanese sentences (neko.txt, the ABEJA CC-ja pages, JSQuAD's Wikipedia paragraphs, the jawiki
sample articles' wikitext with the markup thinned, JSTS captions) recombined into base documents of 300-1,500
characters (the pool is walked shuffled, so a sentence recurs in only
a few documents), then planted copies of random earlier documents (a tenth of them copies of copies) with graded
edits: sentences replaced, deleted and inserted, characters substituted, the end cut off, in proportions drawn per
copy so their Jaccard to the original spreads over 0.4-1.0; plus every version of the three laws in
neardup_ja_law_versions (real graded near-duplicates).

Ground truth: the exact Jaccard of character 5-gram sets of every pair of documents that shares a 5-gram,
computed without any jacorpus code: NFKC (``unicodedata``), lower case, whitespace removed (``str.split``), and
5-grams identified exactly (no hashing: code points ranked, 4-grams ranked, then 5-grams ranked); every pair that
can reach the floor (J >= 0.5) found by exact prefix filtering, its intersection counted from sparse incidence rows.
"""

from __future__ import annotations

import bz2
import html
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
    wiki = []
    for name in ("jawiki-2022-07-pages-articles-sample.xml.bz2", "jawiki-2006-08-export-0.3-sample.xml.bz2"):
        xml = bz2.open(shared / "jawiki_xml" / name).read().decode("utf-8", "replace")
        for body in re.findall(r"<text[^>]*>(.*?)</text>", xml, flags=re.S):  # article wikitext, markup thinned
            body = html.unescape(body)
            body = re.sub(r"\{\{[^{}]*\}\}|<[^>]+>|\[\[(?:[^|\]]*\|)?|\]\]|'{2,}|==+", "", body)
            wiki += [line for line in body.splitlines() if not line.startswith(("|", "{", "!", "*", "[", "#", ":"))]
    text = "\n".join([neko, *(d["text"] for g in cc.values() for d in g), *sorted(contexts), *wiki])
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
        target, sentences, size = rng.randint(300, 1500), [], 0
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


def exact_pairs(texts: list[str], min_jaccard: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    pairs = np.unique(np.stack((doc, gram), axis=1), axis=0)  # sets, not multisets
    doc, gram = pairs[:, 0], pairs[:, 1]
    shape = (len(texts), int(gram.max()) + 1)
    full = csr_matrix((np.ones(doc.size, dtype=np.float32), (doc, gram)), shape=shape)
    sizes = np.bincount(doc, minlength=len(texts))
    # Exact candidates by prefix filtering (Chaudhuri et al. 2006; Bayardo et al. 2007): order 5-grams rarest first;
    # J(A, B) >= t implies |A & B| >= t * max(|A|, |B|), so the first |A| - ceil(t |A|) + 1 of A's 5-grams and B's
    # share one. Common 5-grams never pair documents up by themselves, which keeps the product sparse.
    df = np.bincount(gram)
    order = np.lexsort((gram, df[gram], doc))  # by document, then rarest first
    doc_o, gram_o = doc[order], gram[order]
    rank_in_doc = np.arange(doc_o.size) - (np.cumsum(sizes) - sizes)[doc_o]
    prefix = rank_in_doc < sizes[doc_o] - np.ceil(min_jaccard * sizes[doc_o]).astype(np.int64) + 1
    head = csr_matrix((np.ones(int(prefix.sum()), dtype=np.float32), (doc_o[prefix], gram_o[prefix])), shape=shape)
    cand = (head @ head.T).tocoo()
    upper = cand.row < cand.col
    i, j = cand.row[upper].astype(np.int64), cand.col[upper].astype(np.int64)
    small, large = np.minimum(sizes[i], sizes[j]), np.maximum(sizes[i], sizes[j])
    fits = small >= min_jaccard * large  # the size filter: J <= |small| / |large|
    i, j = i[fits], j[fits]
    both = np.empty(i.size, dtype=np.float64)
    for lo in range(0, i.size, 20_000):  # exact intersections, a chunk of candidate pairs at a time
        rows = full[i[lo : lo + 20_000]].multiply(full[j[lo : lo + 20_000]])
        both[lo : lo + 20_000] = np.asarray(rows.sum(axis=1)).ravel()
    jaccard = both / (sizes[i] + sizes[j] - both)
    keep = jaccard >= min_jaccard
    return i[keep], j[keep], jaccard[keep]


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
