"""An n-gram language model for perplexity filtering, cc_net style: SentencePiece pieces, modified Kneser-Ney, ARPA.

Querying uses KenLM's Python module (``kenlm``, from PyPI; it reads ARPA). Estimation is written here, in numpy,
because KenLM's estimator ``lmplz`` is not in that package: it is a separate C++ build that needs the Boost
development headers (libboost-program-options/system/thread-dev), which a fresh machine does not have and pip cannot
install. The estimator follows lmplz (Heafield et al. 2013): interpolated modified Kneser-Ney (Chen & Goodman 1998)
with three discounts per order from the count-of-counts of the adjusted counts, adjusted counts = number of distinct
left extensions except for the highest order and n-grams that start with ``<s>`` (raw counts), and the unigrams
interpolated with the uniform distribution over the vocabulary (``<unk>`` included). No pruning: it is meant for
models of a few million tokens. ``tests/corpus/test_lm.py`` compares its ARPA with lmplz's on the same input.

Counting is numpy ``unique`` over integer keys (an n-gram = rank of its first n-1 tokens, then its last token), so
estimation takes seconds for a few million tokens; memory is about ``order`` x 40 bytes per token.

A model folder (``jacorpus lm train``) holds ``sp.model`` (the SentencePiece model), ``lm.arpa``, ``lm.json``
(settings, counts, discounts, the corpus it came from) and, after ``jacorpus lm cutoffs``, ``percentiles.json``
(perplexity percentiles over a target corpus, for the ``perplexity`` step's buckets).
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from jacorpus.corpus.dedup.textnorm import nfkc

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
_DIGITS = re.compile(r"\d")
SP_MODEL, ARPA, META, PERCENTILES = "sp.model", "lm.arpa", "lm.json", "percentiles.json"


def normalize_for_lm(line: str) -> str:
    """cc_net's normalization (lower case, digits to 0, one space), over NFKC instead of cc_net's accent stripping:
    cc_net's NFD-and-drop-combining-marks turns が into か and パ into ハ, which merges different Japanese words."""
    return " ".join(_DIGITS.sub("0", nfkc(line).lower()).split())


def paragraphs(text: str) -> list[str]:
    """The units cc_net scores: lines, normalized; empty ones left out."""
    return [p for p in (normalize_for_lm(line) for line in text.split("\n")) if p]


# -- estimation --------------------------------------------------------------------------------------------------
@dataclass
class NgramOrder:
    first: np.ndarray  # a text position of each distinct n-gram (in rank order)
    log10_prob: np.ndarray
    log10_backoff: np.ndarray  # 0 where the n-gram is no context
    tokens: np.ndarray | None = None  # (n-grams, n) token ids, filled at the end


class DiscountError(ValueError):
    pass


def _discounts(adjusted: np.ndarray, order: int) -> np.ndarray:
    """D(0)=0, D(1), D(2), D(3+) from the count-of-counts t1..t4 (Chen & Goodman eq. 26, as lmplz)."""
    t = [int(np.count_nonzero(adjusted == k)) for k in (1, 2, 3, 4)]
    if min(t) == 0:
        raise DiscountError(f"order {order}: count-of-counts {t} has a zero; the corpus is too small for "
                            f"modified Kneser-Ney at this order (use a lower --order or more text)")
    y = t[0] / (t[0] + 2 * t[1])
    d = np.array([0.0] + [k - (k + 1) * y * t[k] / t[k - 1] for k in (1, 2, 3)])
    if not all(0 < d[k] <= k for k in (1, 2, 3)):  # lmplz's check
        raise DiscountError(f"order {order}: discounts {d[1:].tolist()} out of range (count-of-counts {t})")
    return d


def estimate_kneser_ney(sentences: Iterable[list[int]], vocab_size: int, order: int,
                        bos: int, eos: int, unk: int) -> tuple[list[NgramOrder], list[list[float]]]:
    """Interpolated modified Kneser-Ney over sentences of token ids in ``[0, vocab_size)``; ``bos``/``eos`` are
    added around each sentence here. Returns the orders (1..order) and the discounts per order.

    Every n-gram is numbered by its rank among the distinct n-grams of its order; an n-gram's key is
    rank(its first n-1 tokens) * vocab_size + last token, so keys sort like the token sequences and fit in 64 bits
    for any vocabulary. Per text position, ``rank[n][i]`` is the rank of the n-gram starting there, which gives
    each n-gram's context (rank[n-1][i]) and suffix (rank[n-1][i+1]) without any lookup.
    """
    parts, sids = [], []
    for number, sentence in enumerate(sentences):
        parts.append(np.asarray([bos, *sentence, eos], dtype=np.int64))
        sids.append(np.full(len(sentence) + 2, number, dtype=np.int64))
    if not parts:
        raise ValueError("no sentences to estimate from")
    ids, sid = np.concatenate(parts), np.concatenate(sids)
    del parts, sids
    total_positions = len(ids)

    ranks: list[np.ndarray] = []  # per order: rank of the n-gram starting at each position (-1: crosses a sentence)
    firsts: list[np.ndarray] = []  # per order: a position where each distinct n-gram occurs
    raw: list[np.ndarray] = []
    for n in range(1, order + 1):
        m = total_positions - n + 1
        if m <= 0:
            raise ValueError(f"too little text for order {n}")
        valid = sid[:m] == sid[n - 1 : n - 1 + m]
        if n == 1:
            key = ids
        else:
            prefix = ranks[-1][:m]
            key = np.where(valid, prefix * vocab_size + ids[n - 1 : n - 1 + m], -1)
        at = np.nonzero(valid)[0]
        _, first, inverse, counts = np.unique(key[at], return_index=True, return_inverse=True, return_counts=True)
        rank = np.full(total_positions, -1, dtype=np.int64)
        rank[at] = inverse
        ranks.append(rank)
        firsts.append(at[first])
        raw.append(counts.astype(np.float64))

    def suffix_rank(n: int) -> np.ndarray:  # rank (in order n-1) of each distinct n-gram without its first token
        return ranks[n - 2][firsts[n - 1] + 1]

    adjusted = []
    for n in range(1, order + 1):
        a = raw[n - 1].copy()
        if n < order:  # continuation counts: distinct left extensions, except at <s> (nothing to its left)
            left = np.bincount(suffix_rank(n + 1), minlength=len(a)).astype(np.float64)
            extendable = ids[firsts[n - 1]] != bos
            assert np.all(left[extendable] > 0), "every n-gram not at <s> has a left extension"
            a[extendable] = left[extendable]
        adjusted.append(a)

    out: list[NgramOrder] = []
    discounts: list[list[float]] = []
    for n in range(1, order + 1):
        a, first = adjusted[n - 1], firsts[n - 1]
        predicted = ids[first + n - 1] != bos  # only the unigram <s>: it is never predicted
        d = _discounts(a[predicted], n)
        discounts.append(d[1:].tolist())
        context = ranks[n - 2][first] if n > 1 else np.zeros(len(a), dtype=np.int64)
        groups = (len(out[-1].first) if n > 1 else 1)
        ap, cp = a[predicted], context[predicted]
        total = np.bincount(cp, weights=ap, minlength=groups)
        disc = d[np.minimum(ap, 3).astype(np.int64)]
        mass = np.bincount(cp, weights=disc, minlength=groups)  # D1*N1 + D2*N2 + D3*N3+ of each context
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = mass / total  # NaN for n-grams that are nobody's context
        if n == 1:
            vocabulary = int(predicted.sum()) + (0 if np.any(ids[first] == unk) else 1)  # <unk> shares the uniform
            lower = np.full(len(ap), 1.0 / vocabulary)
            unigram_gamma = float(gamma[0])
        else:
            lower = 10.0 ** out[-1].log10_prob[suffix_rank(n)[predicted]]
        prob = (ap - disc) / total[cp] + gamma[cp] * lower
        full = np.full(len(a), -99.0)  # <s>: SRILM/KenLM's "never predicted"
        full[predicted] = np.log10(prob)
        if n > 1:  # the backoff of an (n-1)-gram is its interpolation weight as a context
            has = total > 0
            out[-1].log10_backoff[has] = np.log10(gamma[has])
        out.append(NgramOrder(first=first, log10_prob=full, log10_backoff=np.zeros(len(a))))
    for level, n in zip(out, range(1, order + 1)):
        level.tokens = ids[level.first[:, None] + np.arange(n)]
    if not np.any(ids[out[0].first] == unk):  # an unseen <unk> has only its uniform share of the unigram mass
        u = out[0]
        u.tokens = np.vstack([u.tokens, [[unk]]])
        u.log10_prob = np.append(u.log10_prob, math.log10(unigram_gamma / vocabulary))
        u.log10_backoff = np.append(u.log10_backoff, 0.0)
    return out, discounts


def write_arpa(orders: list[NgramOrder], vocabulary: list[str], path: str) -> None:
    """ARPA text: log10 probability, the words, and (below the highest order) the log10 backoff."""
    words = np.asarray(vocabulary, dtype=object)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\\data\\\n")
        for n, level in enumerate(orders, 1):
            fh.write(f"ngram {n}={len(level.log10_prob)}\n")
        for n, level in enumerate(orders, 1):
            fh.write(f"\n\\{n}-grams:\n")
            texts = words[level.tokens[:, 0]]
            for k in range(1, n):
                texts = texts + " " + words[level.tokens[:, k]]
            probs = level.log10_prob.tolist()
            if n < len(orders):
                fh.writelines(f"{p:.7g}\t{t}\t{b:.7g}\n" for p, t, b in zip(probs, texts, level.log10_backoff.tolist()))
            else:
                fh.writelines(f"{p:.7g}\t{t}\n" for p, t in zip(probs, texts))
        fh.write("\n\\end\\\n")


# -- a model folder ----------------------------------------------------------------------------------------------
def train_lm(texts: Iterable[str], out_dir: str, *, order: int = 5, vocab_size: int = 8000,
             corpus: str | None = None, seed: int = 0) -> dict[str, Any]:
    """SentencePiece (unigram) on the normalized paragraphs, then modified Kneser-Ney over their pieces."""
    import sentencepiece as spm

    os.makedirs(out_dir, exist_ok=True)
    lines: list[str] = []
    documents = 0
    for text in texts:
        documents += 1
        lines.extend(paragraphs(text))
    if not lines:
        raise ValueError("the corpus has no text to train a language model on")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
        sp_input = fh.name
    spm.set_random_generator_seed(seed)  # its sentence sampling; the same corpus gives the same model
    try:
        spm.SentencePieceTrainer.train(
            input=sp_input, model_prefix=os.path.join(out_dir, "sp"), vocab_size=vocab_size, model_type="unigram",
            character_coverage=0.9995, hard_vocab_limit=False, input_sentence_size=2_000_000,
            shuffle_input_sentence=True, seed_sentencepiece_size=1_000_000, num_threads=1, minloglevel=2,
            bos_id=-1, eos_id=-1, unk_id=0,
        )
    finally:
        os.unlink(sp_input)
    os.remove(os.path.join(out_dir, "sp.vocab"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out_dir, SP_MODEL))
    vocabulary = [UNK, BOS, EOS]
    index = {UNK: 0, BOS: 1, EOS: 2}
    sentences = []
    tokens = 0
    for pieces in sp.encode(lines, out_type=str):
        ids = []
        for piece in pieces:
            if piece not in index:  # an unknown character comes back as itself: one more vocabulary word
                index[piece] = len(vocabulary)
                vocabulary.append(piece)
            ids.append(index[piece])
        tokens += len(ids)
        sentences.append(ids)
    orders, discounts = estimate_kneser_ney(sentences, len(vocabulary), order, bos=1, eos=2, unk=0)
    write_arpa(orders, vocabulary, os.path.join(out_dir, ARPA))
    meta = {
        "format": "jacorpus-ngram-lm/1", "order": order, "estimator": "modified Kneser-Ney (jacorpus.corpus.lm)",
        "tokenizer": {"type": "sentencepiece-unigram", "vocab_size": vocab_size, "file": SP_MODEL},
        "normalization": "NFKC, lower case, digits to 0, whitespace collapsed (per line)",
        "corpus": corpus, "documents": documents, "paragraphs": len(lines), "tokens": tokens,
        "ngrams": [len(level.log10_prob) for level in orders], "discounts": discounts,
    }
    with open(os.path.join(out_dir, META), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, indent=2)
    return meta


class LanguageModel:
    """The SentencePiece model and the KenLM model of a model folder; scores normalized paragraphs."""

    def __init__(self, directory: str) -> None:
        import kenlm
        import sentencepiece as spm

        for name in (SP_MODEL, ARPA, META):
            if not os.path.isfile(os.path.join(directory, name)):
                raise FileNotFoundError(f"not a language model folder (no {name}): {directory}")
        self.directory = directory
        with open(os.path.join(directory, META), encoding="utf-8") as fh:
            self.meta = json.load(fh)
        self.sp = spm.SentencePieceProcessor(model_file=os.path.join(directory, SP_MODEL))
        self.kenlm = kenlm.Model(os.path.join(directory, ARPA))

    def paragraph_scores(self, text: str) -> list[tuple[float, int]]:
        """(log10 probability, tokens incl. </s>) of every paragraph (line) of the text."""
        lines = paragraphs(text)
        if not lines:
            return []
        return [(self.kenlm.score(" ".join(pieces), bos=True, eos=True), len(pieces) + 1)
                for pieces in self.sp.encode(lines, out_type=str)]

    def perplexity(self, text: str) -> float | None:
        """cc_net's document perplexity: 10 ** (-total log10 probability / total tokens); None without text."""
        scores = self.paragraph_scores(text)
        return document_perplexity(scores)


def document_perplexity(scores: list[tuple[float, int]]) -> float | None:
    if not scores:
        return None
    return 10.0 ** (-sum(s for s, _ in scores) / sum(n for _, n in scores))


_MODELS: dict[tuple[str, int], LanguageModel] = {}


def load_lm(directory: str) -> LanguageModel:
    """One model per process and folder (reloaded when the ARPA file changes)."""
    key = (os.path.abspath(directory), os.stat(os.path.join(directory, ARPA)).st_mtime_ns)
    if key not in _MODELS:
        _MODELS[key] = LanguageModel(directory)
    return _MODELS[key]


def corpus_percentiles(model: LanguageModel, texts: Iterable[str], corpus: str | None = None) -> dict[str, Any]:
    """Document perplexity percentiles 1..99 over the texts (cc_net's bucket cutoffs are the 30th and 60th)."""
    values = [p for p in (model.perplexity(t) for t in texts) if p is not None]
    if not values:
        raise ValueError("no document with text to score")
    qs = np.percentile(np.asarray(values), np.arange(1, 100))
    return {"corpus": corpus, "documents": len(values),
            "percentiles": {str(q): float(v) for q, v in zip(range(1, 100), qs)}}
