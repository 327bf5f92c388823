"""Extend a base model's tokenizer with dictionary terms, for continued pretraining (e.g. Llama on medical text).

A base tokenizer (a Hub model's, or any ``tokenizer train`` folder) keeps every token and id it has; the terms of a
``dict build`` folder that it splits into several tokens and that occur in the domain corpus become new tokens at the
end of the vocabulary, seed terms (curated, e.g. MANBYO) before extracted ones, then by frequency in the corpus, as
``tokenizer train`` chooses them. ``train run`` with ``init_from`` then grows the embeddings and initialises each new
row from the mean of its sub-token rows (train/model.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from typing import Any, Iterable

from jacorpus.tokenizers.corpus_text import SampleCap, iter_texts
from jacorpus.tokenizers.dictionary import read_terms
from jacorpus.tokenizers.loading import load_tokenizer

# files of a tokenizer folder that save_pretrained may not write again (never model weights or configs)
TOKENIZER_FILE_SUFFIXES = (".py", ".dic", ".model", ".vocab")


def count_occurrences(terms: list[str], texts: Iterable[str]) -> Counter:
    """How often each term occurs in the texts (overlapping occurrences of different terms each count)."""
    if not terms:
        return Counter()
    # one alternation, longest first, scanned once per text; every term found is counted where it starts
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)))
    counts: Counter = Counter()
    for text in texts:
        counts.update(m.group(0) for m in pattern.finditer(text))
    return counts


def choose_new_tokens(tokenizer: Any, rows: list[dict[str, str]], counts: Counter | None, min_count: int,
                      max_terms: int | None) -> tuple[list[str], dict[str, int]]:
    """Terms to add: not already one token, occurring ``min_count`` times (when a corpus is given), seeds first."""
    vocab = tokenizer.get_vocab()
    skipped: Counter = Counter()
    chosen: list[tuple[int, int, int, str]] = []
    seen: set[str] = set()
    for position, row in enumerate(rows):
        term = row["term"].strip()
        if not term or term in seen:
            continue
        seen.add(term)
        if any(ch.isspace() for ch in term):
            skipped["contains a space"] += 1
            continue
        if term in vocab or len(tokenizer.tokenize(term)) <= 1:
            skipped["already one token"] += 1
            continue
        count = counts.get(term, 0) if counts is not None else int(row.get("frequency") or 0)
        if counts is not None and count < min_count:
            skipped[f"fewer than {min_count} occurrences in the corpus"] += 1
            continue
        seed = 0 if row.get("origin", "") == "seed" else 1
        chosen.append((seed, -count, position, term))
    chosen.sort()
    if max_terms is not None and len(chosen) > max_terms:
        skipped["over --max-terms"] += len(chosen) - max_terms
        chosen = chosen[:max_terms]
    return [term for *_, term in chosen], dict(skipped)


def extend_tokenizer(base: str, dictionary: str, out: str, corpus: list[str] | None = None, min_count: int = 2,
                     max_terms: int | None = None, trust_remote_code: bool | None = None) -> dict[str, Any]:
    """Write ``out``: the base tokenizer plus the chosen terms as new tokens; returns the report also saved as
    ``jacorpus_extension.json``."""
    tokenizer = load_tokenizer(base, trust_remote_code=trust_remote_code)
    before = len(tokenizer)
    rows = read_terms(dictionary)
    counts = None
    if corpus:
        counts = count_occurrences([r["term"] for r in rows if r["term"].strip()],
                                   iter_texts(corpus, SampleCap(documents=None, characters=100_000_000)))
    terms, skipped = choose_new_tokens(tokenizer, rows, counts, min_count, max_terms)
    added = tokenizer.add_tokens(terms)
    staging = out.rstrip("/") + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer.save_pretrained(staging)
    if os.path.isdir(base):  # a tokenizer's own code and data files (Sudachi user dictionary...) travel with it
        for name in os.listdir(base):
            if name.endswith(TOKENIZER_FILE_SUFFIXES) and not os.path.exists(os.path.join(staging, name)):
                shutil.copy2(os.path.join(base, name), os.path.join(staging, name))
    report = {"base": base, "dictionary": dictionary, "corpus": corpus or [], "base_size": before,
              "added": added, "size": len(tokenizer), "skipped": skipped, "terms": terms}
    with open(os.path.join(staging, "jacorpus_extension.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, ensure_ascii=False, indent=1)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.replace(staging, out)
    return report
