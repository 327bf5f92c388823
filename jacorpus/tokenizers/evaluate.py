"""`jacorpus tokenizer eval`: tokenizers side by side on the same text.

Metrics (tokens never include special tokens):
- tokens/char, tokens/word: words are Sudachi words (split mode C, no user dictionary) of the NFKC text;
- chars/token: the figure published for Japanese LLM tokenizers (llm-jp's v3 tokenizer: about 2.0 at 99k);
- bare ▁: share of tokens that are only a whitespace mark; ▁ beyond text: bare marks beyond the whitespace runs of
  the text (a token spent on a word boundary, as in SentencePiece with a dummy prefix per Sudachi word);
- unk rate: share of tokens that are the unknown token;
- round trip: share of documents whose decoded ids are exactly the normalized text (NFKC, every whitespace run one
  space, none at the ends), spaces included; the first failures are kept (``roundtrip_failures``) and printed.
  WordPiece decoding puts a space between words (BERT), so it fails this by design; ``same chars`` compares without
  whitespace (a loss there is a lost or changed character);
- terms whole: share of dictionary-term occurrences (leftmost-longest, in the NFKC text) that are exactly one token;
  seed terms whole: the same for the seed (curated) terms of a ``dict build`` folder's terms.tsv;
- chars/s: encoding throughput of one batch call over all documents, after a warm-up call.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

COLUMNS = [
    ("tokens_per_char", "tokens/char", "{:.3f}"), ("chars_per_token", "chars/token", "{:.2f}"),
    ("tokens_per_word", "tokens/word", "{:.3f}"), ("bare_marker_rate", "bare ▁", "{:.2%}"),
    ("extra_marker_rate", "▁ beyond text", "{:.2%}"), ("unk_rate", "unk rate", "{:.4%}"),
    ("roundtrip", "round trip", "{:.1%}"), ("same_chars", "same chars", "{:.1%}"),
    ("terms_whole", "terms whole", "{:.1%}"), ("seed_terms_whole", "seed terms whole", "{:.1%}"),
    ("chars_per_second", "chars/s", "{:,.0f}"),
]
FAILURES_KEPT = 3


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
    chars_per_token: float = 0.0
    bare_marker_rate: float = 0.0
    extra_marker_rate: float = 0.0
    same_chars: float = 0.0
    seed_terms_whole: float | None = None
    seed_term_occurrences: int = 0
    roundtrip_failures: list[dict[str, Any]] = field(default_factory=list)


def _no_space(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def first_difference(expected: str, got: str, context: int = 20) -> dict[str, Any]:
    at = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(expected), len(got)))
    lo = max(0, at - context)
    return {"at": at, "expected": expected[lo:at + context], "got": got[lo:at + context]}


def term_list(terms_path: str | None, tokenizer_dirs: list[str]) -> tuple[list[str], set[str]]:
    """Terms to check (the given file, else the union of the tokenizers' dictionary_terms.txt) and which of them
    are seed terms (origin ``seed`` in a terms.tsv; every term of a plain list)."""
    from jacorpus.tokenizers.dictionary import read_terms
    from jacorpus.tokenizers.terms import normalize_term

    if terms_path:
        rows = read_terms(terms_path)
        terms = {normalize_term(r["term"]) for r in rows} - {""}
        seeds = {normalize_term(r["term"]) for r in rows if r.get("origin", "seed") == "seed"} - {""}
        return sorted(terms), seeds
    found: set[str] = set()
    for folder in tokenizer_dirs:
        path = os.path.join(folder, "dictionary_terms.txt")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                found.update(normalize_term(line) for line in fh if line.strip())
    return sorted(found), set()


def score_tokenizer(name: str, tokenizer: Any, texts: list[str], words: int, matcher,
                    seeds: set[str] | None = None) -> TokenizerScores:
    from jacorpus.tokenizers.align import token_spans, token_surface
    from jacorpus.tokenizers.sudachi_split import whitespace_normalized

    tokenizer(texts[:8], add_special_tokens=False, verbose=False)  # warm-up (lazy Sudachi / MeCab start)
    started = time.perf_counter()
    encoded = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    seconds = time.perf_counter() - started
    chars = sum(map(len, texts))
    tokens = sum(map(len, encoded))
    unk = sum(ids.count(tokenizer.unk_token_id) for ids in encoded) if tokenizer.unk_token_id is not None else 0
    same = same_chars = bare = runs = 0
    failures: list[dict[str, Any]] = []
    for i, (ids, text) in enumerate(zip(encoded, texts)):
        decoded, expected = tokenizer.decode(ids, skip_special_tokens=True), whitespace_normalized(text)
        if decoded == expected:
            same += 1
        elif len(failures) < FAILURES_KEPT:
            failures.append({"document": i, **first_difference(expected, decoded)})
        same_chars += _no_space(decoded) == _no_space(text)
        bare += sum(1 for t in tokenizer.convert_ids_to_tokens(ids) if t and not token_surface(t).strip())
        runs += expected.count(" ")
    whole = occurrences = seed_whole = seed_occurrences = 0
    if matcher is not None:
        for text in texts:
            norm, _, spans = token_spans(tokenizer, text)
            span_set = set(spans)
            for start, end, term in matcher.find_longest(norm):
                occurrences += 1
                whole += (start, end) in span_set
                if seeds and term in seeds:
                    seed_occurrences += 1
                    seed_whole += (start, end) in span_set
    return TokenizerScores(
        name=name, vocab_size=len(tokenizer), tokens=tokens, tokens_per_char=tokens / max(chars, 1),
        tokens_per_word=tokens / max(words, 1), unk_rate=unk / max(tokens, 1), roundtrip=same / max(len(texts), 1),
        terms_whole=whole / occurrences if occurrences else None, term_occurrences=occurrences,
        chars_per_second=chars / seconds if seconds > 0 else float("inf"),
        chars_per_token=chars / max(tokens, 1), bare_marker_rate=bare / max(tokens, 1),
        extra_marker_rate=max(0, bare - runs) / max(tokens, 1), same_chars=same_chars / max(len(texts), 1),
        seed_terms_whole=seed_whole / seed_occurrences if seed_occurrences else None,
        seed_term_occurrences=seed_occurrences, roundtrip_failures=failures,
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
    for s in scores:
        for f in s.roundtrip_failures:
            note += (f"\nround trip {s.name}: document {f['document']} differs at character {f['at']}: "
                     f"expected {f['expected']!r}, got {f['got']!r}")
    return "\n".join([head, rule, *rows]) + note


def plot(scores: list[TokenizerScores], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 4, figsize=(16, 9))
    names = [s.name for s in scores]
    for ax in list(axes.flat)[len(COLUMNS):]:
        ax.axis("off")
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
    terms, seeds = term_list(terms_path, tokenizer_dirs)
    matcher = TermMatcher(terms) if terms else None
    names = [os.path.basename(os.path.normpath(d)) for d in tokenizer_dirs]
    pairs = tqdm(list(zip(names, tokenizer_dirs)), desc="evaluate", unit="tokenizer", disable=not progress)
    scores = [score_tokenizer(n, load_tokenizer(d), texts, words, matcher, seeds) for n, d in pairs]
    chars = sum(map(len, texts))
    table = markdown_table(scores, len(texts), chars, words)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "eval.md"), "w", encoding="utf-8") as fh:
            fh.write(table + "\n")
        with open(os.path.join(out_dir, "eval.json"), "w", encoding="utf-8") as fh:
            json.dump({"documents": len(texts), "characters": chars, "words": words, "terms": len(terms),
                       "seed_terms": len(seeds),
                       "scores": [asdict(s) for s in scores]}, fh, ensure_ascii=False, indent=2)
        plot(scores, os.path.join(out_dir, "eval.png"))
    return table
