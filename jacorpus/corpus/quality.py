"""`quality`: document-level Japanese quality rules in presets, each rule with its own drop reason.

Presets (every threshold and its source: docs/quality.md):
- ``swallow``: the rules of the Swallow corpus v1 (Okazaki et al. 2024), characters as units, as in its
  reference script: length, hiragana/katakana/Japanese fractions, sentence lengths, ellipsis endings, duplicate
  lines and sentences, top character 2-4-grams, duplicate character 5-10-grams.
- ``fineweb2_ja``: FineWeb-2's ``jpn_Jpan`` thresholds for datatrove's Gopher repetition, FineWeb quality and
  Gopher quality filters, over SudachiPy mode A words (datatrove's Japanese word tokenizer).
- ``none``: nothing unless set.
Every rule is also an option: a number replaces the preset's threshold, ``null`` disables the rule.
Statistics are computed lazily, cheapest rules first; a document stops at its first failing rule.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, ClassVar, Literal

import numpy as np
from datatrove.data import Document
from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION
from pydantic import Field, create_model

from jacorpus.corpus import chartypes as ct
from jacorpus.corpus.limits import DEFAULT_MAX_RECORD_SECONDS
from jacorpus.corpus.steps import JaFilter, StepOptions, register_step

_SENTENCE = re.compile(r"[^。．！？!?\n]+[。．！？!?]?")  # Swallow's sentence pattern, within lines
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")
_STOP_CHARS = tuple(TERMINAL_PUNCTUATION)
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)  # rolling n-gram hash; collisions are negligible at 64 bits
FINEWEB2_JA_STOP_WORDS = ["の", "に", "を", "は", "た", "て", "が", "と", "で", "年", "し", "・", "月", "れ", "さ"]


def _dup_counts(items: list[str]) -> tuple[int, int]:
    """(repeated items, characters in repeats): every occurrence after the first counts."""
    counts = Counter(items)
    return sum(c - 1 for c in counts.values()), sum(len(s) * (c - 1) for s, c in counts.items())


def _is_content(word: str) -> bool:
    """datatrove's "non-symbol word": one character outside its punctuation set."""
    return any(ch not in PUNCTUATION_SET for ch in word)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


class DocStats:
    """Statistics of one text, each computed on first use."""

    def __init__(self, text: str, stop_words: frozenset[str], max_words: float | None) -> None:
        self.text = text
        self.stop_words = stop_words
        self.max_words = max_words  # word splitting stops once this is exceeded: the verdict is already known
        self._char_hash: tuple[int, np.ndarray] | None = None
        self._char_counts: dict[int, np.ndarray] = {}
        self._word_hash: dict[int, np.ndarray] = {}
        self._repeats: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    # -- characters ------------------------------------------------------------------------------------------
    @cached_property
    def counts(self) -> np.ndarray:
        return ct.class_counts(self.text)

    @cached_property
    def japanese_chars(self) -> int:
        return int(sum(self.counts[c] for c in ct.JAPANESE_CLASSES))

    def japanese_share(self, cls: int) -> float:
        return _ratio(int(self.counts[cls]), self.japanese_chars)

    # -- lines, paragraphs, sentences --------------------------------------------------------------------------
    @cached_property
    def lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line.strip()]

    def line_share(self, predicate: Callable[[str], bool], all_lines: bool = False) -> float:
        # datatrove counts blank lines in the denominator of its bullet/ellipsis-line rules
        den = len(self.text.splitlines()) if all_lines else len(self.lines)
        return _ratio(sum(1 for line in self.lines if predicate(line)), den)

    @cached_property
    def line_dups(self) -> tuple[int, int]:
        return _dup_counts(self.lines)

    @cached_property
    def paragraph_dups(self) -> tuple[int, int, int]:
        paragraphs = _PARAGRAPH_BREAK.split(self.text.strip())
        return (len(paragraphs), *_dup_counts(paragraphs))

    @cached_property
    def sentences(self) -> list[str]:
        return _SENTENCE.findall(self.text)

    @cached_property
    def sentence_lengths(self) -> list[int]:
        return [len(s) for s in self.sentences]

    @cached_property
    def sentence_dups(self) -> tuple[int, int]:
        return _dup_counts(self.sentences)

    @cached_property
    def avg_sentence_chars(self) -> float:
        return _ratio(sum(self.sentence_lengths), len(self.sentences))

    @property
    def ellipsis_sentence_fraction(self) -> float:
        return _ratio(sum(1 for x in self.sentences if x.strip().endswith(("・", "…"))), len(self.sentences))

    # -- character n-grams (Swallow: top = most frequent / all n-grams, dup = repeated / distinct n-grams) --------
    def char_ngram_counts(self, n: int) -> np.ndarray:
        if n not in self._char_counts:
            cps = ct.codepoints(self.text).astype(np.uint64)
            k, h = self._char_hash or (1, cps)
            while k < n:  # extend the rolling hash one character at a time
                h, k = h[:-1] * _HASH_MULT + cps[k:], k + 1
            self._char_hash = (k, h)
            self._char_counts[n] = np.unique(h, return_counts=True)[1] if len(h) else np.zeros(0, np.int64)
        return self._char_counts[n]

    def top_char_ngram(self, n: int) -> float:
        counts = self.char_ngram_counts(n)
        return _ratio(int(counts.max()), int(counts.sum())) if len(counts) else 0.0

    def dup_char_ngram(self, n: int) -> float:
        counts = self.char_ngram_counts(n)
        return _ratio(int((counts > 1).sum()), len(counts))

    # -- words (SudachiPy mode A, as datatrove's Japanese tokenizer) ---------------------------------------------
    @cached_property
    def words(self) -> list[str]:
        words: list[str] = []
        content = 0
        for chunk in ct.iter_sudachi_words(self.text):
            words.extend(chunk)
            # content words <= words: count them only once the bound can be passed (most pages never get there)
            if self.max_words is not None and len(words) > self.max_words:
                content += sum(map(_is_content, chunk))
                if content > self.max_words:
                    break
        return words

    @cached_property
    def _word_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(id of each word, length, content flag, letter flag of each distinct word): the per-word tests run once
        per distinct word (a process-wide cache) instead of once per word (measured: 40 % of the preset's time)."""
        distinct = list(dict.fromkeys(self.words))
        index = {w: i for i, w in enumerate(distinct)}
        ids = np.fromiter(map(index.__getitem__, self.words), dtype=np.int64, count=len(self.words))
        flags = np.array([_word_flags(w) for w in distinct], dtype=bool).reshape(len(distinct), 2)
        lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
        return ids, lengths, flags[:, 0], flags[:, 1]

    @cached_property
    def content_mask(self) -> np.ndarray:
        ids, _, content, _ = self._word_table
        return content[ids]

    @cached_property
    def content_count(self) -> int:
        return int(self.content_mask.sum())

    @cached_property
    def avg_word_chars(self) -> float:
        return _ratio(int(self.word_lengths[self.content_mask].sum()), self.content_count)

    @cached_property
    def alpha_words(self) -> int:
        ids, _, _, alpha = self._word_table
        return int(alpha[ids].sum())

    def word_ratio(self, count: int) -> float:
        return _ratio(count, len(self.words))

    @cached_property
    def word_lengths(self) -> np.ndarray:
        ids, lengths, _, _ = self._word_table
        return lengths[ids]

    def word_hash(self, n: int) -> np.ndarray:
        if not self._word_hash:
            self._word_hash[1] = self._word_table[0].astype(np.uint64)
        k = max(self._word_hash)
        while k < n:
            self._word_hash[k + 1] = self._word_hash[k][:-1] * _HASH_MULT + self._word_hash[1][k:]
            k += 1
        return self._word_hash[n]

    def window_chars(self, n: int) -> np.ndarray:
        lengths = np.concatenate(([0], np.cumsum(self.word_lengths)))
        return lengths[n:] - lengths[:-n] if len(self.words) >= n else np.zeros(0, np.int64)

    def top_word_ngram(self, n: int) -> float:
        """datatrove: characters of the most frequent n-gram (space-joined, first seen wins ties) x count / chars."""
        if not len(self.word_hash(n)):
            return 0.0
        where, first = self.repeated_word_ngrams(n)
        top, best = 1, 0  # no n-gram repeats: each occurs once, the first one wins
        if len(where):  # each repeated n-gram is named by its first position
            firsts, counts = np.unique(first, return_counts=True)
            top = int(counts.max())
            best = int(firsts[counts == top].min())
        return _ratio(top * (int(self.window_chars(n)[best]) + n - 1), len(self.text))

    def repeated_word_ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions (ascending) whose word n-gram occurs more than once, and where each one's n-gram first occurs.

        An n-gram repeats only where its (n-1)-gram prefix repeats, so from a shorter length only those positions
        are sorted again (fineweb2_ja asks 2, 3, 4, 5, ... 10: one full sort, then shrinking subsets)."""
        if n not in self._repeats:
            h = self.word_hash(n)
            shorter = [k for k in self._repeats if k < n]
            where = self._repeats[max(shorter)][0] if shorter else np.arange(len(h))
            where = where[where < len(h)]
            _, first, inverse, counts = np.unique(h[where], return_index=True, return_inverse=True, return_counts=True)
            keep = counts[inverse] > 1
            self._repeats[n] = (where[keep], where[first[inverse[keep]]])
        return self._repeats[n]

    def dup_word_ngram(self, n: int) -> float:
        """datatrove: characters of repeated n-grams, scanning left to right and jumping over each repeat."""
        where, first = self.repeated_word_ngrams(n)
        later = where > first  # not the first occurrence
        where, first = where[later], first[later]
        return _ratio(_jump_scan(where.tolist(), first.tolist(), self.word_hash(n)[where].tolist(),
                                 self.window_chars(n)[where].tolist(), n), len(self.text))


_FLAG_CACHE: dict[str, tuple[bool, bool]] = {}
_FLAG_CACHE_MAX = 2_000_000  # distinct words kept (about 200 MB at most); cleared when full


def _word_flags(word: str) -> tuple[bool, bool]:
    """(datatrove's "non-symbol word", has a letter) of one word, cached per process."""
    flags = _FLAG_CACHE.get(word)
    if flags is None:
        if len(_FLAG_CACHE) >= _FLAG_CACHE_MAX:
            _FLAG_CACHE.clear()
        flags = _FLAG_CACHE[word] = (_is_content(word), _has_alpha(word))
    return flags


def _jump_scan(later: list[int], first: list[int], hashes: list[int], chars: list[int], n: int) -> int:
    """datatrove's find_all_duplicate, visiting only the positions whose n-gram occurred earlier.

    Its scan visits positions left to right; a visited n-gram already seen is a repeat: its characters count and the
    scan jumps n positions ahead, else the n-gram becomes seen. So an n-gram is seen exactly when one of its earlier
    occurrences was visited, and a first occurrence is visited unless a repeat's jump passed over it. The Python
    loop then runs over the repeats only (a few % of the positions of a normal page) instead of every position.
    """
    repeats: list[int] = []  # visited repeats, ascending; each one hides the n - 1 positions after it
    seen: set[int] = set()  # n-grams seen at a visited position that is not a first occurrence
    free, repeated = 0, 0
    for pos, first_pos, h, c in zip(later, first, hashes, chars):
        if pos < free:
            continue  # jumped over
        j = bisect_left(repeats, first_pos) - 1
        first_visited = j < 0 or first_pos >= repeats[j] + n
        if first_visited or h in seen:
            repeated += c
            repeats.append(pos)
            free = pos + n
        else:
            seen.add(h)
    return repeated


@dataclass(frozen=True)
class Rule:
    name: str  # option key and drop reason
    bound: Literal["min", "max"]
    value: Callable[[DocStats], float]


def _is_bullet(line: str) -> bool:
    return line.lstrip().startswith(("•", "-"))


def _ends_with_ellipsis(line: str) -> bool:
    return line.rstrip().endswith(("...", "…"))


def _line_rules() -> list[Rule]:
    return [
        Rule("max_dup_line_fraction", "max", lambda s: _ratio(s.line_dups[0], len(s.lines))),
        Rule("max_dup_line_char_fraction", "max", lambda s: _ratio(s.line_dups[1], len(s.text) - s.text.count("\n"))),
        Rule("max_dup_paragraph_fraction", "max", lambda s: _ratio(s.paragraph_dups[1], s.paragraph_dups[0])),
        Rule("max_dup_paragraph_char_fraction", "max", lambda s: _ratio(s.paragraph_dups[2], len(s.text))),
        Rule("min_line_punct_fraction", "min", lambda s: s.line_share(lambda line: line.endswith(_STOP_CHARS))),
        Rule("max_short_line_fraction", "max", lambda s: s.line_share(lambda line: len(line) <= 30)),
        Rule("max_bullet_line_fraction", "max", lambda s: s.line_share(_is_bullet, all_lines=True)),
        Rule("max_ellipsis_line_fraction", "max", lambda s: s.line_share(_ends_with_ellipsis, all_lines=True)),
    ]


def _sentence_rules() -> list[Rule]:
    return [
        Rule("min_avg_sentence_chars", "min", lambda s: s.avg_sentence_chars),
        Rule("max_avg_sentence_chars", "max", lambda s: s.avg_sentence_chars),
        Rule("max_sentence_chars", "max", lambda s: max(s.sentence_lengths, default=0)),
        Rule("max_ellipsis_sentence_fraction", "max", lambda s: s.ellipsis_sentence_fraction),
        Rule("max_dup_sentence_fraction", "max", lambda s: _ratio(s.sentence_dups[0], len(s.sentences))),
        Rule("max_dup_sentence_char_fraction", "max", lambda s: _ratio(s.sentence_dups[1], sum(s.sentence_lengths))),
    ]


def _word_rules() -> list[Rule]:
    return [
        Rule("min_words", "min", lambda s: s.content_count),
        Rule("max_words", "max", lambda s: s.content_count),
        Rule("min_avg_word_chars", "min", lambda s: s.avg_word_chars),
        Rule("max_avg_word_chars", "max", lambda s: s.avg_word_chars),
        Rule("max_hash_word_ratio", "max", lambda s: s.word_ratio(s.text.count("#"))),
        Rule("max_ellipsis_word_ratio", "max", lambda s: s.word_ratio(s.text.count("...") + s.text.count("…"))),
        Rule("min_alpha_word_fraction", "min", lambda s: s.word_ratio(s.alpha_words)),
        Rule("min_stop_words", "min", lambda s: len(s.stop_words.intersection(s.words))),
        Rule("max_newline_word_ratio", "max", lambda s: s.word_ratio(s.text.count("\n"))),
    ]


def _has_alpha(word: str) -> bool:
    return any(ch.isalpha() for ch in word)


RULES: list[Rule] = [
    Rule("min_chars", "min", lambda s: len(s.text)),
    Rule("max_chars", "max", lambda s: len(s.text)),
    Rule("min_japanese_chars", "min", lambda s: s.japanese_chars),
    Rule("min_hiragana_fraction", "min", lambda s: s.japanese_share(ct.HIRAGANA)),
    Rule("max_katakana_fraction", "max", lambda s: s.japanese_share(ct.KATAKANA)),
    Rule("min_japanese_fraction", "min", lambda s: _ratio(s.japanese_chars, len(s.text))),
    *_line_rules(),
    *_sentence_rules(),
    *[Rule(f"max_top_{n}gram_char_fraction", "max", lambda s, n=n: s.top_char_ngram(n)) for n in (2, 3, 4)],
    *[Rule(f"max_dup_{n}gram_char_fraction", "max", lambda s, n=n: s.dup_char_ngram(n)) for n in range(5, 11)],
    *_word_rules(),
    *[Rule(f"max_top_{n}gram_word_fraction", "max", lambda s, n=n: s.top_word_ngram(n)) for n in (2, 3, 4)],
    *[Rule(f"max_dup_{n}gram_word_fraction", "max", lambda s, n=n: s.dup_word_ngram(n)) for n in range(5, 11)],
]
RULES_BY_NAME = {rule.name: rule for rule in RULES}
RULE_NAMES = list(RULES_BY_NAME)

PRESETS: dict[str, dict[str, float]] = {
    "swallow": {
        "min_chars": 400, "min_japanese_chars": 400, "min_hiragana_fraction": 0.2, "max_katakana_fraction": 0.5,
        "min_japanese_fraction": 0.5, "min_avg_sentence_chars": 20, "max_avg_sentence_chars": 90,
        "max_sentence_chars": 200, "max_ellipsis_sentence_fraction": 0.2,
        "max_dup_line_fraction": 0.30, "max_dup_line_char_fraction": 0.20,
        "max_dup_sentence_fraction": 0.30, "max_dup_sentence_char_fraction": 0.20,
        **{f"max_top_{n}gram_char_fraction": t for n, t in ((2, 0.20), (3, 0.18), (4, 0.16))},
        **{f"max_dup_{n}gram_char_fraction": t for n, t in zip(range(5, 11), (0.15, 0.14, 0.13, 0.12, 0.11, 0.10))},
    },
    "fineweb2_ja": {
        "max_dup_line_fraction": 0.375, "max_dup_line_char_fraction": 0.1, "min_line_punct_fraction": 0.167,
        "max_bullet_line_fraction": 0.9, "max_ellipsis_line_fraction": 0.3,
        "min_words": 50, "max_words": 100_000, "min_avg_word_chars": 1, "max_avg_word_chars": 5,
        "max_hash_word_ratio": 0.1, "max_ellipsis_word_ratio": 0.1, "min_alpha_word_fraction": 0.759,
        "min_stop_words": 2, "max_newline_word_ratio": 0.162,
        **{f"max_top_{n}gram_word_fraction": t for n, t in ((2, 0.121), (3, 0.129), (4, 0.145))},
        **{f"max_dup_{n}gram_word_fraction": t for n, t in zip(range(5, 11), (0.307, 0.283, 0.264, 0.248, 0.234, 0.223))},
    },
    "none": {},
}

QualityOptions = create_model(
    "QualityOptions",
    __base__=StepOptions,
    preset=(Literal["swallow", "fineweb2_ja", "none"], "swallow"),
    stop_words=(list[str], Field(default_factory=lambda: list(FINEWEB2_JA_STOP_WORDS))),
    **{name: (float | None, None) for name in RULE_NAMES},
)


def active_rules(options: StepOptions) -> list[tuple[str, float]]:
    """(rule, threshold) in evaluation order: the preset's thresholds, then what the recipe set (null disables)."""
    thresholds: dict[str, float | None] = dict(PRESETS[options.preset])
    for name in options.model_fields_set & set(RULE_NAMES):
        thresholds[name] = getattr(options, name)
    return [(name, thresholds[name]) for name in RULE_NAMES if thresholds.get(name) is not None]


def first_failing_rule(text: str, rules: list[tuple[str, float]], stop_words: frozenset[str]) -> str | None:
    stats = DocStats(text, stop_words, max_words=dict(rules).get("max_words"))
    for name, threshold in rules:
        rule = RULES_BY_NAME[name]
        value = rule.value(stats)
        if (value < threshold) if rule.bound == "min" else (value > threshold):
            return name
    return None


@register_step
class QualityFilter(JaFilter):
    """Drops a document at its first failing rule; the reason is the rule's name (e.g. ``min_hiragana_fraction``)."""

    name = "quality"
    max_record_seconds = DEFAULT_MAX_RECORD_SECONDS  # Sudachi words of one document
    Options: ClassVar[type[StepOptions]] = QualityOptions

    def __init__(self, options: StepOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        self.rules = active_rules(self.options)
        self.stop_words = frozenset(self.options.stop_words)

    def load(self) -> None:
        first_failing_rule("日本語の文章。", self.rules, self.stop_words)  # the Sudachi dictionary, when a rule counts words

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        failed = first_failing_rule(doc.text, self.rules, self.stop_words)
        return True if failed is None else (False, failed)
