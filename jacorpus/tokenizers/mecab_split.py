"""MeCab words (fugashi + unidic-lite) with user dictionaries given as file paths, for jacorpus's MeCab tokenizer class.

Copied into tokenizer folders next to ``tokenization_jacorpus.py`` (with ``sudachi_split.py``, whose chunking it
shares), so it imports nothing but the standard library and that sibling at module level, and fugashi and unidic-lite
inside the class. transformers' own ``MecabTokenizer`` takes a user dictionary only inside ``mecab_option``, a string
stored as written (an absolute path, which breaks when the folder moves); here the tokenizer class passes the path of
the dictionary file in its own folder each time it loads.
"""

from __future__ import annotations

import os
import unicodedata
from typing import Iterator, Sequence

from .sudachi_split import attach_chunks, whitespace_normalized


class MecabWordTokenizer:
    """The word tokenizer a BertJapaneseTokenizer calls: NFKC, then MeCab words (whitespace dropped)."""

    def __init__(self, user_dicts: Sequence[str] = (), normalize_text: bool = True) -> None:
        import fugashi
        import unidic_lite

        self.normalize_text = normalize_text
        self.user_dicts = [str(path) for path in user_dicts if path]
        dic = unidic_lite.DICDIR
        option = f'-d "{dic}" -r "{os.path.join(dic, "mecabrc")}"'
        if self.user_dicts:  # MeCab's -u takes a comma-separated list
            option += f' -u "{",".join(self.user_dicts)}"'
        self.tagger = fugashi.GenericTagger(option)

    def tokenize(self, text: str, never_split: list[str] | None = None, **kwargs: object) -> list[str]:
        if self.normalize_text:
            text = unicodedata.normalize("NFKC", text)
        return [word.surface for word in self.tagger(text)]

    def split_words(self, text: str) -> list[str]:
        """Words split at the whitespace inside them, of text already normalized (the WordPiece encode path)."""
        return " ".join(word.surface for word in self.tagger(text)).split()

    def morphemes(self, text: str) -> Iterator[tuple[str, tuple[str, str]]]:
        """(surface, first two part-of-speech fields) of every word, the whitespace before a word as a surface of
        its own."""
        for word in self.tagger(text):
            if word.white_space:
                yield word.white_space, ("", "")
            yield word.surface, (word.feature[0], word.feature[1])

    def chunks(self, text: str) -> list[str]:
        """Whitespace-normalized text as chunks (see ``sudachi_split.attach_chunks``)."""
        return attach_chunks(self.morphemes(whitespace_normalized(text)))
