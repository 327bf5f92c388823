"""Real data for the tokenizer tests: MedTxt case reports (tags stripped), MANBYO rows, a jacorpus corpus directory,
a dictionary built once, and each tokenizer kind built once (small vocabularies so the whole area stays quick)."""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

# a seed CSV with bad rows: (line number, reason fragment) of each bad one is asserted in test_dictionary.py
LONG_TERM = "長" * 300  # Sudachi's user dictionaries take headwords of at most 255 characters
BAD_SEED_ROWS = [
    "肝硬変,K746,肝硬変",                          # 1 good
    '"大腸癌肝転移","C189,C787",大腸癌，転移性肝腫瘍',  # 2 good (quoted multi-code)
    "only_two_columns,K746",                       # 3 bad column count
    ",K746,見出しなし",                             # 4 empty term
    "a,b,c,d",                                     # 5 bad column count
    "壊死性多発肝腫瘤,-1,-1",                        # 6 good (MANBYO's -1: no code, no standard name)
    "制御\x01文字,X,Y",                             # 7 control character
    f"{LONG_TERM},-1,-1",                          # 8 too long for Sudachi
]


def medtxt_documents(shared: Path) -> list[str]:
    """The 148 MedTxt-CR case reports as plain text (title line + report), tags stripped."""
    xml = (shared / "medical" / "medtxt_cr_ja" / "MedTxt-CR-JA-training.xml").read_text(encoding="utf-8")
    docs = []
    for title, body in re.findall(r'<article[^>]*title="([^"]*)"[^>]*>(.*?)</article>', xml, flags=re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", body)).strip()
        docs.append(html.unescape(title) + "\n" + re.sub(r"\n{2,}", "\n", text))
    return docs


@pytest.fixture(scope="session")
def medtxt(shared_data: Path) -> list[str]:
    docs = medtxt_documents(shared_data)
    assert len(docs) == 148
    return docs


@pytest.fixture(scope="session")
def medtxt_file(medtxt: list[str], tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("medtxt") / "medtxt.txt"
    path.write_text("\n\n".join(medtxt) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def corpus_dir(medtxt_file: Path, tmp_path_factory) -> Path:
    """A jacorpus output directory (Arrow shards) made by running a `text` recipe over the MedTxt text."""
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import load_recipe

    work = tmp_path_factory.mktemp("corpus")
    recipe = {"name": "medtxt", "sources": [{"type": "text", "name": "medtxt", "split": "blank_line",
                                             "paths": [str(medtxt_file)]}], "output": {"dir": "out"}}
    (work / "r.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    run_local(build_plan(load_recipe(str(work / "r.yaml"))), workers=1, progress=False, overwrite=False)
    return work / "out"


@pytest.fixture(scope="session")
def manbyo_subset(shared_data: Path, medtxt: list[str], tmp_path_factory) -> Path:
    """Real MANBYO rows, byte for byte (CRLF, quoted codes): those found in MedTxt plus every 50th other row."""
    source = shared_data / "medical" / "manbyo_dictionary" / "dic.csv"
    text = unicodedata.normalize("NFKC", "\n".join(medtxt))
    lines = source.read_bytes().decode("utf-8").splitlines(keepends=True)
    kept = [ln for i, ln in enumerate(lines) if i % 50 == 0 or unicodedata.normalize("NFKC", ln.split(",")[0]) in text]
    path = tmp_path_factory.mktemp("seeds") / "manbyo_subset.csv"
    path.write_bytes("".join(kept).encode("utf-8"))
    return path


@pytest.fixture(scope="session")
def bad_seed(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seeds") / "bad_rows.csv"
    path.write_bytes("".join(row + "\r\n" for row in BAD_SEED_ROWS).encode("utf-8"))
    return path


@pytest.fixture(scope="session")
def dict_build(corpus_dir: Path, manbyo_subset: Path, bad_seed: Path, tmp_path_factory):
    from jacorpus.tokenizers.dictionary import DictionaryBuilder, DictionaryOptions

    out = tmp_path_factory.mktemp("dict") / "medical"
    report = DictionaryBuilder([str(corpus_dir)], str(out), DictionaryOptions(
        seeds=[str(manbyo_subset), str(bad_seed)])).run(progress=False)
    return out, report


RECIPES = {
    "char": {"kind": "char", "vocab_size": 3000, "pretokenizer": {"type": "sudachi", "mode": "C"}},
    "sp": {"kind": "sentencepiece", "vocab_size": 3000},
    "sp_dict": {"kind": "sentencepiece", "vocab_size": 3000, "dictionary": "DICT", "dictionary_max_share": 0.3},
    "sp_bpe": {"kind": "sentencepiece", "model": "bpe", "vocab_size": 3000, "dictionary": "DICT"},
    "wp_dict": {"kind": "wordpiece", "vocab_size": 4000, "pretokenizer": {"type": "sudachi", "mode": "C"},
                "dictionary": "DICT", "dictionary_max_share": 0.3},
    "sp_sudachi": {"kind": "sentencepiece", "vocab_size": 3000, "pretokenizer": {"type": "sudachi", "mode": "A"}},
    "sp_sudachi_dict": {"kind": "sentencepiece", "vocab_size": 3000, "pretokenizer": {"type": "sudachi", "mode": "C"},
                        "dictionary": "DICT", "dictionary_max_share": 0.3},
    "wp_mecab": {"kind": "wordpiece", "vocab_size": 3000, "pretokenizer": {"type": "mecab"}},
    "sp_mecab_dict": {"kind": "sentencepiece", "vocab_size": 3000, "pretokenizer": {"type": "mecab"},
                      "dictionary": "DICT", "dictionary_max_share": 0.3},
}


@pytest.fixture(scope="session")
def tokenizers(dict_build, corpus_dir: Path, tmp_path_factory) -> dict[str, Path]:
    """Every kind, trained once from the corpus directory: name -> tokenizer folder."""
    from jacorpus.tokenizers.recipe import load_tokenizer_recipe
    from jacorpus.tokenizers.train import train_tokenizer

    dict_dir, _ = dict_build
    work = tmp_path_factory.mktemp("tokenizers")
    folders = {}
    for name, spec in RECIPES.items():
        spec = {"name": name, **spec}
        if spec.get("dictionary") == "DICT":
            spec["dictionary"] = str(dict_dir)
        path = work / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        train_tokenizer(load_tokenizer_recipe(str(path)), [str(corpus_dir)], str(work / name), progress=False)
        folders[name] = work / name
    return folders
