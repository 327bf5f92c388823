"""Whole-word masking: a word id for every token, from Sudachi word boundaries, for any tokenizer.

``word_ids(tokenizer, text)`` returns one id per token of ``tokenizer(text, add_special_tokens=False)["input_ids"]``
(ids 0, 1, 2, ... in order, never decreasing); tokens with the same id belong to one word and are masked together.
With ``add_special_tokens=True`` the list is aligned with ``tokenizer(text)["input_ids"]`` instead and special tokens
get ``None`` (as ``BatchEncoding.word_ids()`` does).

A token starts a new word when it begins where a Sudachi word begins (and later than the previous token began: the
byte tokens of one character share a word); otherwise it continues the current word, so a token that crosses a word
boundary joins the words it touches. Whitespace tokens (``▁``) join the word that follows them. Sudachi runs on the
NFKC-normalized text, in the split mode and with the user dictionary recorded in the tokenizer folder
(``jacorpus_tokenizer.json``: for a character-level tokenizer, domain terms in the user dictionary are masked as one
word, the char-level WWM of roberta-large-japanese-char-wwm); ``mode`` / ``user_dicts`` override them, and other
tokenizers default to split mode C without a user dictionary.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from jacorpus.tokenizers.align import token_spans, token_surface

DEFAULT_MODE = "C"


@lru_cache(maxsize=8)
def _sudachi(mode: str, user_dicts: tuple[str, ...]):
    from jacorpus.tokenizers.sudachi_split import SudachiWords

    return SudachiWords(mode, user_dicts)


def boundary_settings(tokenizer: Any) -> tuple[str, list[str]]:
    """(Sudachi split mode, user dictionary paths) recorded in a jacorpus tokenizer folder, else the defaults."""
    mode, paths = _folder_settings(str(getattr(tokenizer, "name_or_path", "") or ""))
    return mode, list(paths)


@lru_cache(maxsize=32)
def _folder_settings(folder: str) -> tuple[str, tuple[str, ...]]:
    config = os.path.join(folder, "jacorpus_tokenizer.json")
    if not folder or not os.path.isfile(config):
        return DEFAULT_MODE, ()
    with open(config, encoding="utf-8") as fh:
        settings = json.load(fh).get("word_ids", {})
    names = settings.get("user_dicts") or []
    return settings.get("sudachi_mode", DEFAULT_MODE), tuple(os.path.join(folder, name) for name in names)


def ids_from_spans(tokens: list[str], spans: list[tuple[int, int]], word_starts: set[int]) -> list[int]:
    ids: list[int | None] = []
    current, previous_start = -1, -1
    for token, (start, _) in zip(tokens, spans):
        if not token_surface(token).strip():
            ids.append(None)  # whitespace: decided below
            continue
        if current < 0 or (start in word_starts and start > previous_start):
            current += 1
        previous_start = max(previous_start, start)
        ids.append(current)
    following = None
    for i in range(len(ids) - 1, -1, -1):  # whitespace joins the next word (or the last one at the end)
        if ids[i] is None:
            ids[i] = following if following is not None else max(current, 0)
        else:
            following = ids[i]
    return ids  # type: ignore[return-value]


def word_ids(
    tokenizer: Any, text: str, *, mode: str | None = None, user_dicts: list[str] | None = None,
    add_special_tokens: bool = False,
) -> list[int | None]:
    """Word id of every token of ``tokenizer(text, add_special_tokens=...)``; see the module docstring."""
    default_mode, default_dicts = boundary_settings(tokenizer)
    sudachi = _sudachi(mode or default_mode, tuple(user_dicts if user_dicts is not None else default_dicts))
    norm, ids, spans = token_spans(tokenizer, text)
    word_starts = {start for start, _ in sudachi.spans(norm)}
    result: list[int | None] = list(ids_from_spans(tokenizer.convert_ids_to_tokens(ids), spans, word_starts))
    if not add_special_tokens:
        return result
    with_specials = tokenizer(text, return_special_tokens_mask=True, verbose=False)
    words = iter(result)
    return [None if special else next(words) for special in with_specials["special_tokens_mask"]]
