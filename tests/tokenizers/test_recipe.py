"""Tokenizer recipes: errors name the key and its line; the shipped recipes are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from jacorpus.pipelines.recipe import RecipeError
from jacorpus.tokenizers.recipe import load_tokenizer_recipe, parse_tokenizer_recipe


@pytest.mark.parametrize(
    "text, where",
    [
        ("kind: wordpiece\nvocab_size: 1000\nvocabsize: 3\n", ":3: vocabsize: unknown key"),
        ("kind: bytes\n", ":1: kind: unknown tokenizer kind 'bytes'; known: char, sentencepiece"),
        ("kind: wordpiece\npretokenizer: {type: none}\n", ":2: pretokenizer.type: wordpiece needs words first"),
        ("kind: char\nmodel: bpe\n", ":2: model: model is for kind sentencepiece only"),
        ("kind: sentencepiece\npretokenizer:\n  type: sudachi\n  mode: D\n", ":4: pretokenizer.mode: Input should be"),
        ("kind: char\nspecial_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]']\n",
         ":2: special_tokens: needs exactly one mask"),
        ("kind: char\ndictionary: /nonexistent/dict\n", ":2: dictionary: a char tokenizer has no multi-character"),
        ("kind: sentencepiece\ndictionary: /nonexistent/dict\n", ":2: dictionary: not found: /nonexistent/dict"),
        ("kind: wordpiece\npretokenizer: {type: mecab, user_dict: x.dic}\n",
         ":2: pretokenizer.user_dict: user_dict is a"),
        ("kind: sentencepiece\nsample_cap: {documents: 0}\n", ":2: sample_cap.documents: Input should be greater"),
    ],
)
def test_errors_name_the_key_and_line(text, where):
    with pytest.raises(RecipeError) as info:
        parse_tokenizer_recipe(text, where="tok.yaml")
    assert "tok.yaml" + where in str(info.value)


def test_defaults_and_roles():
    specials = "['<pad>', '<unk>', '<s>', '</s>', '<mask>', '[X]']"
    r = parse_tokenizer_recipe(f"kind: sentencepiece\nspecial_tokens: {specials}\n")
    assert r.special_roles() == {"pad": "<pad>", "unk": "<unk>", "cls": "<s>", "sep": "</s>", "mask": "<mask>"}
    assert r.pretokenizer.type == "none" and r.sample_cap.characters == 100_000_000 and r.word_ids_mode() == "C"


def test_shipped_recipes_are_valid(repo_root: Path, dict_build):
    dict_dir, _ = dict_build
    recipes = sorted((repo_root / "recipes" / "tokenizers").glob("*.yaml"))
    names = {p.stem for p in recipes}
    assert {"medical-sentencepiece", "medical-sentencepiece-dict", "medical-wordpiece", "medical-wordpiece-dict",
            "general-char", "general-wordpiece"} <= names
    for path in recipes:
        needs_dict = "\ndictionary:" in path.read_text(encoding="utf-8")  # built by `jacorpus dict build` first
        r = load_tokenizer_recipe(str(path), dictionary=dict_dir if needs_dict else None)
        assert r.name == path.stem
        if needs_dict:
            assert r.path(r.dictionary) == str(dict_dir) and r.user_dict_file() is None
