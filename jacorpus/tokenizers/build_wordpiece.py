"""Tokenizers that split words first (Sudachi or MeCab), then WordPiece or SentencePiece within each word.

Training pre-tokenizes the sample with the very tokenizer class that is shipped (a skeleton with only the special
tokens), so training and inference split text identically. Dictionary terms:
- with Sudachi, the terms the tokenizer keeps (those occurring in the sample, within ``dictionary_max_share``) are
  compiled from the dictionary's user.csv into ``sudachi_terms.dic``, which makes them words inside Sudachi's lattice,
  where they compete with the other words (so か月経過 stays か月|経過 although 月経過 is a term); they also enter the
  vocabulary (WordPiece entries, or SentencePiece user-defined symbols), so every term Sudachi returns as a word is
  exactly one token. Terms left out of the vocabulary are left out of that dictionary too: as words they would only
  be cut into pieces;
- with MeCab, the same: the kept terms' rows of the dictionary's mecab_user.csv are compiled against unidic-lite into
  ``mecab_user.dic``, which the tokenizer class loads from its folder. Where that cannot be compiled (no
  ``mecab-dict-index``), the terms are added tokens instead, cut out leftmost-longest before MeCab runs.

Both word splitters feed the one tokenizer class of hf_tokenizer.py (WordPiece with byte fallback, SentencePiece
over chunks), so a MeCab folder differs from a Sudachi one only in its words.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Iterator

from jacorpus.tokenizers.progress import working
from jacorpus.tokenizers.recipe import TokenizerRecipe


def make_tokenizer(recipe: TokenizerRecipe, vocab_file: str | None, spm_file: str | None, terms: list[str],
                   terms_dic: str | None = None):
    """The shipped class for this recipe. ``terms_dic``: the compiled user dictionary of the kept terms (Sudachi or
    MeCab); a MeCab tokenizer without one keeps the terms as non-special added tokens."""
    from tokenizers import AddedToken

    from jacorpus.tokenizers.hf_tokenizer import JacorpusJapaneseTokenizer, JacorpusMecabTokenizer

    roles = recipe.special_roles()
    extra = [t for t in recipe.special_tokens if t not in roles.values()]
    common = dict(
        vocab_file=vocab_file, spm_file=spm_file, do_lower_case=False,
        subword_tokenizer_type="sentencepiece" if recipe.kind == "sentencepiece" else "wordpiece",
        unk_token=roles["unk"], sep_token=roles["sep"], pad_token=roles["pad"], cls_token=roles["cls"],
        mask_token=roles["mask"], model_max_length=recipe.model_max_length, extra_special_tokens=extra or None,
    )
    if recipe.pretokenizer.type == "sudachi":
        return JacorpusJapaneseTokenizer(
            sudachi_user_dict=recipe.user_dict_file(), sudachi_terms_dict=terms_dic,
            sudachi_split_mode=recipe.pretokenizer.mode, **common,
        )
    tokenizer = JacorpusMecabTokenizer(mecab_user_dict=terms_dic, **common)
    if not terms_dic:
        tokenizer.add_tokens([AddedToken(t, normalized=True, special=False) for t in terms])
    return tokenizer


def pretokenize(tokenizer, text: str) -> Iterator[tuple[str, bool]]:
    """(word, is added token) as ``PreTrainedTokenizer.tokenize`` splits text before the subword step."""
    text, _ = tokenizer.prepare_for_tokenization(text)
    added = tokenizer._added_tokens_encoder
    specials = tokenizer.all_special_tokens
    for piece in tokenizer.tokens_trie.split(text):
        if not piece:
            continue
        if piece in added:
            yield piece, True
        else:
            for word in tokenizer.word_tokenizer.tokenize(piece, never_split=specials):
                yield word, False


def count_words(tokenizer, texts: list[str], progress: bool, chunks: bool = False) -> Counter:
    """Words as the shipped class splits them (``chunks``: the chunks its SentencePiece path encodes one by one)."""
    from tqdm.auto import tqdm

    from jacorpus.tokenizers.sudachi_split import whitespace_normalized

    words: Counter = Counter()
    for text in tqdm(texts, desc="split words", unit="doc", disable=not progress):
        if chunks:
            words.update(c for c in tokenizer.word_tokenizer.chunks(whitespace_normalized(text)) if c.strip())
        else:
            words.update(word for word, is_added in pretokenize(tokenizer, text) if not is_added and word.strip())
    return words


def wordpiece_vocab(recipe: TokenizerRecipe, words: Counter, terms: list[str]) -> list[str]:
    """Special tokens, byte tokens, dictionary terms, the alphabet (every character of the sample by
    default, each alone and as ``##`` continuation, so that no word of known characters becomes unknown), then
    WordPiece pieces learned from the word counts."""
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordPiece
    from tokenizers.trainers import WordPieceTrainer

    from jacorpus.tokenizers.build_char import select_characters

    chars: Counter = Counter()
    for word, n in words.items():
        for ch in word:
            chars[ch] += n
    from jacorpus.tokenizers.build_char import BYTE_TOKENS

    # byte tokens for the tokenizer class's byte fallback
    head = list(dict.fromkeys([*recipe.special_tokens, *BYTE_TOKENS, *terms]))
    budget = max(recipe.vocab_size - len(head), 2)
    alphabet = select_characters(chars, recipe.coverage(), budget // 2)
    model = Tokenizer(WordPiece(unk_token=recipe.special_roles()["unk"]))
    model.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = WordPieceTrainer(
        vocab_size=budget, min_frequency=recipe.min_frequency, special_tokens=[], limit_alphabet=len(alphabet),
        initial_alphabet=alphabet, continuing_subword_prefix="##", show_progress=False,
    )

    # the trainer counts words itself: feed each word as often as it occurred, 1000 occurrences per string
    def batches() -> Iterator[str]:
        for word, n in words.items():
            full, rest = divmod(n, 1000)
            if full:
                block = " ".join([word] * 1000)
                for _ in range(full):
                    yield block
            if rest:
                yield " ".join([word] * rest)

    model.train_from_iterator(batches(), trainer=trainer)
    learned = [token for token, _ in sorted(model.get_vocab().items(), key=lambda item: item[1])]
    vocab = list(dict.fromkeys([*head, *alphabet, *("##" + ch for ch in alphabet), *learned]))
    return vocab[: max(recipe.vocab_size, len(head))]


def compile_terms(recipe: TokenizerRecipe, terms: list[str], work: str) -> str | None:
    """The user dictionary of the kept terms for the recipe's word splitter, or None where there is none."""
    import warnings

    from jacorpus.tokenizers.sudachi_dict import compile_mecab_terms_dic, compile_terms_dic

    if not terms:
        return None
    dictionary = recipe.path(recipe.dictionary)
    if recipe.pretokenizer.type == "sudachi":
        path = os.path.join(work, "sudachi_terms.dic")
        # no rows: every kept term is a word of the base dictionary already
        return path if compile_terms_dic(dictionary, terms, path[:-4] + ".csv", path) else None
    path = os.path.join(work, "mecab_user.dic")
    result = compile_mecab_terms_dic(dictionary, terms, path[:-4] + ".csv", path)
    if not result["compiled"]:
        warnings.warn(f"MeCab user dictionary not compiled ({result['reason']}): the dictionary terms are added "
                      "tokens, cut out before MeCab runs", stacklevel=2)
        return None
    return path


def build_with_words(recipe: TokenizerRecipe, sample, terms: list[str], work: str, progress: bool):
    terms_dic = compile_terms(recipe, terms, work)
    skeleton_vocab = os.path.join(work, "skeleton_vocab.txt")
    with open(skeleton_vocab, "w", encoding="utf-8") as fh:
        fh.write("\n".join(recipe.special_tokens) + "\n")
    # the skeleton only splits words: any subword model will do
    skeleton = make_tokenizer(recipe.model_copy(update={"kind": "wordpiece"}), skeleton_vocab, None, terms, terms_dic)
    words = count_words(skeleton, sample.texts, progress, chunks=recipe.kind == "sentencepiece")
    if recipe.kind == "wordpiece":
        vocab_file = os.path.join(work, "vocab.txt")
        with working(f"train WordPiece ({recipe.vocab_size:,} tokens)", progress):
            vocab = wordpiece_vocab(recipe, words, terms)
        with open(vocab_file, "w", encoding="utf-8") as fh:
            fh.write("\n".join(vocab) + "\n")
        return make_tokenizer(recipe, vocab_file, None, terms, terms_dic)
    from jacorpus.tokenizers.build_sentencepiece import train_spm

    tsv = os.path.join(work, "words.tsv")
    with open(tsv, "w", encoding="utf-8") as fh:
        for word, n in words.most_common():
            if "\t" not in word and "\n" not in word:
                fh.write(f"{word}\t{n}\n")
    with working(f"train SentencePiece over words ({recipe.vocab_size:,} pieces)", progress):
        model_file = train_spm(recipe, tsv, os.path.join(work, "spiece"), terms, pretokenized=True)
    return make_tokenizer(recipe, None, model_file, terms, terms_dic)
