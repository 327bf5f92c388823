"""Where each token of ``tokenizer(text, add_special_tokens=False)`` lies in the NFKC-normalized text.

Fast tokenizers report offsets into the raw text, which are mapped onto the normalized text. Slow ones (the
BertJapaneseTokenizer family) normalize and drop whitespace without saying where tokens came from, so their token
strings are matched back into the normalized text left to right: ``##`` and ``▁`` marks are removed, runs of byte
tokens (``<0xE3>``) are decoded together, and an unknown token spans up to the next token that can be found.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def nfkc_map(text: str) -> tuple[str, list[int]]:
    """NFKC text and, for every raw position (plus the end), the matching normalized position."""
    starts, pieces, at = [], [], 0
    for ch in text:
        starts.append(at)
        piece = unicodedata.normalize("NFKC", ch)
        pieces.append(piece)
        at += len(piece)
    starts.append(at)
    return "".join(pieces), starts


def token_surface(token: str) -> str:
    """The text a token stands for, without subword marks."""
    if token.startswith("##"):
        token = token[2:]
    return token.replace("▁", " ")


def _align_slow(tokens: list[str], norm: str, unk: str | None, lower: bool) -> list[tuple[int, int]]:
    haystack = norm.lower() if lower else norm
    spans: list[tuple[int, int]] = [(0, 0)] * len(tokens)
    pending: list[int] = []  # unknown tokens waiting for the next anchored token
    pos, i = 0, 0
    while i < len(tokens):
        token = tokens[i]
        run = i
        if BYTE_TOKEN.match(token):  # decode a run of byte-fallback tokens into characters
            data = bytearray()
            while run < len(tokens) and BYTE_TOKEN.match(tokens[run]):
                data.append(int(BYTE_TOKEN.match(tokens[run]).group(1), 16))
                run += 1
            surface = data.decode("utf-8", errors="ignore")
            run -= 1
        else:
            surface = token_surface(token)
        surface = surface.strip().lower() if lower else surface.strip()
        if token == unk or not surface:
            pending.append(i)
            i += 1
            continue
        start = pos
        while start < len(haystack) and haystack[start].isspace():
            start += 1
        if not haystack.startswith(surface, start):
            found = haystack.find(surface, pos)
            start = found if found >= 0 else start
        for p in pending:  # unknown (or empty) tokens cover what lies between
            gap = pos
            while gap < start and haystack[gap].isspace():
                gap += 1
            spans[p] = (gap, max(gap, start))
        pending = []
        end = min(len(haystack), start + len(surface))
        for k in range(i, run + 1):
            spans[k] = (start, end)
        pos, i = end, run + 1
    for p in pending:
        spans[p] = (pos, len(norm))
    return spans


def token_spans(tokenizer: Any, text: str) -> tuple[str, list[int], list[tuple[int, int]]]:
    """(normalized text, token ids, span of each token in the normalized text), no special tokens added."""
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        norm, starts = nfkc_map(text)
        spans = [(starts[min(a, len(text))], starts[min(b, len(text))]) for a, b in encoded["offset_mapping"]]
        return norm, encoded["input_ids"], spans
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
    norm = unicodedata.normalize("NFKC", text)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    spans = _align_slow(tokens, norm, tokenizer.unk_token, bool(getattr(tokenizer, "do_lower_case", False)))
    return norm, ids, spans
