"""Whole-word-masking word ids: aligned with the tokens, grouped by Sudachi words, for every tokenizer kind."""

from __future__ import annotations

import unicodedata

import pytest

from jacorpus.tokenizers.align import token_spans
from jacorpus.tokenizers.loading import load_tokenizer
from jacorpus.tokenizers.sudachi_split import SudachiWords
from jacorpus.tokenizers.wwm import boundary_settings, word_ids

from .conftest import RECIPES


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_word_ids_align_with_tokens(tokenizers, name, medtxt):
    tok = load_tokenizer(str(tokenizers[name]))
    for doc in medtxt[:15]:
        ids = tok(doc, add_special_tokens=False)["input_ids"]
        words = word_ids(tok, doc)
        assert len(words) == len(ids)
        assert words[0] == 0 and all(b - a in (0, 1) for a, b in zip(words, words[1:]))  # 0, 1, 2, ... in order
        with_specials = word_ids(tok, doc, add_special_tokens=True)
        assert with_specials[0] is None and with_specials[-1] is None and with_specials[1:-1] == words
        # tokens of one word id lie inside the span of the Sudachi words they cover, in order
        norm, _, spans = token_spans(tok, doc)
        assert all(a <= b for (a, _), (b, _) in zip(spans, spans[1:]))


def test_char_level_word_ids_are_sudachi_words(tokenizers, medtxt):
    """Char-level WWM: the characters of one Sudachi word (user dictionary included) share one id."""
    folder = tokenizers["char"]
    tok = load_tokenizer(str(folder))
    mode, user_dicts = boundary_settings(tok)
    assert mode == "C" and user_dicts == []  # the char recipe uses plain Sudachi
    # (a character NFKC expands, ℃ to °C, gives tokens that share one raw offset: left out here)
    docs = [d for d in medtxt if all(len(unicodedata.normalize("NFKC", ch)) == 1 for ch in d)][:10]
    assert len(docs) == 10
    for doc in docs:
        norm = unicodedata.normalize("NFKC", doc)
        words = SudachiWords("C").words(norm)
        ids = word_ids(tok, doc)
        tokens = tok.convert_ids_to_tokens(tok(doc, add_special_tokens=False)["input_ids"])
        grouped: dict[int, str] = {}
        for token, wid in zip(tokens, ids):
            if token != "▁":
                grouped[wid] = grouped.get(wid, "") + (token if token != "[UNK]" else "?")
        rebuilt = ["".join(w.split()) for w in words]
        got = list(grouped.values())
        assert len(got) == len(rebuilt)
        assert sum(a != b for a, b in zip(got, rebuilt)) <= tokens.count("[UNK]")


def test_user_dictionary_terms_are_one_word(tokenizers, dict_build):
    dict_dir, _ = dict_build
    tok = load_tokenizer(str(tokenizers["char"]))
    text = "原発性胆汁性胆管炎と診断した。"
    plain = word_ids(tok, text)
    with_dict = word_ids(tok, text, user_dicts=[str(dict_dir / "user.dic")])
    assert len(set(plain[:9])) > 1 and len(set(with_dict[:9])) == 1 and with_dict[9] == with_dict[8] + 1
    # a dictionary tokenizer records its user dictionary for the word ids
    sp_dict = load_tokenizer(str(tokenizers["sp_dict"]))
    mode, user_dicts = boundary_settings(sp_dict)
    assert [p.rsplit("/", 1)[-1] for p in user_dicts] == ["wwm_terms.dic"]
    wp_dict = load_tokenizer(str(tokenizers["wp_dict"]))  # a Sudachi tokenizer: its own words
    assert [p.rsplit("/", 1)[-1] for p in boundary_settings(wp_dict)[1]] == ["sudachi_terms.dic"]
    ids = word_ids(sp_dict, "非代償性肝硬変の症例")
    tokens = sp_dict.convert_ids_to_tokens(sp_dict("非代償性肝硬変の症例", add_special_tokens=False)["input_ids"])
    assert ids[tokens.index("非代償性肝硬変")] == ids[0]  # the leading ▁ joins the word after it


def test_long_text_word_ids(tokenizers, medtxt):
    tok = load_tokenizer(str(tokenizers["wp_dict"]))
    text = "".join(medtxt).replace("\n", "")
    ids = word_ids(tok, text)
    assert len(ids) == len(tok(text, add_special_tokens=False)["input_ids"])
    assert ids[-1] > 20_000


def test_byte_fallback_tokens_share_a_word(tokenizers):
    tok = load_tokenizer(str(tokenizers["sp"]))
    text = "症例😀です"
    tokens = tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])
    ids = word_ids(tok, text)
    byte_ids = [i for t, i in zip(tokens, ids) if t.startswith("<0x")]
    assert len(byte_ids) == 4 and len(set(byte_ids)) == 1
