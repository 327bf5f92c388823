"""Word boundaries for whole-word masking: which tokens start a new word.

A word-id function ``word_ids(tokenizer, text) -> list[int]`` gives, for each token of
``tokenizer(text, add_special_tokens=False)``, the index of the word it belongs to. The tokenizers area provides one
(``jacorpus.tokenizers.wwm.word_ids``); when it is absent, the Sudachi-based fallback here is used: Sudachi splits the
text into words, each token's first character is located in the text (offsets of fast tokenizers, or by aligning
token strings for slow ones such as character-level BERT), and the token takes the word covering that character.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, Callable

import numpy as np

from jacorpus.foundation.sudachi_chunks import split_for_sudachi

WordIdFn = Callable[[Any, str], list[int]]


def default_word_id_fn() -> WordIdFn:
    """The tokenizers area's ``word_ids`` when it exists, else the Sudachi fallback."""
    try:
        from jacorpus.tokenizers.wwm import word_ids  # type: ignore[import-not-found]
    except ImportError:
        return SudachiWordIds()
    return word_ids


def word_starts(word_ids: list[int] | np.ndarray) -> np.ndarray:
    """1 where a token starts a new word (its word id differs from the previous token's), else 0."""
    ids = np.asarray(word_ids, dtype=np.int64)
    starts = np.ones(len(ids), dtype=np.uint8)
    if len(ids) > 1:
        starts[1:] = (ids[1:] != ids[:-1]) | (ids[1:] < 0)
    return starts


class SudachiWordIds:
    """``word_ids(tokenizer, text)`` from Sudachi words (split mode B by default: short-ish dictionary words)."""

    def __init__(self, mode: str = "B") -> None:
        self.mode_name = mode
        self._tokenizer = None

    def words(self, text: str) -> list[int]:
        """Start character of each Sudachi word, in order."""
        if self._tokenizer is None:
            from sudachipy import Dictionary, SplitMode

            self._tokenizer = Dictionary(dict="core").create()
            self._mode = getattr(SplitMode, self.mode_name)
        starts: list[int] = []
        for base, piece in split_for_sudachi(text):
            starts.extend(base + m.begin() for m in self._tokenizer.tokenize(piece, self._mode))
        return starts

    def __call__(self, tokenizer: Any, text: str) -> list[int]:
        word_begins = self.words(text)
        spans = token_starts(tokenizer, text)
        return [max(bisect.bisect_right(word_begins, start) - 1, 0) for start in spans]


MARKERS = re.compile(r"^(##|▁|Ġ)")


def token_starts(tokenizer: Any, text: str) -> list[int]:
    """Character offset in ``text`` where each token (no special tokens) begins."""
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [begin for begin, _ in enc["offset_mapping"]]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    starts, cursor = [], 0
    unk = tokenizer.unk_token
    for token in tokenizer.convert_ids_to_tokens(ids):
        while cursor < len(text) and text[cursor].isspace():
            cursor += 1
        piece = MARKERS.sub("", token)
        found = text.find(piece, cursor, cursor + len(piece) + 8) if piece and token != unk else -1
        if found >= 0:
            starts.append(found)
            cursor = found + len(piece)
        else:  # unknown or normalized token: it covers (at least) the next character
            starts.append(min(cursor, max(len(text) - 1, 0)))
            cursor += 1
    return starts
