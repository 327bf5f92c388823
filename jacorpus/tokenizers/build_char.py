"""Character tokenizer (for character-level RoBERTa/DeBERTa): one token per NFKC character.

The vocabulary holds the most frequent characters until they cover ``character_coverage`` of the sample (at most
``vocab_size`` minus the special tokens); rarer characters become the unknown token. Whitespace is kept as ``▁`` so
that decoding gives the text back (up to NFKC and whitespace kind). Built with the ``tokenizers`` library: the folder
holds a tokenizer.json that ``AutoTokenizer`` loads as a fast tokenizer, with offsets.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from jacorpus.tokenizers.recipe import TokenizerRecipe

SPACE_MARK = "▁"


def normalize_chars(text: str) -> str:
    """What the tokenizer's normalizer does (NFKC, whitespace to ▁), for counting."""
    return "".join(SPACE_MARK if ch.isspace() else ch for ch in unicodedata.normalize("NFKC", text))


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
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    ids = {token: i for i, token in enumerate(vocab)}
    backend = Tokenizer(WordLevel(ids, unk_token=roles["unk"]))
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s"), SPACE_MARK)])
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    backend.decoder = decoders.Sequence([decoders.Replace(SPACE_MARK, " "), decoders.Fuse()])
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
    chars = select_characters(counts, recipe.character_coverage, recipe.vocab_size - len(recipe.special_tokens))
    vocab = list(recipe.special_tokens) + chars
    tokenizer = char_tokenizer(vocab, recipe.special_roles(), recipe.special_tokens)
    tokenizer.model_max_length = recipe.model_max_length
    return tokenizer
