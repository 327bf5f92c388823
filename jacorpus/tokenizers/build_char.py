"""Character tokenizer (for character-level RoBERTa/DeBERTa): one token per NFKC character.

The vocabulary holds the special tokens, the 256 byte tokens ``<0x00>``-``<0xFF>`` and the most frequent characters
until they cover ``character_coverage`` of the sample (every character of it by default, at most ``vocab_size``
minus the rest); any other character becomes its UTF-8 bytes (byte fallback, as in SentencePiece), so nothing is
unknown: with coverage 0.99995 and no fallback, 0.34% of MedTxt-CR's tokens were ``[UNK]``. A whitespace run is one
``▁``, so ``decode(encode(text))`` is the NFKC text with whitespace runs as one space, exactly. Built with the
``tokenizers`` library (a BPE model without merges, the model that has byte fallback): the folder holds a
tokenizer.json that ``AutoTokenizer`` loads as a fast tokenizer, with offsets.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from jacorpus.tokenizers.recipe import TokenizerRecipe

SPACE_MARK = "▁"


BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]


def normalize_chars(text: str) -> str:
    """What the tokenizer's normalizer does (NFKC, whitespace runs to one ▁), for counting."""
    return SPACE_MARK.join(unicodedata.normalize("NFKC", text).split())


def select_characters(counts: Counter, coverage: float, limit: int) -> list[str]:
    """Most frequent characters until ``coverage`` of all occurrences is reached, at most ``limit``."""
    total = sum(counts.values())
    chosen: list[str] = []
    covered = 0
    for ch, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if len(chosen) >= limit or (total and covered / total >= coverage):
            break
        chosen.append(ch)
        covered += n
    return chosen


def char_tokenizer(vocab: list[str], roles: dict[str, str], special_tokens: list[str]):
    from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    from jacorpus.tokenizers.build_sentencepiece import whitespace_normalizer
    from tokenizers.processors import TemplateProcessing

    ids = {token: i for i, token in enumerate(vocab)}
    backend = Tokenizer(BPE(ids, [], unk_token=roles["unk"], byte_fallback=True))
    backend.normalizer = whitespace_normalizer(mark=SPACE_MARK)
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    backend.decoder = decoders.Sequence([decoders.Replace(SPACE_MARK, " "), decoders.ByteFallback(), decoders.Fuse()])
    cls, sep = roles["cls"], roles["sep"]
    backend.post_processor = TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1", special_tokens=[(cls, ids[cls]), (sep, ids[sep])]
    )
    extra = [t for t in special_tokens if t not in roles.values()]
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=roles["pad"], unk_token=roles["unk"], cls_token=cls, sep_token=sep,
        mask_token=roles["mask"], bos_token=cls, eos_token=sep, extra_special_tokens=extra or None,
    )


def build_char(recipe: TokenizerRecipe, sample) -> object:
    counts: Counter = Counter()
    for text in sample.texts:
        counts.update(normalize_chars(text))
    for token in recipe.special_tokens:
        counts.pop(token, None)
    for token in BYTE_TOKENS:
        counts.pop(token, None)
    head = list(recipe.special_tokens) + BYTE_TOKENS
    chars = select_characters(counts, recipe.coverage(), recipe.vocab_size - len(head))
    vocab = head + chars
    tokenizer = char_tokenizer(vocab, recipe.special_roles(), recipe.special_tokens)
    tokenizer.model_max_length = recipe.model_max_length
    return tokenizer
