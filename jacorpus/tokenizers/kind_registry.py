"""The registry of tokenizer kinds: one open registry for a recipe's ``kind:``, every kind a builder with one signature.

jacorpus' own kinds (char, sentencepiece, wordpiece) register by decorator in tokenizers/kinds.py; a separate package adds one through
the ``jacorpus.tokenizer_kinds`` entry point group, or a recipe names ``module:Class`` (see foundation/registry.py).
``tokenizer train`` reads the sample, chooses the dictionary terms and exports the folder the same way for every
kind; a kind only builds the transformers tokenizer from them.
"""

from __future__ import annotations

from typing import Any

from jacorpus.foundation.registry import Registry


class TokenizerKind:
    """A kind of tokenizer ``tokenizer train`` builds. ``build`` returns a transformers tokenizer (saved by the
    caller into ``staging``); ``work`` is a scratch folder removed afterwards."""

    name = "?"

    def build(self, recipe, sample, terms: list[str], work: str, staging: str, progress: bool) -> Any:
        raise NotImplementedError


# jacorpus' own kinds register in tokenizers/kinds.py, imported on the first lookup (this module imports no
# builder, so recipes can check a kind's name without an import cycle)
KINDS: Registry[TokenizerKind] = Registry("tokenizer kind", "jacorpus.tokenizer_kinds", TokenizerKind,
                                          ["jacorpus.tokenizers.kinds"])


def register_kind(name: str):
    """Class decorator: the builder is known to tokenizer recipes as ``kind: <name>``."""

    def wrap(cls: type[TokenizerKind]) -> type[TokenizerKind]:
        cls.name = name
        return KINDS.register(name)(cls)

    return wrap


def find_kind(name: str) -> type[TokenizerKind]:
    cls = KINDS.find(name)
    if cls is None:
        raise ValueError(f"unknown tokenizer kind {name!r}; known: {', '.join(KINDS.known())} (or module:Class)")
    return cls


