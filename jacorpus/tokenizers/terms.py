"""Domain terms: normalization, seed dictionaries (with bad rows reported), and a fast term matcher.

Seed formats (by extension):
- ``.csv``: MANBYO style, headerless, ``surface,ICD-10 code(s),standard name`` (codes may be quoted, CRLF line ends);
- anything else: a plain list, one term per line, optionally ``term<TAB>standard name``; blank lines and lines
  starting with ``#`` are skipped.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator

MAX_TERM_CHARS = 255  # Sudachi's documented limit for a headword (docs/user_dict.md)
NO_VALUE = ("", "-1", "*")  # MANBYO writes -1 for "no ICD-10 code" and "no standard name"


def normalize_term(text: str) -> str:
    """NFKC with surrounding whitespace removed and inner whitespace runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def term_key(text: str) -> str:
    """De-duplication key: the normalized term, lower-cased (Sudachi also looks words up lower-cased)."""
    return normalize_term(text).lower()


@dataclass
class Problem:
    """A dictionary row or term that was left out, and why."""

    file: str
    line: int | None
    reason: str
    text: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}" + (f" ({self.text[:60]!r})" if self.text else "")


@dataclass
class SeedTerm:
    term: str
    standard: str = ""
    codes: str = ""
    where: str = ""  # "file:line" of the row it came from


@dataclass
class SeedFile:
    path: str
    rows: int = 0
    terms: list[SeedTerm] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_seed(path: str) -> SeedFile:
    seed = SeedFile(path)
    name = os.path.basename(path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows: Iterable[tuple[int, list[str]]]
        if path.lower().endswith(".csv"):
            reader = csv.reader(fh)
            rows = ((reader.line_num, row) for row in reader)
            expected = (3,)
            shape = "surface, ICD-10 code(s), standard name"
        else:
            rows = ((n, line.rstrip("\r\n").split("\t")) for n, line in enumerate(fh, start=1))
            expected = (1, 2)
            shape = "term or term<TAB>standard name"
        for line, row in rows:
            if not row or (len(row) == 1 and not row[0].strip()) or row[0].lstrip().startswith("#"):
                continue
            seed.rows += 1
            if len(row) not in expected:
                why = f"bad column count {len(row)}, expected {shape}"
                seed.problems.append(Problem(name, line, why, ",".join(row)))
                continue
            term = normalize_term(row[0])
            if not term:
                seed.problems.append(Problem(name, line, "empty term", ",".join(row)))
                continue
            standard = normalize_term(row[-1]) if len(row) > 1 else ""
            codes = row[1].strip() if len(row) == 3 else ""
            standard, codes = ("" if v in NO_VALUE else v for v in (standard, codes))
            seed.terms.append(SeedTerm(term, standard, codes, f"{name}:{line}"))
    return seed


def term_problem(term: str) -> str | None:
    """Why no tokenizer can use this term as a word, or None. Sudachi's builder fails on some of these without
    naming the row (a NUL byte makes it panic; an 11,000-character headword breaks its string store), so they
    are caught here."""
    if len(term) > MAX_TERM_CHARS:
        return f"longer than {MAX_TERM_CHARS} characters (Sudachi's limit for a headword)"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in term):
        return "contains a control or unassigned character"
    return None


def _is_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class TermMatcher:
    """Finds terms in text: per first character, the term lengths to try (longest first) and a set lookup.

    Costs a set of strings instead of a trie of dicts, which matters for 70k-term seed dictionaries. A term that
    starts (ends) with an ASCII letter or digit only matches where the text has none before (after) it, so the
    abbreviation AL is not found inside ALT.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = {t for t in terms if t}
        lengths: dict[str, set[int]] = defaultdict(set)
        for term in self.terms:
            lengths[term[0]].add(len(term))
        self.lengths = {ch: sorted(ls, reverse=True) for ch, ls in lengths.items()}

    def _match_at(self, text: str, i: int, bounded: bool = True) -> Iterator[int]:
        """Lengths of the terms that match at position i, longest first."""
        if bounded and i > 0 and _is_alnum(text[i]) and _is_alnum(text[i - 1]):
            return
        for n in self.lengths.get(text[i], ()):
            end = i + n
            if end <= len(text) and text[i:end] in self.terms:
                if bounded and end < len(text) and _is_alnum(text[end - 1]) and _is_alnum(text[end]):
                    continue
                yield n

    def find_all(self, text: str, bounded: bool = True) -> Iterator[tuple[int, int, str]]:
        """Every occurrence, overlapping and nested ones included (``bounded=False``: ignore the AL/ALT rule)."""
        lengths = self.lengths
        for i in range(len(text)):
            if text[i] not in lengths:
                continue
            for n in self._match_at(text, i, bounded):
                yield i, i + n, text[i : i + n]

    def find_longest(self, text: str, bounded: bool = True) -> Iterator[tuple[int, int, str]]:
        """Leftmost-longest occurrences without overlap (how a tokenizer's added-token split sees them)."""
        i, lengths = 0, self.lengths
        while i < len(text):
            n = next(self._match_at(text, i, bounded), 0) if text[i] in lengths else 0
            if n:
                yield i, i + n, text[i : i + n]
                i += n
            else:
                i += 1

    def count(self, texts: Iterable[str]) -> Counter:
        counts: Counter = Counter()
        for text in texts:
            counts.update(term for _, _, term in self.find_all(text))
        return counts
