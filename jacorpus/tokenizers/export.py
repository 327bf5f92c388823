"""Finishing a tokenizer folder: remote code where needed, word-boundary settings, dictionary terms, a card."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import yaml

from jacorpus.tokenizers.loading import EXPORTED_CODE, HERE, REMOTE_CLASSES, REMOTE_MODULE
from jacorpus.tokenizers.recipe import TokenizerRecipe

CONFIG_FILE = "jacorpus_tokenizer.json"
TERMS_FILE = "dictionary_terms.txt"



def add_remote_code(folder: str, class_name: str) -> None:
    """Copy the tokenizer classes (and the word splitters they import) and point AutoTokenizer at ``class_name``."""
    for target, source in EXPORTED_CODE.items():
        shutil.copyfile(os.path.join(HERE, source), os.path.join(folder, target))
    path = os.path.join(folder, "tokenizer_config.json")
    with open(path, encoding="utf-8") as fh:
        config = json.load(fh)
    config["auto_map"] = {"AutoTokenizer": [f"{REMOTE_MODULE}.{class_name}", None]}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(config, fh, ensure_ascii=False, indent=2)


def word_id_dictionaries(recipe: TokenizerRecipe, tokenizer, folder: str) -> list[str]:
    """Sudachi user dictionaries (file names in the folder) for the word ids of whole-word masking.

    A Sudachi tokenizer's own dictionaries, so masked words are its words; otherwise copies of the recipe's
    user_dict and of the dictionary's user.dic, named wwm_*.dic (a Sudachi tokenizer class would load sudachi_*.dic).
    """
    from jacorpus.tokenizers.hf_tokenizer import USER_DICT_FILES

    if type(tokenizer).__name__ == "JacorpusJapaneseTokenizer":
        return [name for key, name in USER_DICT_FILES.items() if getattr(tokenizer, key)]
    dictionary = recipe.path(recipe.dictionary)
    sources = {"wwm_user.dic": recipe.user_dict_file(),
               "wwm_terms.dic": os.path.join(dictionary, "user.dic") if dictionary else None}
    names = []
    for name, source in sources.items():
        if source and os.path.exists(source):
            shutil.copyfile(source, os.path.join(folder, name))
            names.append(name)
    return names


def finish_folder(recipe: TokenizerRecipe, tokenizer, folder: str, sample, choice, seconds: float,
                  checks: dict[str, Any] | None = None) -> dict[str, Any]:
    class_name = type(tokenizer).__name__
    remote = class_name in REMOTE_CLASSES
    if remote:
        add_remote_code(folder, class_name)
    wwm_files = word_id_dictionaries(recipe, tokenizer, folder)
    with open(os.path.join(folder, TERMS_FILE), "w", encoding="utf-8") as fh:
        fh.writelines(term + "\n" for term in choice.kept)
    summary = {
        "name": recipe.name,
        "kind": recipe.kind,
        "model": recipe.model or ("unigram" if recipe.kind == "sentencepiece" else None),
        "class": class_name,
        "remote_code": remote,
        "vocab_size": len(tokenizer),
        "pretokenizer": recipe.pretokenizer.model_dump(exclude={"user_dict"}),
        "special_tokens": recipe.special_tokens,
        "dictionary_terms": len(choice.kept),
        "dictionary_terms_skipped": dict(list(choice.skipped.items())[:200]),
        "dictionary_selection": choice.report,
        "warnings": choice.warnings,
        "word_ids": {"sudachi_mode": recipe.word_ids_mode(), "user_dicts": wwm_files},
        "documents": sample.documents,
        "characters": sample.characters,
        "seconds": seconds,
        "checks": checks or {},
        "recipe": recipe.model_dump(mode="json"),
    }
    with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, ensure_ascii=False, indent=2)
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as fh:
        fh.write(card(summary))
    return summary


def card(s: dict[str, Any]) -> str:
    load = "AutoTokenizer.from_pretrained(folder, trust_remote_code=True)" if s["remote_code"] else \
        "AutoTokenizer.from_pretrained(folder)"
    pre = s["pretokenizer"]
    words = {"none": "none (raw text)", "sudachi": f"Sudachi (sudachidict_core, split mode {pre['mode']})",
             "mecab": "MeCab (fugashi + unidic-lite)"}[pre["type"]]
    from huggingface_hub import ModelCardData

    metadata = ModelCardData(language=["ja"], library_name="transformers",
                             tags=["jacorpus", "tokenizer", s["kind"]] + (["custom_code"] if s["remote_code"] else []))
    lines = [
        "---", metadata.to_yaml(), "---", "",
        f"# Tokenizer `{s['name']}`", "",
        "Built by `jacorpus tokenizer train` from the recipe below.", "",
        f"- kind: **{s['kind']}**" + (f" ({s['model']})" if s["model"] else ""),
        f"- class: `{s['class']}`; vocabulary: {s['vocab_size']} tokens; "
        f"special tokens: {', '.join(s['special_tokens'])}",
        f"- pre-tokenization: {words}; text is NFKC-normalized",
        f"- dictionary terms kept as single tokens: {s['dictionary_terms']} (listed in `{TERMS_FILE}`)",
        f"- trained on {s['documents']} documents, {s['characters']} characters, in {s['seconds']} s",
        "", "## Loading", "", "```python", "from transformers import AutoTokenizer",
        f"tokenizer = {load}", "```", "",
    ]
    if s["remote_code"] and pre["type"] == "mecab":
        lines += [
            "This folder ships custom code: `tokenization_jacorpus.py` (a `BertJapaneseTokenizer` subclass) and the",
            "word splitters it imports (`mecab_split.py`, `sudachi_split.py`, `sudachi_chunks.py`). It loads",
            "`mecab_user.dic` from this folder (a MeCab user dictionary of the dictionary terms in the vocabulary,",
            "compiled against unidic-lite; the built-in class takes one only as an absolute path), chunks words for",
            "SentencePiece, falls back to bytes where WordPiece has no piece, and keeps the prompt encoding of causal",
            "models (`[bos] text`, no `[SEP]`). Hence `trust_remote_code=True`.", "",
        ]
    elif s["remote_code"]:
        lines += [
            "This folder ships custom code: `tokenization_jacorpus.py` (a `BertJapaneseTokenizer` subclass) and",
            "`sudachi_split.py`. Sudachi refuses more than 49,149 bytes per call and the built-in class passes text",
            "through whole; this class cuts long text first and loads `sudachi_user.dic` / `sudachi_terms.dic`",
            "from this folder (Sudachi user dictionaries, compiled for the sudachidict_core version it was built",
            "with; `sudachi_terms.dic` makes the dictionary terms in the vocabulary words). Hence",
            "`trust_remote_code=True`.", "",
        ]
    lines += [
        "## Whole-word masking", "",
        "`jacorpus.tokenizers.wwm.word_ids(tokenizer, text)` gives one word id per token of",
        "`tokenizer(text, add_special_tokens=False)`, from Sudachi words "
        f"(split mode {s['word_ids']['sudachi_mode']}"
        + "".join(f", user dictionary `{name}`" for name in s["word_ids"]["user_dicts"]) + ").", "",
        "## Recipe", "", "```yaml", yaml.safe_dump(s["recipe"], allow_unicode=True, sort_keys=False).strip(), "```", "",
    ]
    return "\n".join(lines)
