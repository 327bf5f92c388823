"""`jacorpus tokenizer extend`: a base tokenizer keeps its tokens and ids and gains the dictionary's terms that
occur in the domain corpus, each then kept whole in running text (continued pretraining's tokenizer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jacorpus.commands import app
from jacorpus.tokenizers.loading import load_tokenizer


@pytest.mark.parametrize("name", ["sp", "wp_dict"])  # raw-text SentencePiece; Sudachi WordPiece with its own code
def test_extended_tokenizer_keeps_ids_and_takes_terms_whole(tokenizers, dict_build, corpus_dir, medtxt, tmp_path, name):
    dict_dir, _ = dict_build
    out = tmp_path / f"{name}-extended"
    result = CliRunner().invoke(app, ["tokenizer", "extend", str(tokenizers[name]), "--dictionary", str(dict_dir),
                                      "--corpus", str(corpus_dir), "--out", str(out), "--max-terms", "200"])
    assert result.exit_code == 0, result.output
    base, extended = load_tokenizer(str(tokenizers[name])), load_tokenizer(str(out))
    base_vocab, new_vocab = base.get_vocab(), extended.get_vocab()
    assert all(new_vocab[token] == i for token, i in base_vocab.items())  # every base id unchanged
    added = [t for t in new_vocab if t not in base_vocab]
    assert 0 < len(added) <= 200 and len(extended) == len(base) + len(added)
    assert f"{len(base)} -> {len(extended)} tokens ({len(added)} terms added" in result.output
    # each added term is split by the base tokenizer and one token of the extended one; in running text it stays
    # whole unless an overlapping term wins (肺転移|巣 takes 肺転移, not 転移巣), so most, not all, occurrences
    text = "\n".join(medtxt)
    whole = 0
    for term in added[:30]:
        assert len(base.tokenize(term)) > 1
        assert [t.lstrip("#▁") for t in extended.tokenize(term) if t.lstrip("#▁")] == [term]
        start = text.find(term)
        assert start >= 0, term  # chosen from the corpus: it occurs there
        context = text[max(0, start - 20): start + len(term) + 20]
        # one token, or inside one longer token (a Sudachi user-dictionary word that holds it): not cut
        whole += any(term in token.lstrip("#▁") for token in extended.tokenize(context))
    assert whole >= 0.8 * min(30, len(added))


def test_terms_already_single_tokens_are_not_added(tokenizers, dict_build, tmp_path):
    from jacorpus.tokenizers.extend import extend_tokenizer

    dict_dir, _ = dict_build
    first = extend_tokenizer(str(tokenizers["sp"]), str(dict_dir), str(tmp_path / "once"), min_count=1)
    again = extend_tokenizer(str(tmp_path / "once"), str(dict_dir), str(tmp_path / "twice"), min_count=1)
    assert first["added"] > 0 and again["added"] == 0
    assert again["skipped"]["already one token"] >= first["added"]


def test_a_base_whose_code_is_not_jacorpus_is_refused_without_the_flag(tokenizers, dict_build, tmp_path):
    import shutil

    dict_dir, _ = dict_build
    planted = tmp_path / "base"
    shutil.copytree(tokenizers["wp_dict"], planted)
    code = next(p for p in planted.iterdir() if p.suffix == ".py")
    code.write_text(code.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["tokenizer", "extend", str(planted), "--dictionary", str(dict_dir),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--trust-remote-code" in result.output
    assert not (tmp_path / "out").exists()
