"""Tokenizer recipes: YAML validated by pydantic; errors name the key and its line.

Shape::

    name: medical-wordpiece-dict
    kind: wordpiece                 # char | sentencepiece | wordpiece
    model: unigram                  # sentencepiece only: unigram | bpe
    vocab_size: 32000
    pretokenizer: {type: sudachi, mode: C, user_dict: extra.dic}   # or {type: none} / {type: mecab}
    dictionary: ../dict             # a `jacorpus dict build` folder: terms occurring in the corpus stay whole
    dictionary_min_count: 1         # occurrences in the sample a term needs
    dictionary_max_share: 0.25      # at most this share of the vocabulary are terms (the most frequent)
    special_tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    byte_fallback: true             # sentencepiece only
    character_coverage: 1.0         # default: 0.9995 for sentencepiece (bytes for the rest), 1.0 otherwise
    sample_cap: {documents: 1000000, characters: 500000000}
    wwm_mode: C                     # Sudachi split mode of the word ids for whole-word masking
    model_max_length: 512

Relative paths (``dictionary``, ``pretokenizer.user_dict``) are taken from the recipe's folder.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jacorpus.foundation.recipe_yaml import RecipeError, raise_recipe_errors, read_yaml_mapping, validation_errors

# special-token spellings and the role each plays; both BERT and RoBERTa spellings are understood
SPECIAL_ROLES = {
    "[PAD]": "pad", "<pad>": "pad", "[UNK]": "unk", "<unk>": "unk", "[CLS]": "cls", "<s>": "cls",
    "[SEP]": "sep", "</s>": "sep", "[MASK]": "mask", "<mask>": "mask",
}
REQUIRED_ROLES = ("pad", "unk", "cls", "sep", "mask")


class Pretokenizer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none", "sudachi", "mecab"] = "none"
    mode: Literal["A", "B", "C"] = "C"
    user_dict: str | None = None


class SampleCapSpec(BaseModel):
    """The sample is held in memory while training: this bounds it (100M characters by default, ~400 MB)."""

    model_config = ConfigDict(extra="forbid")
    documents: int | None = Field(None, gt=0)
    characters: int | None = Field(100_000_000, gt=0)


class TokenizerRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "tokenizer"
    description: str = ""
    kind: str  # a registered tokenizer kind (tokenizers/kinds.py): char, sentencepiece, wordpiece, or a plugin's
    model: Literal["unigram", "bpe"] | None = None
    vocab_size: int = Field(32000, ge=16)
    pretokenizer: Pretokenizer = Field(default_factory=Pretokenizer)
    dictionary: str | None = None
    dictionary_min_count: int = Field(1, ge=1)
    dictionary_max_share: float = Field(0.25, gt=0, le=1)  # of the vocabulary; the most frequent terms are kept
    special_tokens: list[str] = Field(default_factory=lambda: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    byte_fallback: bool | None = None
    character_coverage: float | None = Field(None, gt=0, le=1)
    min_frequency: int = Field(2, ge=1)
    sample_cap: SampleCapSpec = Field(default_factory=SampleCapSpec)
    wwm_mode: Literal["A", "B", "C"] | None = None
    model_max_length: int = Field(512, ge=8)
    base_dir: str = Field(default=".", exclude=True)

    def special_roles(self) -> dict[str, str]:
        """role -> token, e.g. {"mask": "[MASK]"}."""
        return {SPECIAL_ROLES[t]: t for t in self.special_tokens if t in SPECIAL_ROLES}

    def path(self, value: str | None) -> str | None:
        if value is None:
            return None
        value = os.path.expanduser(value)
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.base_dir, value))

    def user_dict_file(self) -> str | None:
        """The compiled Sudachi user dictionary: ``user_dict`` itself, or ``user.dic`` in a dictionary folder.

        (The terms of ``dictionary`` need no user_dict: a Sudachi tokenizer compiles those it keeps into its own.)
        """
        path = self.path(self.pretokenizer.user_dict)
        return os.path.join(path, "user.dic") if path and os.path.isdir(path) else path

    def coverage(self) -> float:
        """Share of the sample's characters the vocabulary covers. SentencePiece spells the rarest as bytes; the
        char and WordPiece vocabularies take every character of the sample, so no known character is [UNK]."""
        if self.character_coverage is not None:
            return self.character_coverage
        return 0.9995 if self.kind == "sentencepiece" else 1.0

    def word_ids_mode(self) -> str:
        return self.wwm_mode or (self.pretokenizer.mode if self.pretokenizer.type == "sudachi" else "C")


def _cross_field_errors(r: TokenizerRecipe) -> list[tuple[tuple[Any, ...], str]]:
    errors: list[tuple[tuple[Any, ...], str]] = []
    from jacorpus.tokenizers.kind_registry import find_kind

    try:
        find_kind(r.kind)
    except LookupError as exc:  # a module:Class that does not import
        errors.append((("kind",), str(exc)))
    except ValueError as exc:  # no kind of that name
        errors.append((("kind",), str(exc)))
    if r.model is not None and r.kind != "sentencepiece":
        errors.append((("model",), f"model is for kind sentencepiece only, not {r.kind}"))
    if r.byte_fallback is not None and r.kind != "sentencepiece":
        errors.append((("byte_fallback",), f"byte_fallback is for kind sentencepiece only, not {r.kind}"))
    if r.kind == "wordpiece" and r.pretokenizer.type == "none":
        errors.append((("pretokenizer", "type"), "wordpiece needs words first: use sudachi or mecab"))
    if r.kind == "char" and r.dictionary:
        errors.append((("dictionary",), "a char tokenizer has no multi-character tokens; to mask domain terms as "
                       "whole words give pretokenizer.user_dict instead"))
    if r.pretokenizer.type == "mecab" and r.pretokenizer.user_dict:
        errors.append((("pretokenizer", "user_dict"), "user_dict is a Sudachi dictionary: use type sudachi"))
    for i, token in enumerate(r.special_tokens):
        if r.special_tokens.index(token) != i:
            errors.append((("special_tokens", i), f"{token!r} is listed twice"))
    roles = [SPECIAL_ROLES[t] for t in r.special_tokens if t in SPECIAL_ROLES]
    for role in REQUIRED_ROLES:
        if roles.count(role) != 1:
            spellings = [t for t, name in SPECIAL_ROLES.items() if name == role]
            errors.append((("special_tokens",), f"needs exactly one {role} token (one of {spellings})"))
    if r.vocab_size <= len(r.special_tokens) + 8:
        errors.append((("vocab_size",), "too small for the special tokens plus a few pieces"))
    for key, value in (("dictionary", r.path(r.dictionary)), ("pretokenizer.user_dict", r.user_dict_file())):
        if value and not os.path.exists(value):
            errors.append((tuple(key.split(".")), f"not found: {value}"))
    if r.dictionary and r.path(r.dictionary) and not os.path.exists(os.path.join(r.path(r.dictionary), "terms.tsv")):
        errors.append((("dictionary",), "expected a folder made by `jacorpus dict build` (with terms.tsv)"))
    return errors


def parse_tokenizer_recipe(text: str, where: str = "<recipe>", base_dir: str = ".") -> TokenizerRecipe:
    root, data = read_yaml_mapping(text, where, "a tokenizer recipe is a YAML mapping with at least `kind`")
    data.setdefault("pretokenizer", {})
    if data.get("pretokenizer") is None:
        data["pretokenizer"] = {}
    try:
        recipe = TokenizerRecipe.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise_recipe_errors(where, root, validation_errors(exc))
    errors = _cross_field_errors(recipe)
    if errors:
        raise_recipe_errors(where, root, errors)
    return recipe


def load_tokenizer_recipe(path: str, **overrides: Any) -> TokenizerRecipe:
    """Read a recipe file; ``overrides`` (e.g. dictionary=..., from the command line) replace its keys."""
    if not os.path.exists(path):
        raise RecipeError(f"recipe not found: {path}")
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a tokenizer recipe is a YAML mapping with at least `kind`")
    active = {key: value for key, value in overrides.items() if value is not None}
    for key, value in active.items():
        if key == "user_dict":
            if not isinstance(data.get("pretokenizer"), dict):
                data["pretokenizer"] = {"type": "sudachi"}
            data["pretokenizer"]["user_dict"] = os.path.abspath(value)
        else:
            data[key] = os.path.abspath(value) if key == "dictionary" else value
    if active:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    return parse_tokenizer_recipe(text, where=path, base_dir=os.path.dirname(os.path.abspath(path)))
