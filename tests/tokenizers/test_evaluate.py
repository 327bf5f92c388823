"""`jacorpus tokenizer eval`: the side-by-side table, JSON and plot on real text."""

from __future__ import annotations

import json

from jacorpus.tokenizers.evaluate import evaluate_tokenizers


def test_eval_table_json_and_plot(tokenizers, medtxt_file, tmp_path):
    names = ["char", "sp", "sp_dict", "wp_dict"]
    terms = tokenizers["wp_dict"] / "dictionary_terms.txt"  # the terms the WordPiece variant keeps
    table = evaluate_tokenizers([str(tokenizers[n]) for n in names], [str(medtxt_file)], str(terms),
                                str(tmp_path / "eval"), max_documents=60)
    lines = table.splitlines()
    assert lines[0].startswith("| tokenizer | vocab | tokens/char | chars/token | tokens/word | bare ▁ | "
                               "▁ beyond text | unk rate | round trip | same chars |")
    assert [line.split("|")[1].strip() for line in lines[2:6]] == names
    # the exact round trip fails for WordPiece (a space between words), and the table shows where
    failures = [line for line in lines if line.startswith("round trip ")]
    assert failures and all(line.startswith("round trip wp_dict: document ") for line in failures)
    assert "expected '" in failures[0] and "got '" in failures[0]
    assert "60 documents" in table
    data = json.loads((tmp_path / "eval" / "eval.json").read_text(encoding="utf-8"))
    scores = {s["name"]: s for s in data["scores"]}
    assert data["documents"] == 60 and data["terms"] > 1000
    assert 0.95 < scores["char"]["tokens_per_char"] < 1.05  # one token per character (NFKC may merge a few)
    for name in ["sp", "sp_dict", "char"]:  # byte fallback, lossless, exact
        assert scores[name]["unk_rate"] == 0 and scores[name]["roundtrip"] == 1.0 == scores[name]["same_chars"]
    assert scores["wp_dict"]["roundtrip"] == 0 and scores["wp_dict"]["same_chars"] == 1.0
    assert len(scores["wp_dict"]["roundtrip_failures"]) == 3
    # the dictionary variants keep terms whole far more often than the plain SentencePiece and the char tokenizer
    assert scores["wp_dict"]["terms_whole"] > 0.95 and scores["char"]["terms_whole"] < 0.05
    assert scores["sp_dict"]["terms_whole"] > scores["sp"]["terms_whole"] + 0.2
    assert all(s["chars_per_second"] > 0 and s["tokens"] > 0 for s in scores.values())
    png = (tmp_path / "eval" / "eval.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (tmp_path / "eval" / "eval.md").read_text(encoding="utf-8").strip() == table


def test_eval_cli_on_a_corpus_directory(tokenizers, corpus_dir):
    from typer.testing import CliRunner

    from jacorpus.commands import app

    result = CliRunner().invoke(app, ["tokenizer", "eval", str(tokenizers["sp"]), str(tokenizers["wp_mecab"]),
                                      "--text", str(corpus_dir), "--max-documents", "20"])
    assert result.exit_code == 0, result.output
    assert "| sp |" in result.output and "| wp_mecab |" in result.output and "20 documents" in result.output
