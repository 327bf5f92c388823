"""MeCab tokenizer folders (jacorpus's MeCab class, real fugashi + unidic-lite): trusted remote code, the folder's own
compiled user dictionary wherever the folder goes, a saved copy that tokenizes the same, and the Sudachi class's
special-token behaviour."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest
from transformers import AutoTokenizer

from jacorpus.tokenizers.loading import TokenizerTrustError, load_tokenizer
from jacorpus.tokenizers.sudachi_split import whitespace_normalized


def unidic_lite_tagger(user_dic=None):
    """fugashi over unidic-lite, configured here (the reference the tokenizer class is checked against)."""
    import fugashi
    import unidic_lite

    option = f'-d "{unidic_lite.DICDIR}" -r "{os.path.join(unidic_lite.DICDIR, "mecabrc")}"'
    return fugashi.GenericTagger(option + (f' -u "{user_dic}"' if user_dic else ""))


def split_terms(folder) -> list[str]:
    """Kept dictionary terms that plain unidic-lite cuts into several words."""
    plain = unidic_lite_tagger()
    terms = (folder / "dictionary_terms.txt").read_text(encoding="utf-8").splitlines()
    return [t for t in terms if len(plain(t)) > 1]


@pytest.fixture()
def moved(tokenizers, tmp_path):
    """The dictionary-augmented MeCab folder copied elsewhere: the original path is not where it loads from."""
    folder = tmp_path / "elsewhere" / "tok"
    shutil.copytree(tokenizers["sp_mecab_dict"], folder)
    return folder


def test_loads_with_auto_tokenizer_only_trusting_jacorpus_code(moved, tmp_path):
    with pytest.raises(ValueError, match="trust_remote_code"):
        AutoTokenizer.from_pretrained(moved)
    tok = AutoTokenizer.from_pretrained(moved, trust_remote_code=True)
    assert type(tok).__name__ == "JacorpusMecabTokenizer"
    assert {"tokenization_jacorpus.py", "mecab_split.py", "sudachi_split.py", "mecab_user.dic"} <= set(os.listdir(moved))
    assert type(load_tokenizer(str(moved))).__name__ == "JacorpusMecabTokenizer"  # byte-identical code: trusted
    with open(moved / "mecab_split.py", "a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    with pytest.raises(TokenizerTrustError, match="--trust-remote-code"):
        load_tokenizer(str(moved))


def test_user_dictionary_applies_after_the_folder_moves(tokenizers, moved, dict_build, medtxt):
    original = tokenizers["sp_mecab_dict"]
    config = (moved / "tokenizer_config.json").read_text(encoding="utf-8")
    assert str(original) not in config and "mecab_user.dic" not in config  # nothing points outside the folder
    terms = split_terms(moved)
    assert len(terms) > 50, "the dictionary should hold terms unidic-lite splits"
    reference = unidic_lite_tagger(dict_build[0] / "mecab_user.dic")  # the dictionary `dict build` compiled
    tok = load_tokenizer(str(moved))
    assert tok.word_tokenizer.user_dicts == [str(moved / "mecab_user.dic")]
    for term in terms:
        assert tok.word_tokenizer.tokenize(term) == [term] == [w.surface for w in reference(term)]
        assert [t for t in tok.tokenize(term) if t != "▁"] == [term]
    term = "非代償性肝硬変"  # in running text too: one word, one token
    assert term in terms
    assert term in tok.tokenize("症例は非代償性肝硬変と診断された。")
    assert len(unidic_lite_tagger()(term)) > 1


def test_without_a_compiled_dictionary_terms_are_added_tokens(tokenizers, monkeypatch, tmp_path, dict_build, corpus_dir):
    """No mecab-dict-index: the terms are cut out before MeCab instead (and the build says why)."""
    import yaml

    from jacorpus.tokenizers import sudachi_dict
    from jacorpus.tokenizers.recipe import load_tokenizer_recipe
    from jacorpus.tokenizers.train import train_tokenizer

    monkeypatch.setattr(sudachi_dict, "mecab_dict_index", lambda: None)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"name": "x", "kind": "wordpiece", "vocab_size": 3000, "pretokenizer":
                                      {"type": "mecab"}, "dictionary": str(dict_build[0])}), encoding="utf-8")
    with pytest.warns(UserWarning, match="mecab-dict-index not found"):
        train_tokenizer(load_tokenizer_recipe(str(recipe)), [str(corpus_dir)], str(tmp_path / "tok"), progress=False)
    assert not (tmp_path / "tok" / "mecab_user.dic").exists()
    tok = load_tokenizer(str(tmp_path / "tok"))
    assert "非代償性肝硬変" in tok.get_added_vocab() and "非代償性肝硬変" in tok.tokenize("非代償性肝硬変と診断")


def test_saved_folder_round_trips(moved, tmp_path, medtxt):
    """save_pretrained of a loaded folder (what a model export does) gives a folder that loads, is trusted and
    tokenizes the same; pickling keeps the user dictionary."""
    tok = load_tokenizer(str(moved))
    again = tmp_path / "again"
    tok.save_pretrained(again)
    assert (again / "mecab_user.dic").read_bytes() == (moved / "mecab_user.dic").read_bytes()
    loaded = load_tokenizer(str(again))
    clone = pickle.loads(pickle.dumps(loaded))
    for doc in medtxt[:30]:
        ids = tok(doc)["input_ids"]
        assert loaded(doc)["input_ids"] == ids == clone(doc)["input_ids"]
        assert tok.decode(tok(doc, add_special_tokens=False)["input_ids"]) == whitespace_normalized(doc)
    assert json.loads((again / "tokenizer_config.json").read_text())["auto_map"]["AutoTokenizer"][0] == \
        "tokenization_jacorpus.JacorpusMecabTokenizer"


def test_chunks_partition_the_text_like_mecab(moved, medtxt):
    """SentencePiece chunks are MeCab's words (with the folder's dictionary) with the space before them, joined to
    the particles, auxiliaries, suffixes and dependent (非自立可能) verbs and adjectives after them; together they
    are the whitespace-normalized text."""
    tok = load_tokenizer(str(moved))
    reference = unidic_lite_tagger(moved / "mecab_user.dic")
    for doc in medtxt[:10]:
        text = whitespace_normalized(doc)
        chunks = tok.word_tokenizer.chunks(doc)
        assert "".join(chunks) == text
        starts, at = {0}, 0
        for word in reference(text):
            pos = word.feature[0]
            attaches = pos in ("助詞", "助動詞", "接尾辞") or (word.feature[1] == "非自立可能" and pos in ("動詞", "形容詞"))
            if word.white_space or not attaches:
                starts.add(at)
            at += len(word.white_space) + len(word.surface)
        at, chunk_starts = 0, set()
        for chunk in chunks:
            chunk_starts.add(at)
            at += len(chunk)
        assert chunk_starts == starts and len(chunk_starts) < len(list(reference(text)))


@pytest.mark.parametrize("name", ["wp_mecab", "sp_mecab_dict", "wp_dict"])
def test_special_tokens_pattern_is_saved_like_the_sudachi_class(tokenizers, name, tmp_path):
    """A causal export sets ``special_tokens_pattern`` to bos: the saved MeCab folder then encodes a prompt as
    [bos] + text, without [CLS]/[SEP], exactly as the Sudachi class does."""
    from jacorpus.train.export import causal_prompt_encoding

    tok = load_tokenizer(str(tokenizers[name]))
    body = tok("吾輩は猫である。", add_special_tokens=False)["input_ids"]
    assert tok("吾輩は猫である。")["input_ids"] == [tok.cls_token_id, *body, tok.sep_token_id]  # BERT style by default
    assert causal_prompt_encoding(tok, tok.sep_token_id) == "[SEP] + text (special_tokens_pattern bos)"
    tok.save_pretrained(tmp_path / "final")
    for name_ in os.listdir(tokenizers[name]):  # as train/export.py's copy_tokenizer_extras
        if not (tmp_path / "final" / name_).exists():
            shutil.copy(tokenizers[name] / name_, tmp_path / "final" / name_)
    loaded = load_tokenizer(str(tmp_path / "final"))
    ids = loaded("吾輩は猫である。")["input_ids"]
    assert ids == [loaded.sep_token_id, *body] and loaded.cls_token_id not in ids
