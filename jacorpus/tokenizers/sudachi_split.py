"""Sudachi over text of any length: one Sudachi call refuses input above 49,149 bytes, so long text is cut first.

This module is also copied into every tokenizer folder that uses Sudachi (next to ``tokenization_jacorpus.py``), so it
imports nothing but the standard library at module level and ``sudachipy`` inside the class.
"""

from __future__ import annotations

import unicodedata
from typing import Iterator, Sequence

SUDACHI_MAX_BYTES = 49_149  # the limit SudachiPy 0.7 enforces per call
SAFE_BYTES = 40_000  # chunks stay well below it (input plugins may lengthen text a little)
# preferred cut points, best first: after a newline, after a sentence end, after any whitespace
CUT_AFTER = ("\n", "。．.！？!?", " \t\u3000")


def _fits(text: str, start: int, end: int, max_bytes: int) -> bool:
    return len(text[start:end].encode("utf-8")) <= max_bytes


def _byte_limited_end(text: str, start: int, max_bytes: int) -> int:
    """Largest end such that text[start:end] encodes to at most max_bytes (binary search on the char count)."""
    lo, hi = start + max(1, max_bytes // 4), min(len(text), start + max_bytes)
    if _fits(text, start, hi, max_bytes):
        return hi
    while lo < hi:  # invariant: text[start:lo] fits, text[start:hi] does not
        mid = (lo + hi + 1) // 2
        if _fits(text, start, mid, max_bytes):
            lo = mid
        else:
            hi = mid - 1
    return lo


def split_for_sudachi(text: str, max_bytes: int = SAFE_BYTES) -> list[tuple[int, str]]:
    """(offset, piece) pairs whose pieces concatenate back to ``text``, each at most ``max_bytes`` of UTF-8.

    Cuts at a newline when one lies in the second half of the window, else after a sentence end, else after
    whitespace, else at the byte limit (never inside a character).
    """
    if len(text) * 4 <= max_bytes or len(text.encode("utf-8")) <= max_bytes:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = _byte_limited_end(text, start, max_bytes)
        if end < len(text):
            floor = start + (end - start) // 2
            for marks in CUT_AFTER:
                cut = max(text.rfind(mark, floor, end) for mark in marks)
                if cut >= floor:
                    end = cut + 1
                    break
        pieces.append((start, text[start:end]))
        start = end
    return pieces


def _surface(morpheme) -> str:
    return morpheme.surface()


class SudachiWords:
    """Chunked Sudachi with optional user dictionaries: word spans, surfaces and parts of speech."""

    def __init__(self, mode: str = "C", user_dicts: Sequence[str] = (), dict_name: str = "core") -> None:
        from sudachipy import Config, Dictionary, SplitMode

        self.mode = mode
        self.user_dicts = [str(path) for path in user_dicts if path]
        config = Config(user=self.user_dicts) if self.user_dicts else None
        self.dictionary = Dictionary(config=config, dict=dict_name) if config else Dictionary(dict=dict_name)
        self.tokenizer = self.dictionary.tokenizer(SplitMode(mode))

    def morphemes(self, text: str) -> Iterator[tuple[int, int, str, tuple[str, ...]]]:
        """(begin, end, surface, part of speech) for every morpheme, offsets in ``text``."""
        for offset, piece in split_for_sudachi(text):
            for m in self.tokenizer.tokenize(piece):
                yield offset + m.begin(), offset + m.end(), m.surface(), tuple(m.part_of_speech())

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(begin, end) of every word that is not only whitespace."""
        out = []
        for offset, piece in split_for_sudachi(text):
            morphemes = self.tokenizer.tokenize(piece)
            out.extend((offset + m.begin(), offset + m.end()) for m in morphemes if m.surface().strip())
        return out

    def words(self, text: str) -> list[str]:
        """Surfaces of the words that are not only whitespace (the hot path of tokenization: no part of speech)."""
        out = []
        for _, piece in split_for_sudachi(text):
            out.extend(surface for surface in map(_surface, self.tokenizer.tokenize(piece)) if surface.strip())
        return out


class SudachiWordTokenizer:
    """The word tokenizer a BertJapaneseTokenizer calls: NFKC, then chunked Sudachi words (whitespace dropped)."""

    def __init__(self, mode: str = "C", user_dicts: Sequence[str] = (), normalize_text: bool = True) -> None:
        self.normalize_text = normalize_text
        self.sudachi = SudachiWords(mode, user_dicts)

    def tokenize(self, text: str, never_split: list[str] | None = None, **kwargs: object) -> list[str]:
        if self.normalize_text:
            text = unicodedata.normalize("NFKC", text)
        return self.sudachi.words(text)
