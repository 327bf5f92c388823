"""`jacorpus tokenizer eval`: tokenizers side by side on the same text.

Metrics (tokens never include special tokens):
- tokens/char, tokens/word: words are Sudachi words (split mode C, no user dictionary) of the NFKC text;
- unk rate: share of tokens that are the unknown token;
- round trip: share of documents whose decoded ids give back the text up to NFKC and whitespace (WordPiece decoding
  puts spaces between words and word-level tokenizers drop spaces, so whitespace cannot count; SentencePiece's
  nmt_nfkc keeps some characters NFKC changes, such as ～);
- terms whole: share of dictionary-term occurrences (leftmost-longest, in the NFKC text) that are exactly one token;
- chars/s: encoding throughput of one batch call over all documents, after a warm-up call.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

COLUMNS = [
    ("tokens_per_char", "tokens/char", "{:.3f}"), ("tokens_per_word", "tokens/word", "{:.3f}"),
    ("unk_rate", "unk rate", "{:.4%}"), ("roundtrip", "round trip", "{:.1%}"),
    ("terms_whole", "terms whole", "{:.1%}"), ("chars_per_second", "chars/s", "{:,.0f}"),
]


@dataclass
class TokenizerScores:
    name: str
    vocab_size: int
    tokens: int
    tokens_per_char: float
    tokens_per_word: float
    unk_rate: float
    roundtrip: float
    terms_whole: float | None
    term_occurrences: int
    chars_per_second: float


def _no_space(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def term_list(terms_path: str | None, tokenizer_dirs: list[str]) -> list[str]:
    """Terms to check: the given file, else the union of the tokenizers' dictionary_terms.txt."""
    from jacorpus.tokenizers.dictionary import read_terms
    from jacorpus.tokenizers.terms import normalize_term

    if terms_path:
        return sorted({normalize_term(r["term"]) for r in read_terms(terms_path)} - {""})
    found: set[str] = set()
    for folder in tokenizer_dirs:
        path = os.path.join(folder, "dictionary_terms.txt")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                found.update(normalize_term(line) for line in fh if line.strip())
    return sorted(found)


def score_tokenizer(name: str, tokenizer: Any, texts: list[str], words: int, matcher) -> TokenizerScores:
    from jacorpus.tokenizers.align import token_spans

    tokenizer(texts[:8], add_special_tokens=False, verbose=False)  # warm-up (lazy Sudachi / MeCab start)
    started = time.perf_counter()
    encoded = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    seconds = time.perf_counter() - started
    chars = sum(map(len, texts))
    tokens = sum(map(len, encoded))
    unk = sum(ids.count(tokenizer.unk_token_id) for ids in encoded) if tokenizer.unk_token_id is not None else 0
    same = sum(
        _no_space(tokenizer.decode(ids, skip_special_tokens=True)) == _no_space(text)
        for ids, text in zip(encoded, texts)
    )
    whole = occurrences = 0
    if matcher is not None:
        for text in texts:
            norm, _, spans = token_spans(tokenizer, text)
            span_set = set(spans)
            for start, end, _ in matcher.find_longest(norm):
                occurrences += 1
                whole += (start, end) in span_set
    return TokenizerScores(
        name=name, vocab_size=len(tokenizer), tokens=tokens, tokens_per_char=tokens / max(chars, 1),
        tokens_per_word=tokens / max(words, 1), unk_rate=unk / max(tokens, 1), roundtrip=same / max(len(texts), 1),
        terms_whole=whole / occurrences if occurrences else None, term_occurrences=occurrences,
        chars_per_second=chars / seconds if seconds > 0 else float("inf"),
    )


def markdown_table(scores: list[TokenizerScores], documents: int, chars: int, words: int) -> str:
    head = "| tokenizer | vocab | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    rule = "|---|---:|" + "---:|" * len(COLUMNS)
    rows = []
    for s in scores:
        cells = []
        for key, _, fmt in COLUMNS:
            value = getattr(s, key)
            cells.append("-" if value is None else fmt.format(value))
        rows.append(f"| {s.name} | {s.vocab_size} | " + " | ".join(cells) + " |")
    note = f"\n{documents} documents, {chars} characters, {words} Sudachi words (mode C)."
    return "\n".join([head, rule, *rows]) + note


def plot(scores: list[TokenizerScores], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    names = [s.name for s in scores]
    for ax, (key, label, _) in zip(axes.flat, COLUMNS):
        values = [getattr(s, key) or 0.0 for s in scores]
        ax.bar(range(len(names)), values, color="#4c72b0")
        ax.set_title(label)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate_tokenizers(tokenizer_dirs: list[str], text_paths: list[str], terms_path: str | None = None,
                        out_dir: str | None = None, max_documents: int = 2000, progress: bool = False) -> str:
    from tqdm.auto import tqdm

    from jacorpus.tokenizers.corpus_text import SampleCap, iter_texts
    from jacorpus.tokenizers.loading import load_tokenizer
    from jacorpus.tokenizers.sudachi_split import SudachiWords
    from jacorpus.tokenizers.terms import TermMatcher

    texts = list(iter_texts(text_paths, SampleCap(documents=max_documents)))
    if not texts:
        raise ValueError(f"no text in {text_paths}")
    sudachi = SudachiWords("C")
    words = sum(len(sudachi.spans(unicodedata.normalize("NFKC", t))) for t in texts)
    terms = term_list(terms_path, tokenizer_dirs)
    matcher = TermMatcher(terms) if terms else None
    names = [os.path.basename(os.path.normpath(d)) for d in tokenizer_dirs]
    pairs = tqdm(list(zip(names, tokenizer_dirs)), desc="evaluate", unit="tokenizer", disable=not progress)
    scores = [score_tokenizer(n, load_tokenizer(d), texts, words, matcher) for n, d in pairs]
    chars = sum(map(len, texts))
    table = markdown_table(scores, len(texts), chars, words)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "eval.md"), "w", encoding="utf-8") as fh:
            fh.write(table + "\n")
        with open(os.path.join(out_dir, "eval.json"), "w", encoding="utf-8") as fh:
            json.dump({"documents": len(texts), "characters": chars, "words": words, "terms": len(terms),
                       "scores": [asdict(s) for s in scores]}, fh, ensure_ascii=False, indent=2)
        plot(scores, os.path.join(out_dir, "eval.png"))
    return table
