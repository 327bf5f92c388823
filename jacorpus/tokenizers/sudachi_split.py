"""Sudachi over text of any length: one Sudachi call refuses input above 49,149 bytes, so long text is cut first.

This module is also copied into every tokenizer folder that uses Sudachi (next to ``tokenization_jacorpus.py``, with
``foundation/sudachi_chunks.py``), so it imports nothing but the standard library and that chunker at module level,
and ``sudachipy`` inside the class.
"""

from __future__ import annotations

import unicodedata
from typing import Iterable, Iterator, Sequence

try:  # inside jacorpus: the one chunker
    from jacorpus.foundation.sudachi_chunks import SAFE_BYTES, SUDACHI_MAX_BYTES, split_for_sudachi  # noqa: F401
except ImportError:  # a tokenizer folder loaded without jacorpus: export copies the chunker next to this file
    from .sudachi_chunks import SAFE_BYTES, SUDACHI_MAX_BYTES, split_for_sudachi  # noqa: F401


def _surface(morpheme) -> str:
    return morpheme.surface()


# parts of speech that join the word before them into one chunk (pieces may span a chunk, never two): particles,
# auxiliary verbs and suffixes (症例|は -> 症例は, さ|れ|た -> された, 70|歳 -> 70歳). Measured on MedTxt-CR
# (bench/results/tokenizers_pretokenized.md): SentencePiece over Sudachi words costs 1.2x the tokens of SentencePiece
# on raw text at 16k pieces, over these chunks 1.04x, because raw-text pieces mostly are such chunks.
ATTACHING_POS = frozenset({"助詞", "助動詞", "接尾辞"})
# verbs and adjectives Sudachi marks as possibly dependent (する, いる, ある, なる, ない) join the chunk before them
# too (使用|された -> 使用された, として|いる -> としている, で|ある -> である, では|ない -> ではない), and a space
# joins the word after it (the ``▁`` of its first piece, as in SentencePiece on raw text, not a token of its own).
# Measured at 16k pieces with the MANBYO dictionary against raw-text SentencePiece (issue 15; tuned on JSQuAD's
# Wikipedia paragraphs, checked on the held-out 2006 Wikipedia sample and MedTxt-CR): 1.039x / 1.060x / 1.034x
# with particles, auxiliaries and suffixes only, 1.037x / 1.041x / 1.027x with the space joined, 1.012x / 1.017x /
# 1.014x with both.
ATTACHING_DEPENDENT = frozenset({"動詞", "形容詞"})
DEPENDENT = "非自立可能"
SPACE = " "


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

    def split_words(self, text: str) -> list[str]:
        """The words of ``words`` split at the whitespace inside them (as WordPiece splits a word): the encode path of
        the WordPiece class. The surfaces are joined and split once in C instead of filtered and split word by word
        in Python. ``str`` of a Sudachi MorphemeList is its surfaces joined by one space, built in Rust: no Python
        object per morpheme (12-20 % less CPU than ``m.surface()`` per morpheme on neko.txt; equal lists, tested).
        (Sudachi's ``fields={"surface"}`` would be faster still but changes the words: without parts of speech its
        plugins no longer join numbers, 70 -> 7|0.)"""
        return SPACE.join(str(self.tokenizer.tokenize(piece)) for _, piece in split_for_sudachi(text)).split()

    def words(self, text: str) -> list[str]:
        """Surfaces of the words that are not only whitespace (the hot path of tokenization: no part of speech)."""
        out = []
        for _, piece in split_for_sudachi(text):
            out.extend(surface for surface in map(_surface, self.tokenizer.tokenize(piece)) if surface.strip())
        return out


def whitespace_normalized(text: str) -> str:
    """NFKC, every whitespace run one space, none at the ends: the text a SentencePiece-over-chunks tokenizer gives back
    exactly from ``decode(encode(text))``."""
    return SPACE.join(unicodedata.normalize("NFKC", text).split())


def attach_chunks(morphemes: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    """Chunks from (surface, part-of-speech fields) pairs: a word with the particles, auxiliaries, suffixes and
    dependent verbs and adjectives after it, and the space before it, if any (Sudachi and MeCab/UniDic name these
    parts of speech alike)."""
    out: list[str] = []
    after_space = False  # the last chunk is a space: the next word joins it
    for surface, pos in morphemes:
        if surface.isspace():
            if after_space:
                out[-1] += surface
            else:
                out.append(surface)
            after_space = True
            continue
        if after_space or (out and _attaches(pos)):
            out[-1] += surface
        else:
            out.append(surface)
        after_space = False
    return out


def _attaches(pos: Sequence[str]) -> bool:
    return pos[0] in ATTACHING_POS or (len(pos) > 1 and pos[1] == DEPENDENT and pos[0] in ATTACHING_DEPENDENT)


def chunks(sudachi: "SudachiWords", text: str) -> list[str]:
    """``text`` (already whitespace-normalized) as chunks (see ``attach_chunks``). ``"".join(chunks(...)) == text``."""
    return attach_chunks((m.surface(), m.part_of_speech())
                         for _, piece in split_for_sudachi(text) for m in sudachi.tokenizer.tokenize(piece))


class SudachiWordTokenizer:
    """The word tokenizer a BertJapaneseTokenizer calls: NFKC, then chunked Sudachi words (whitespace dropped)."""

    def __init__(self, mode: str = "C", user_dicts: Sequence[str] = (), normalize_text: bool = True) -> None:
        self.normalize_text = normalize_text
        self.sudachi = SudachiWords(mode, user_dicts)

    def tokenize(self, text: str, never_split: list[str] | None = None, **kwargs: object) -> list[str]:
        if self.normalize_text:
            text = unicodedata.normalize("NFKC", text)
        return self.sudachi.words(text)

    def split_words(self, text: str) -> list[str]:
        """Words split at the whitespace inside them, of text already normalized (the WordPiece encode path)."""
        return self.sudachi.split_words(text)

    def chunks(self, text: str) -> list[str]:
        """Whitespace-normalized text as chunks (see ``chunks``)."""
        return chunks(self.sudachi, whitespace_normalized(text))
