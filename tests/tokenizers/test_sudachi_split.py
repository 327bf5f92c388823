"""Long text: Sudachi's 49,149-byte limit per call never surfaces."""

from __future__ import annotations

import pytest

from jacorpus.tokenizers.sudachi_split import SUDACHI_MAX_BYTES, SudachiWords, split_for_sudachi


def test_pieces_rebuild_the_text_and_fit_the_limit(medtxt):
    text = "\n".join(medtxt) * 2  # ~520 KB of real text
    pieces = split_for_sudachi(text)
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece.encode()) <= SUDACHI_MAX_BYTES for _, piece in pieces)
    assert [offset for offset, _ in pieces] == [sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))]
    # real text has newlines: every cut but the last falls right after one
    assert all(piece.endswith("\n") for _, piece in pieces[:-1])


def test_cuts_after_a_sentence_end_without_newlines(medtxt):
    text = "".join(medtxt).replace("\n", "")
    pieces = split_for_sudachi(text)
    assert len(pieces) > 1 and "".join(p for _, p in pieces) == text
    assert all(piece[-1] in "。．.！？!?" for _, piece in pieces[:-1])


def test_a_single_unbroken_run_is_cut_at_the_byte_limit():
    text = "あ" * 40_000  # 120,000 bytes, no cut point at all
    pieces = split_for_sudachi(text)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p.encode()) <= SUDACHI_MAX_BYTES for _, p in pieces)


def test_sudachi_raises_on_long_input_and_the_wrapper_does_not(medtxt):
    from sudachipy import Dictionary

    text = "".join(medtxt)
    assert len(text.encode()) > SUDACHI_MAX_BYTES
    with pytest.raises(Exception, match="too long"):
        Dictionary(dict="core").tokenizer().tokenize(text)
    spans = SudachiWords("C").spans(text)
    assert spans[0][0] == 0 and spans[-1][1] <= len(text)
    assert all(a < b <= c for (a, b), (c, _) in zip(spans, spans[1:]))  # ordered, offsets in the whole text
    joined = "".join(text[a:b] for a, b in spans)  # (a few dictionary words hold a space: "patch test")
    assert "".join(joined.split()) == "".join(text.split())  # every other character is in exactly one word
