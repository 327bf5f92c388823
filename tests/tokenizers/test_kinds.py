"""Tokenizer kinds are an open registry: a kind defined outside jacorpus plugs in by name (as an entry point or a
registration would give it) and `tokenizer train` builds it with the same sample, terms and export as its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jacorpus.pipelines.recipe import RecipeError
from jacorpus.tokenizers.kind_registry import KINDS, TokenizerKind
from jacorpus.tokenizers.kinds import CharKind
from jacorpus.tokenizers.recipe import load_tokenizer_recipe, parse_tokenizer_recipe
from jacorpus.tokenizers.train import train_tokenizer


class SmallCharKind(CharKind):
    """A plugin kind: characters, but never more than 300 of them (a stand-in for any outside builder)."""

    calls = 0

    def build(self, recipe, sample, terms, work, staging, progress):
        SmallCharKind.calls += 1
        return super().build(recipe.model_copy(update={"vocab_size": 300}), sample, terms, work, staging, progress)


def test_the_built_in_kinds_share_one_builder_signature():
    assert {"char", "sentencepiece", "wordpiece"} <= set(KINDS.known())
    for name in ("char", "sentencepiece", "wordpiece"):
        assert issubclass(KINDS.find(name), TokenizerKind)


def test_a_plugin_kind_is_trained_and_loads_with_auto_tokenizer(corpus_dir: Path, tmp_path: Path, request):
    from transformers import AutoTokenizer

    KINDS.add("small-char", SmallCharKind)
    request.addfinalizer(lambda: KINDS.types.pop("small-char", None))
    recipe_file = tmp_path / "small.yaml"
    recipe_file.write_text(yaml.safe_dump({"name": "small", "kind": "small-char", "vocab_size": 3000}), "utf-8")
    out = tmp_path / "small"
    train_tokenizer(load_tokenizer_recipe(str(recipe_file)), [str(corpus_dir)], str(out), progress=False)
    assert SmallCharKind.calls == 1
    tok = AutoTokenizer.from_pretrained(out)
    assert len(tok) <= 300 + 256 + 5  # its own cap (plus byte fallback and specials), not the recipe's 3000
    ids = tok("吾輩は猫である。", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == "吾輩は猫である。"


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(RecipeError) as info:
        parse_tokenizer_recipe("kind: bytes\n", where="tok.yaml")
    assert "tok.yaml:1: kind: unknown tokenizer kind 'bytes'" in str(info.value)
    with pytest.raises(RecipeError) as info:
        parse_tokenizer_recipe("kind: no_such_module:Kind\n", where="tok.yaml")
    assert "cannot import it" in str(info.value)
