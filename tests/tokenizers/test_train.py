"""Every tokenizer kind, built from a real corpus directory: loads with AutoTokenizer, round-trips, keeps terms."""

from __future__ import annotations

import json
import pickle
import unicodedata

import pytest
from transformers import AutoTokenizer

from jacorpus.tokenizers.align import token_spans
from jacorpus.tokenizers.loading import load_tokenizer
from jacorpus.tokenizers.sudachi_split import SudachiWords, whitespace_normalized
from jacorpus.tokenizers.terms import TermMatcher

from .conftest import RECIPES

CLASSES = {"char": "TokenizersBackend", "sp": "TokenizersBackend", "sp_dict": "TokenizersBackend",
           "sp_bpe": "TokenizersBackend", "wp_mecab": "JacorpusMecabTokenizer",
           "sp_mecab_dict": "JacorpusMecabTokenizer", "wp_dict": "JacorpusJapaneseTokenizer",
           "sp_sudachi": "JacorpusJapaneseTokenizer", "sp_sudachi_dict": "JacorpusJapaneseTokenizer"}
REMOTE = {"wp_dict", "sp_sudachi", "sp_sudachi_dict", "wp_mecab", "sp_mecab_dict"}


def no_space_nfkc(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def kept_terms(folder) -> list[str]:
    return (folder / "dictionary_terms.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_loads_with_auto_tokenizer_and_special_tokens(tokenizers, name):
    folder = tokenizers[name]
    if name in REMOTE:
        with pytest.raises(ValueError, match="trust_remote_code"):
            AutoTokenizer.from_pretrained(folder)
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    else:
        tok = AutoTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == CLASSES[name]
    assert tok.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]) == [0, 1, 2, 3, 4]
    assert (tok.pad_token, tok.mask_token, tok.cls_token, tok.sep_token) == ("[PAD]", "[MASK]", "[CLS]", "[SEP]")
    ids = tok("症例は70歳の男性。")["input_ids"]
    assert ids[0] == 2 and ids[-1] == 3 and len(ids) > 3
    assert len(tok) <= RECIPES[name]["vocab_size"]
    summary = json.loads((folder / "jacorpus_tokenizer.json").read_text(encoding="utf-8"))
    assert summary["class"] == CLASSES[name] and summary["remote_code"] == (name in REMOTE)
    from huggingface_hub import ModelCard

    card = ModelCard.load(folder / "README.md", ignore_metadata_errors=False)  # a valid Hub card with metadata
    assert summary["documents"] == 148 and card.text.lstrip().startswith("# Tokenizer")
    assert card.data.language == ["ja"] and "tokenizer" in card.data.tags


EXACT = {"char", "sp", "sp_dict", "sp_bpe", "sp_sudachi", "sp_sudachi_dict", "sp_mecab_dict"}  # WordPiece puts spaces between words


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_round_trips_real_text(tokenizers, name, medtxt):
    """decode(encode(x)) is the normalized text exactly (spaces included) for every kind but WordPiece, which loses
    no character either, and none gives [UNK]."""
    tok = load_tokenizer(str(tokenizers[name]))
    failures = []
    for doc in medtxt:
        ids = tok(doc, add_special_tokens=False)["input_ids"]
        assert tok.unk_token_id not in ids
        decoded = tok.decode(ids)
        if name in EXACT:
            expected = " ".join(unicodedata.normalize("NFKC", doc).split())
            if decoded != expected:
                failures.append((doc[:40], decoded[:40]))
        elif no_space_nfkc(decoded) != no_space_nfkc(doc):
            failures.append(doc[:40])
    assert not failures


def test_byte_fallback_for_characters_never_seen(tokenizers):
    text = "腟分泌物と漿液性の〈滲出液〉🩺を認めた。"  # 🩺 is in no training text; 腟 and 〈〉 are not in MedTxt
    for name in ["char", "wp_dict", "sp_sudachi_dict", "wp_mecab", "sp_mecab_dict"]:
        tok = load_tokenizer(str(tokenizers[name]))
        ids = tok(text, add_special_tokens=False)["input_ids"]
        tokens = tok.convert_ids_to_tokens(ids)
        assert tok.unk_token_id not in ids and "<0xF0>" in tokens, (name, tokens)
        assert no_space_nfkc(tok.decode(ids)) == no_space_nfkc(text)


@pytest.mark.parametrize("name", ["sp", "sp_dict", "sp_bpe"])
def test_fast_sentencepiece_tokenizes_exactly_like_sentencepiece(tokenizers, name, shared_data):
    import sentencepiece as spm

    folder = tokenizers[name]
    checks = json.loads((folder / "jacorpus_tokenizer.json").read_text(encoding="utf-8"))["checks"]
    assert checks["sentencepiece_parity"]["same"] == checks["sentencepiece_parity"]["compared"] == 148
    sp = spm.SentencePieceProcessor(model_file=str(folder / "sentencepiece.model"))
    tok = load_tokenizer(str(folder))
    neko = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    unseen = [p for p in neko.split("\n\n") if p.strip()][:300]  # text the tokenizer was not trained on
    for text in unseen:
        ours = tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])
        assert ours == sp.encode(whitespace_normalized(text), out_type=str)  # the model normalizes nothing itself


def test_sudachi_tokenizer_splits_like_sudachi_with_the_terms_dictionary(tokenizers, medtxt):
    """The pieces partition Sudachi's own words (with the terms dictionary): each word is its pieces, with ##
    and byte tokens decoded, and nothing is [UNK] (byte fallback)."""
    folder = tokenizers["wp_dict"]
    tok = load_tokenizer(str(folder))
    assert not (folder / "sudachi_user.dic").exists()  # the recipe gives no user_dict of its own
    sudachi = SudachiWords("C", [str(folder / "sudachi_terms.dic")])
    for doc in medtxt[:20]:
        norm = unicodedata.normalize("NFKC", doc)
        pieces = iter(tok.tokenize(doc))
        for word in (w for word in sudachi.words(norm) for w in word.split()):
            data, first = b"", next(pieces)
            assert not first.startswith("##")
            piece = first
            while True:
                data += bytes([int(piece[3:5], 16)]) if piece.startswith("<0x") else piece.removeprefix("##").encode()
                if data.decode("utf-8", errors="ignore") == word and len(data) == len(word.encode()):
                    break
                assert len(data) < len(word.encode()), (word, first)
                piece = next(pieces)
                assert piece.startswith("##") or piece.startswith("<0x"), (word, piece)
        assert next(pieces, None) is None


@pytest.mark.parametrize("name, minimum", [("sp_dict", 0.9), ("sp_bpe", 1.0), ("wp_dict", 0.95)])
def test_dictionary_terms_stay_whole(tokenizers, name, minimum, medtxt):
    folder = tokenizers[name]
    tok = load_tokenizer(str(folder))
    terms = kept_terms(folder)
    assert len(terms) > 300
    for term in terms:  # alone, every kept term is one token
        tokens = [t for t in tok.tokenize(term) if t != "▁"]
        assert tokens == [term] or tokens == ["▁" + term], (term, tokens)
    matcher, whole, total = TermMatcher(terms), 0, 0
    for doc in medtxt:  # in running text, occurrences that are one token
        norm, _, spans = token_spans(tok, doc)
        span_set = set(spans)
        for start, end, _ in matcher.find_longest(norm):
            total += 1
            whole += (start, end) in span_set
    assert total > 1000 and whole / total >= minimum
    assert "非代償性肝硬変" in tok.tokenize("非代償性肝硬変と診断した。")


def test_without_dictionary_terms_are_split(tokenizers, dict_build):
    tok = load_tokenizer(str(tokenizers["wp_mecab"]))
    assert len(tok.tokenize("非代償性肝硬変")) > 1


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_long_text_never_crashes(tokenizers, name, medtxt):
    tok = load_tokenizer(str(tokenizers[name]))
    text = "".join(medtxt).replace("\n", "")  # one line of ~86,000 characters, ~250 KB
    assert len(text.encode()) > 5 * 49_149
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 20_000
    if name in EXACT:
        assert tok.decode(ids) == " ".join(unicodedata.normalize("NFKC", text).split())


def test_remote_tokenizer_pickles_and_moves(tokenizers, tmp_path, medtxt):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(tokenizers["wp_dict"], moved)  # the user dictionary is found inside the folder, wherever it is
    tok = AutoTokenizer.from_pretrained(moved, trust_remote_code=True)
    clone = pickle.loads(pickle.dumps(tok))
    assert clone(medtxt[0])["input_ids"] == tok(medtxt[0])["input_ids"]
    assert tok.tokenize("原発性胆汁性胆管炎") == ["原発性胆汁性胆管炎"]


def test_cli_train_and_recipe_error(corpus_dir, tmp_path):
    from typer.testing import CliRunner

    from jacorpus.commands import app

    recipe = tmp_path / "char.yaml"
    recipe.write_text("name: c\nkind: char\nvocab_size: 500\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["tokenizer", "train", str(recipe), "--corpus", str(corpus_dir),
                                      "--out", str(tmp_path / "tok"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "148 documents" in result.output and (tmp_path / "tok" / "tokenizer.json").exists()
    recipe.write_text("kind: wordpiece\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["tokenizer", "train", str(recipe), "--corpus", str(corpus_dir),
                                      "--out", str(tmp_path / "tok2")])
    assert result.exit_code == 2 and "pretokenizer.type: wordpiece needs words first" in result.output
