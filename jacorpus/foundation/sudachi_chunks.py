"""Text cut under Sudachi's input limit: one SudachiPy call refuses more than 49,149 bytes of UTF-8.

The one chunker of jacorpus (quality rules, dedup word shingles, decontamination, whole-word masking, the tokenizer
class). Standard library only: ``tokenizers/sudachi_split.py`` imports it and tokenizer folders carry a copy.
"""

from __future__ import annotations

SUDACHI_MAX_BYTES = 49_149  # the limit SudachiPy 0.7 enforces per call ("Input is too long")
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


def sudachi_pieces(text: str, max_bytes: int = SAFE_BYTES) -> list[str]:
    """The pieces of ``split_for_sudachi`` without their offsets."""
    return [piece for _, piece in split_for_sudachi(text, max_bytes)]
