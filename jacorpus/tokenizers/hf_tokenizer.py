"""BertJapaneseTokenizer with Sudachi that survives any text length and finds its user dictionary in its own folder.

jacorpus copies this file into tokenizer folders as ``tokenization_jacorpus.py`` (with ``sudachi_split.py``), so
``AutoTokenizer.from_pretrained(folder, trust_remote_code=True)`` loads it without jacorpus installed. What it adds to
the built-in class, and why the built-in class alone is not enough:

- text longer than Sudachi's 49,149-byte limit is cut into pieces first (the built-in class raises on it);
- ``sudachi_user.dic`` and ``sudachi_terms.dic`` in the tokenizer folder are loaded as Sudachi user dictionaries
  (the built-in class only takes an absolute config path, which breaks when the folder moves);
- text is NFKC-normalized before added tokens (domain terms) are matched, the same normalization Sudachi sees.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from transformers.models.bert_japanese.tokenization_bert_japanese import BertJapaneseTokenizer

from .sudachi_split import SudachiWordTokenizer  # a sibling file both in jacorpus and in tokenizer folders

# Sudachi user dictionaries this class loads from its folder: one given by the recipe (pretokenizer.user_dict) and
# one compiled from the domain terms in the vocabulary (recipe key `dictionary`), which makes each of them a word
USER_DICT_FILES = {"sudachi_user_dict": "sudachi_user.dic", "sudachi_terms_dict": "sudachi_terms.dic"}


class JacorpusJapaneseTokenizer(BertJapaneseTokenizer):
    """Sudachi words, then WordPiece, characters or SentencePiece pieces per word (BertJapaneseTokenizer's subwords)."""

    vocab_files_names = {"vocab_file": "vocab.txt", "spm_file": "spiece.model", **USER_DICT_FILES}

    def __init__(
        self,
        vocab_file: str | None = None,
        spm_file: str | None = None,
        sudachi_user_dict: str | None = None,
        sudachi_terms_dict: str | None = None,
        sudachi_split_mode: str = "C",
        **kwargs: Any,
    ) -> None:
        # saved configs carry these back in; this class always uses its own Sudachi word tokenizer
        for key in ("word_tokenizer_type", "sudachi_kwargs", "mecab_kwargs", "jumanpp_kwargs"):
            kwargs.pop(key, None)
        # causal-LM exports encode a prompt as [bos] text (never the end-of-document token): the base class fixes
        # its pattern to [CLS] text [SEP], so a saved pattern is applied after it
        pattern = kwargs.pop("special_tokens_pattern", None)
        self.sudachi_user_dict = sudachi_user_dict
        self.sudachi_terms_dict = sudachi_terms_dict
        self.sudachi_split_mode = sudachi_split_mode
        super().__init__(
            vocab_file,
            spm_file=spm_file,
            word_tokenizer_type="sudachi",
            sudachi_kwargs={"sudachi_split_mode": sudachi_split_mode},
            sudachi_split_mode=sudachi_split_mode,
            **kwargs,
        )
        if pattern:
            self.special_tokens_pattern = self.init_kwargs["special_tokens_pattern"] = pattern
        self._make_word_tokenizer()

    @property
    def sudachi_user_dicts(self) -> list[str]:
        return [path for path in (self.sudachi_user_dict, self.sudachi_terms_dict) if path]

    def _make_word_tokenizer(self) -> None:
        self.word_tokenizer = SudachiWordTokenizer(self.sudachi_split_mode, self.sudachi_user_dicts)

    def __setstate__(self, state: dict[str, Any]) -> None:  # pickling (e.g. datasets.map with num_proc)
        self.__dict__ = state
        self._make_word_tokenizer()

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs: Any):
        return unicodedata.normalize("NFKC", text), kwargs

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        import os
        import shutil

        files = super().save_vocabulary(save_directory, filename_prefix)
        for key, name in USER_DICT_FILES.items():
            source = getattr(self, key)
            if source and os.path.isdir(save_directory):
                target = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + name)
                if os.path.abspath(target) != os.path.abspath(source):
                    shutil.copyfile(source, target)
                files = (*files, target)
        return files
