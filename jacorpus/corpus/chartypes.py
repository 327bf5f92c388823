"""Character classes of Japanese text and Sudachi word splitting, shared by the language, quality and classifier steps.

Classes follow the Swallow corpus quality script (Okazaki et al. 2024): hiragana U+3041-3096, katakana U+30A1-30FA,
kanji 々〇〻 + CJK unified ideographs (BMP and, unlike Swallow's script, the supplementary planes), kuten 。．！？ and
toten 、，. Counting is one vectorised pass: code points index a lookup table, ``bincount`` sums the classes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np

from jacorpus.foundation.sudachi_chunks import sudachi_pieces

OTHER, HIRAGANA, KATAKANA, KANJI, KUTEN, TOTEN, HALFWIDTH_KANA = range(7)
N_CLASSES = 7
JAPANESE_CLASSES = (HIRAGANA, KATAKANA, KANJI, KUTEN, TOTEN)  # Swallow's "Japanese letters"

_SURROGATES = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=1)
def _class_table() -> np.ndarray:
    table = np.zeros(0x110000, dtype=np.uint8)
    table[0x3041:0x3097] = HIRAGANA
    table[0x30A1:0x30FB] = KATAKANA
    table[0x3400:0xA000] = KANJI
    table[0xF900:0xFB00] = KANJI
    table[0x20000:0x31350] = KANJI
    for ch in "々〇〻":
        table[ord(ch)] = KANJI
    for ch in "。．！？":
        table[ord(ch)] = KUTEN
    for ch in "、，":
        table[ord(ch)] = TOTEN
    table[0xFF66:0xFF9E] = HALFWIDTH_KANA
    return table


def codepoints(text: str) -> np.ndarray:
    """Code points as uint32; lone surrogates (invalid UTF-16 left in a str) pass through as their own value."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def char_classes(text: str) -> np.ndarray:
    return _class_table()[codepoints(text)]


def class_counts(text: str) -> np.ndarray:
    """Counts per class (index with HIRAGANA, KATAKANA, ...)."""
    return np.bincount(char_classes(text), minlength=N_CLASSES)


def kana_share(counts: np.ndarray) -> float:
    """Kana among kana + kanji: near 0 for Chinese, typically 0.3-0.7 for Japanese prose."""
    kana = int(counts[HIRAGANA] + counts[KATAKANA] + counts[HALFWIDTH_KANA])
    cjk = kana + int(counts[KANJI])
    return kana / cjk if cjk else 0.0


def without_surrogates(text: str) -> str:
    """fastText and Sudachi take UTF-8; a lone surrogate would make them raise."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


_TOKENIZERS: dict[str, Any] = {}  # one Sudachi tokenizer per split mode and process (not picklable)


def sudachi_tokenizer(mode: str = "A") -> Any:
    if mode not in _TOKENIZERS:
        from sudachipy import Dictionary, SplitMode

        _TOKENIZERS[mode] = Dictionary().tokenizer(getattr(SplitMode, mode))
    return _TOKENIZERS[mode]


def iter_sudachi_words(text: str, mode: str = "A"):
    """Surfaces of Sudachi morphemes, whitespace tokens removed, chunk by chunk (callers may stop early)."""
    from sudachipy import Morpheme

    tokenizer = sudachi_tokenizer(mode)
    for chunk in sudachi_pieces(without_surrogates(text)):
        if not chunk.strip():
            continue
        # map/filter: measured 10 % faster than a comprehension over ~1,000,000 morphemes
        yield list(filter(None, map(str.strip, map(Morpheme.surface, tokenizer.tokenize(chunk)))))


def sudachi_words(text: str, mode: str = "A") -> list[str]:
    return [w for chunk in iter_sudachi_words(text, mode) for w in chunk]
