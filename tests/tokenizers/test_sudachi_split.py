"""Long text: Sudachi's 49,149-byte limit per call never surfaces."""

from __future__ import annotations

import pytest

from jacorpus.tokenizers.sudachi_split import SUDACHI_MAX_BYTES, SudachiWords, chunks, split_for_sudachi


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


def test_the_copy_in_a_tokenizer_folder_works_without_jacorpus(tmp_path):
    """A tokenizer folder holds sudachi_split.py and the chunker next to it (remote code): with jacorpus not
    importable, the splitter falls back to that copy."""
    import os
    import subprocess
    import sys

    from jacorpus.tokenizers.export import add_remote_code

    folder = tmp_path / "remote"
    folder.mkdir()
    (folder / "tokenizer_config.json").write_text("{}")
    add_remote_code(str(folder), "JacorpusJapaneseTokenizer")  # what a tokenizer build does
    assert {"sudachi_split.py", "sudachi_chunks.py"} <= {p.name for p in folder.iterdir()}
    (folder / "__init__.py").write_text("")  # transformers makes the folder a package the same way
    code = (
        "import sys; sys.modules['jacorpus'] = None\n"  # any `import jacorpus...` raises ImportError
        "from remote.sudachi_split import split_for_sudachi\n"
        "text = ('吾輩は猫である。' * 3000 + '\\n') * 3\n"
        "pieces = split_for_sudachi(text)\n"
        "assert ''.join(p for _, p in pieces) == text and len(pieces) > 1\n"
        "assert max(len(p.encode()) for _, p in pieces) <= 49149\n"
        "print(split_for_sudachi.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(tmp_path)), check=True)
    assert out.stdout.strip() == "remote.sudachi_chunks"


def test_chunks_join_function_words_to_the_word_before_and_a_space_to_the_word_after():
    """Chunks, the units SentencePiece over Sudachi encodes one by one (issue 15): particles, auxiliaries, suffixes
    and dependent verbs/adjectives (で|ある, さ|れ|た) join the chunk before them, a space the word after it."""
    text = "日本語である(にほんご)と言われることが多い。 使用された第二次世界大戦によって"
    got = chunks(SudachiWords("C"), text)
    assert got == ["日本語である", "(", "にほんご", ")と", "言われる", "ことが", "多い", "。", " 使用された", "第",
                   "二次", "世界", "大戦に", "よって"]
    assert "".join(got) == text


def test_split_words_are_the_morpheme_surfaces_split_at_whitespace(medtxt):
    """``split_words`` builds the words from Sudachi's own string of a MorphemeList (no Python object per morpheme):
    the reference is every morpheme's ``surface()``, joined and split at whitespace the way WordPiece splits words,
    on real text with spaces, full-width spaces and newlines, longer than one Sudachi call."""
    from sudachipy import Dictionary, SplitMode

    text = "\n".join(medtxt[:40]) + " 高血圧  で\u3000治療 された。\n70 歳"
    assert len(text.encode()) > SUDACHI_MAX_BYTES
    tokenizer = Dictionary(dict="core").tokenizer(SplitMode.C)
    surfaces = [m.surface() for _, piece in split_for_sudachi(text) for m in tokenizer.tokenize(piece)]
    expected = [part for surface in surfaces for part in surface.split()]
    words = SudachiWords("C").split_words(text)
    assert words == expected
    assert words[-9:] == ["高血圧", "で", "治療", "さ", "れ", "た", "。", "70", "歳"]
    assert "".join(words) == "".join(text.split())
