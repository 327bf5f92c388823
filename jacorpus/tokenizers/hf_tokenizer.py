"""BertJapaneseTokenizer with Sudachi or MeCab words that survives any text length and finds its user dictionaries in
its own folder.

jacorpus copies this file into tokenizer folders as ``tokenization_jacorpus.py`` (with ``sudachi_split.py`` and
``mecab_split.py``), so ``AutoTokenizer.from_pretrained(folder, trust_remote_code=True)`` loads it without jacorpus
installed. One base class does everything but split words; ``JacorpusJapaneseTokenizer`` (Sudachi) and
``JacorpusMecabTokenizer`` (fugashi + unidic-lite) each give it a word splitter. What it adds to the built-in class,
and why the built-in class alone is not enough:

- text longer than Sudachi's 49,149-byte limit is cut into pieces first (the built-in class raises on it);
- user dictionaries in the tokenizer folder (``sudachi_user.dic`` and ``sudachi_terms.dic``; ``mecab_user.dic``)
  are loaded from there (the built-in class only takes an absolute config path or MeCab option, which breaks when
  the folder moves);
- text is NFKC-normalized before added tokens (domain terms) are matched, the same normalization the words see;
- SentencePiece runs on chunks (a word with the space before it and the particles, auxiliaries, suffixes and
  dependent verbs after it), with a model trained without SentencePiece's dummy prefix: pieces never cross a chunk
  boundary and no token is spent on the boundary itself. The built-in class gives every word its own ``▁``, a bare
  ``▁`` for 18-21% of all tokens, and decodes with a space between words; here a whitespace run of the text is the
  ``▁`` that starts the next piece, as on raw text, and ``decode(encode(text))`` is the NFKC text with whitespace
  runs as one space, exactly;
- WordPiece falls back to bytes: where the built-in class turns a whole word into ``[UNK]`` because one character
  is not in the vocabulary (腟, 〈: 713 ``[UNK]`` in 200 IgakuQA questions), the word is cut greedily as WordPiece
  does and each character no piece covers becomes its UTF-8 byte tokens ``<0xE8>`` (when the vocabulary has them,
  as jacorpus's WordPiece builds do). Words the built-in class knows get the same tokens;
- the special-token pattern is saved: a causal-LM export encodes a prompt as ``[bos] text`` (never the
  end-of-document token, so ``generate`` continues the text), where the built-in class always gives
  ``[CLS] text [SEP]``.
"""

from __future__ import annotations

import unicodedata
from itertools import chain, repeat
from typing import Any

from transformers.models.bert_japanese.tokenization_bert_japanese import BertJapaneseTokenizer

from .mecab_split import MecabWordTokenizer  # sibling files in both places
from .sudachi_split import SudachiWordTokenizer, whitespace_normalized

# Sudachi user dictionaries the Sudachi class loads from its folder: one given by the recipe (pretokenizer.user_dict)
# and one compiled from the domain terms in the vocabulary (recipe key `dictionary`), which makes each of them a word
USER_DICT_FILES = {"sudachi_user_dict": "sudachi_user.dic", "sudachi_terms_dict": "sudachi_terms.dic"}
# the MeCab user dictionary (UniDic rows of the domain terms in the vocabulary, compiled against unidic-lite)
MECAB_DICT_FILES = {"mecab_user_dict": "mecab_user.dic"}
BYTE_PIECE = "<0x{:02X}>"
WORDPIECE_CACHE = 200_000  # distinct words remembered (about 50 MB at most)
# saved configs carry these back in; the classes below always use their own word splitter
BUILT_IN_WORD_KWARGS = ("word_tokenizer_type", "sudachi_kwargs", "mecab_kwargs", "jumanpp_kwargs")


class JacorpusWordsTokenizer(BertJapaneseTokenizer):
    """Words from a splitter (the hook ``_make_word_tokenizer``), then WordPiece or SentencePiece pieces per word.

    A subclass names its user dictionary files (``user_dict_files``: attribute -> file name in the folder, also in
    its ``vocab_files_names`` so that ``from_pretrained`` passes the folder's copies) and the built-in settings that
    describe its words (``word_kwargs`` for ``BertJapaneseTokenizer``)."""

    user_dict_files: dict[str, str] = {}

    def __init__(self, vocab_file: str | None, spm_file: str | None, word_kwargs: dict[str, Any],
                 **kwargs: Any) -> None:
        for key in BUILT_IN_WORD_KWARGS:
            kwargs.pop(key, None)
        # causal-LM exports encode a prompt as [bos] text (never the end-of-document token): the base class fixes
        # its pattern to [CLS] text [SEP], so a saved pattern is applied after it
        pattern = kwargs.pop("special_tokens_pattern", None)
        if spm_file:  # decode gives the text back as it is (the default would drop spaces before punctuation)
            kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(vocab_file, spm_file=spm_file, **word_kwargs, **kwargs)
        if pattern:
            self.special_tokens_pattern = self.init_kwargs["special_tokens_pattern"] = pattern
        self._make_word_tokenizer()

    def _make_word_tokenizer(self) -> None:
        raise NotImplementedError

    def user_dict_paths(self) -> list[str]:
        return [path for path in (getattr(self, key) for key in self.user_dict_files) if path]

    def __setstate__(self, state: dict[str, Any]) -> None:  # pickling (e.g. datasets.map with num_proc)
        self.__dict__ = state
        self._make_word_tokenizer()

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs: Any):
        if self.subword_tokenizer_type == "sentencepiece":
            return whitespace_normalized(text), kwargs
        return unicodedata.normalize("NFKC", text), kwargs

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_rust_wordpiece", None)
        state.pop("_piece_ids", None)
        state.pop("_wordpiece_cache", None)
        return state

    def _wordpiece_model(self):
        """WordPiece of the ``tokenizers`` library over the same vocabulary: the greedy longest-match-first of
        transformers' WordpieceTokenizer (100 characters at most per word) in Rust, without its Python loop per
        character: with it and the per-token id lookups, the class ran at 1.1x the built-in one, with this and the
        word cache at 2.9x (wall time on a loaded machine). Per CPU-second, with the words split in C
        (``SudachiWords.split_words``), no second NFKC pass and the flattening and id lookups in C (``chain``,
        ``map``): 1.85x against 1.6x before, in one run with a warm word cache (bench/results/tokenizers_quick.md:
        1.71x). Sudachi itself is about two thirds of what is left."""
        model = self.__dict__.get("_rust_wordpiece")
        if model is None:
            from tokenizers import Tokenizer
            from tokenizers.models import WordPiece

            model = Tokenizer(WordPiece(dict(self.vocab), unk_token=str(self.unk_token), max_input_chars_per_word=100))
            self.__dict__["_rust_wordpiece"] = model
        return model

    def convert_tokens_to_ids(self, tokens):
        """One dictionary lookup per token (the base class makes three method calls per token)."""
        if isinstance(tokens, str) or self.subword_tokenizer_type not in ("wordpiece", "sentencepiece"):
            return super().convert_tokens_to_ids(tokens)
        ids = self.__dict__.get("_piece_ids")
        if ids is None:
            if self.subword_tokenizer_type == "wordpiece":
                ids = dict(self.vocab)
            else:
                sp = self.subword_tokenizer.sp_model
                ids = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
            self.__dict__["_piece_ids"] = ids
        added = self._added_tokens_encoder
        if any(ids.get(t) != i for t, i in added.items()):  # added tokens win over vocabulary entries
            ids = self.__dict__["_piece_ids"] = {**ids, **added}
        unk = self._convert_token_to_id(str(self.unk_token))
        return list(map(ids.get, tokens, repeat(unk)))

    def _tokenize(self, text: str) -> list[str]:
        if self.subword_tokenizer_type == "wordpiece":
            # as transformers' WordpieceTokenizer, a Sudachi word holding spaces is split at them first; the text is
            # NFKC already (prepare_for_tokenization), so the word tokenizer does not normalize it again
            return self._wordpieces(self.word_tokenizer.split_words(text))
        if self.subword_tokenizer_type != "sentencepiece":
            return super()._tokenize(text)
        # one SentencePiece call for all chunks of the text (a batch in C++), none per chunk
        encoded = self.subword_tokenizer.sp_model.encode(self.word_tokenizer.chunks(text), out_type=str)
        return [piece for pieces in encoded for piece in pieces]

    def _wordpieces(self, words: list[str]) -> list[str]:
        """WordPiece tokens of ``words``: each distinct word once (in Rust, batched), remembered for the next text
        (word frequencies are Zipfian: most words were seen before); an unknown word falls back to bytes."""
        cache = self.__dict__.setdefault("_wordpiece_cache", {})
        missing = list(set(words).difference(cache))
        if len(cache) + len(missing) > WORDPIECE_CACHE:
            cache.clear()  # then every word of this text is missing
            missing = list(set(words))
        if missing:
            encoding = self._wordpiece_model().encode(missing, is_pretokenized=True, add_special_tokens=False)
            split: list[list[str]] = [[] for _ in missing]
            for token, index in zip(encoding.tokens, encoding.word_ids):
                split[index].append(token)
            fallback, unk = BYTE_PIECE.format(0) in self.vocab, str(self.unk_token)
            for word, pieces in zip(missing, split):
                cache[word] = self._wordpiece(word) if fallback and pieces == [unk] else pieces
        return list(chain.from_iterable(map(cache.__getitem__, words)))

    def _wordpiece(self, word: str) -> list[str]:
        pieces = self.subword_tokenizer.tokenize(word)
        if pieces != [self.unk_token] or word == self.unk_token:
            return pieces
        pieces, start = [], 0
        while start < len(word):  # greedy longest match first, as WordPiece; bytes where nothing matches
            end = len(word)
            while end > start and (word[start:end] if start == 0 else "##" + word[start:end]) not in self.vocab:
                end -= 1
            if end > start:
                pieces.append(word[start:end] if start == 0 else "##" + word[start:end])
            else:
                end = start + 1
                pieces.extend(BYTE_PIECE.format(b) for b in word[start].encode("utf-8"))
            start = end
        return pieces

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        if self.subword_tokenizer_type != "wordpiece":
            return super().convert_tokens_to_string(tokens)
        words: list[str] = []
        data = bytearray()
        for token in [*tokens, ""]:
            if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
                data.append(int(token[3:5], 16))
                continue
            if data:  # a byte run continues the token before it
                chars = data.decode("utf-8", errors="replace")
                words.append(words.pop() + chars if words else chars)
                data = bytearray()
            if token.startswith("##") and words:
                words[-1] += token[2:]
            elif token:
                words.append(token)
        return " ".join(words)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        import os
        import shutil

        files = super().save_vocabulary(save_directory, filename_prefix)
        for key, name in self.user_dict_files.items():
            source = getattr(self, key)
            if source and os.path.isdir(save_directory):
                target = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + name)
                if os.path.abspath(target) != os.path.abspath(source):
                    shutil.copyfile(source, target)
                files = (*files, target)
        return files


class JacorpusJapaneseTokenizer(JacorpusWordsTokenizer):
    """Sudachi words (chunked for any text length), then WordPiece, characters or SentencePiece pieces per word."""

    vocab_files_names = {"vocab_file": "vocab.txt", "spm_file": "spiece.model", **USER_DICT_FILES}
    user_dict_files = USER_DICT_FILES

    def __init__(
        self,
        vocab_file: str | None = None,
        spm_file: str | None = None,
        sudachi_user_dict: str | None = None,
        sudachi_terms_dict: str | None = None,
        sudachi_split_mode: str = "C",
        **kwargs: Any,
    ) -> None:
        self.sudachi_user_dict = sudachi_user_dict
        self.sudachi_terms_dict = sudachi_terms_dict
        self.sudachi_split_mode = sudachi_split_mode
        word_kwargs = {"word_tokenizer_type": "sudachi", "sudachi_kwargs": {"sudachi_split_mode": sudachi_split_mode},
                       "sudachi_split_mode": sudachi_split_mode}
        super().__init__(vocab_file, spm_file, word_kwargs, **kwargs)

    def _make_word_tokenizer(self) -> None:
        self.word_tokenizer = SudachiWordTokenizer(self.sudachi_split_mode, self.user_dict_paths())


class JacorpusMecabTokenizer(JacorpusWordsTokenizer):
    """MeCab words (fugashi + unidic-lite, with the folder's ``mecab_user.dic``), then WordPiece or SentencePiece."""

    vocab_files_names = {"vocab_file": "vocab.txt", "spm_file": "spiece.model", **MECAB_DICT_FILES}
    user_dict_files = MECAB_DICT_FILES

    def __init__(self, vocab_file: str | None = None, spm_file: str | None = None,
                 mecab_user_dict: str | None = None, **kwargs: Any) -> None:
        self.mecab_user_dict = mecab_user_dict
        word_kwargs = {"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "unidic_lite"}}
        super().__init__(vocab_file, spm_file, word_kwargs, **kwargs)

    def _make_word_tokenizer(self) -> None:
        self.word_tokenizer = MecabWordTokenizer(self.user_dict_paths())
