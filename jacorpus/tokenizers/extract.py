"""Domain-term candidates from a corpus: compound nouns scored by C-value (Frantzi, Ananiadou & Mima 2000).

Sudachi (split mode A, the shortest units) analyses each document; maximal runs of prefixes, nouns, na-adjective
stems and noun-forming suffixes (接尾辞: 症, 炎, 的, ...) are noun phrases, and every sub-run of at least two words that
does not start with a suffix nor end with a prefix is a candidate. Numbers, counters right after a number (3|年,
2|コース), adverbial nouns (ため, 前) and person names break runs: they make dates, doses and names, not terms.

C-value(a) = log2|a| * f(a)                                 if a is nested in no longer candidate
           = log2|a| * (f(a) - sum_{b in T_a} f(b) / |T_a|)  otherwise
with |a| the length in words, f the frequency and T_a the longer candidates containing a.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

Candidate = tuple[str, ...]


def unit_kind(pos: tuple[str, ...], after_number: bool = False) -> str | None:
    """'P' prefix, 'N' noun-like, 'S' suffix, or None when the word ends a noun phrase."""
    counter = pos[2] in ("助数詞可能", "助数詞")
    if after_number and counter:
        return None
    if pos[0] == "接頭辞":
        return "P"
    if pos[0] == "名詞":
        if pos[1] in ("数詞", "代名詞") or pos[2] in ("副詞可能", "人名"):
            return None
        return "N"
    if pos[0] == "形状詞" and pos[1] == "一般":
        return "N"
    if pos[0] == "接尾辞" and pos[1] in ("名詞的", "形状詞的") and pos[2] != "副詞可能":
        return "S"
    return None


@dataclass
class ScoredTerm:
    term: str
    words: int
    frequency: int
    score: float


class TermExtractor:
    """Counts compound-noun candidates over documents, then scores them by C-value."""

    def __init__(self, max_words: int = 8, min_frequency: int = 2, min_score: float = 2.0, max_terms: int = 20000):
        from jacorpus.tokenizers.sudachi_split import SudachiWords

        self.max_words, self.min_frequency = max_words, min_frequency
        self.min_score, self.max_terms = min_score, max_terms
        self.sudachi = SudachiWords("A")
        self.frequency: Counter = Counter()

    def add(self, text: str) -> None:
        """Count the candidates of one (already normalized) document."""
        run: list[tuple[str, str]] = []
        after_number = False
        for _, _, surface, pos in self.sudachi.morphemes(text):
            kind = unit_kind(pos, after_number) if surface.strip() else None
            after_number = pos[1] == "数詞"
            if kind:
                run.append((surface, kind))
                continue
            self._count_run(run)
            run = []
        self._count_run(run)

    def _count_run(self, run: list[tuple[str, str]]) -> None:
        n = len(run)
        for i in range(n):
            if run[i][1] == "S":
                continue
            for j in range(i + 2, min(n, i + self.max_words) + 1):
                if run[j - 1][1] != "P":
                    self.frequency[tuple(word for word, _ in run[i:j])] += 1

    def add_all(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(text)

    def c_values(self) -> dict[Candidate, float]:
        nested_sum: dict[Candidate, float] = defaultdict(float)
        nested_count: Counter = Counter()
        scores: dict[Candidate, float] = {}
        for cand in sorted(self.frequency, key=len, reverse=True):  # longer first: their counts feed the nested
            f, length = self.frequency[cand], len(cand)
            if nested_count[cand]:
                scores[cand] = math.log2(length) * (f - nested_sum[cand] / nested_count[cand])
            else:
                scores[cand] = math.log2(length) * f
            seen = set()
            for i in range(length):
                for j in range(i + 2, length + 1):
                    sub = cand[i:j]
                    if sub != cand and sub in self.frequency and sub not in seen:
                        seen.add(sub)
                        nested_sum[sub] += f
                        nested_count[sub] += 1
        return scores

    def terms(self) -> list[ScoredTerm]:
        """Candidates above the thresholds, best first, at most ``max_terms``."""
        scored = [
            ScoredTerm("".join(cand), len(cand), self.frequency[cand], score)
            for cand, score in self.c_values().items()
            if self.frequency[cand] >= self.min_frequency and score >= self.min_score
        ]
        scored.sort(key=lambda t: (-t.score, -t.frequency, t.term))
        best: dict[str, ScoredTerm] = {}
        for term in scored:  # two word splits can spell the same string: keep the better scored
            best.setdefault(term.term, term)
        return list(best.values())[: self.max_terms]
