"""SentencePiece (unigram or BPE) on raw text; dictionary terms become user-defined symbols (always one piece).

The trained model is converted by transformers into a fast tokenizer (tokenizer.json) and checked against
SentencePiece on the sample. transformers cuts user-defined symbols out leftmost-longest before the model runs; that is
what SentencePiece's BPE does, but its unigram encoder scores them inside the Viterbi lattice, which is better: in
その後腹膜播種巣 it picks その後|腹膜播種 where a leftmost-longest cut takes the term 後腹膜播種. Measured with
SentencePiece 0.2.3's encoder (unigram_model.cc scores a symbol by its length in bytes), a symbol of n UTF-8 bytes
scores 0.1 * n - 0.1: above any split into ordinary pieces (all negative), so a symbol only gives way to overlapping
symbols or pieces. For unigram the converted tokenizer is patched to match: the symbols become ordinary pieces with
that score and the cutting step is removed. Exact ties between two symbol paths (甲状腺|機能評価 against
甲状腺機能|評価) are broken by float32 rounding inside SentencePiece and may go the other way here: 2 of 3,000
documents in docs/tokenizers.md; the share of identical documents is recorded in jacorpus_tokenizer.json.
The SentencePiece model is kept as ``sentencepiece.model`` (not ``tokenizer.model``, which transformers would
convert again on load).
"""

from __future__ import annotations

import os
import shutil

from jacorpus.tokenizers.recipe import TokenizerRecipe

# SentencePiece normalizes nothing itself: the text reaching it is NFKC with every whitespace run one space and none
# at the ends (``whitespace_normalized``; the fast tokenizer's normalizer does the same), which is exactly what
# decoding gives back. Its own rules do not: nmt_nfkc keeps ～ where NFKC gives ~ (38 places in MedTxt-CR), and
# nfkc keeps line breaks, which then cost byte tokens.
NORMALIZATION = "identity"
PARITY_SAMPLE = 300  # documents compared between the fast tokenizer and SentencePiece


def special_token_args(recipe: TokenizerRecipe) -> dict:
    """SentencePiece's reserved ids follow the order of ``special_tokens``; the rest are control symbols."""
    roles = recipe.special_roles()
    ids = {token: i for i, token in enumerate(recipe.special_tokens)}
    reserved = {roles["pad"]: "pad", roles["unk"]: "unk", roles["cls"]: "bos", roles["sep"]: "eos"}
    args: dict = {}
    for token, name in reserved.items():
        args[f"{name}_id"], args[f"{name}_piece"] = ids[token], token
    args["control_symbols"] = [t for t in recipe.special_tokens if t not in reserved]
    return args


def train_spm(
    recipe: TokenizerRecipe, input_path: str, model_prefix: str, symbols: list[str], pretokenized: bool = False
) -> str:
    """``pretokenized``: the input is a TSV of pre-split words or chunks and their counts (Sudachi pretokenizer). The model then
    gets no dummy prefix (a ``▁`` before every chunk was a bare token for 18-21% of all tokens) and no normalization
    of its own (the tokenizer class gives it NFKC text, so decoding is exact). The one space of a whitespace run
    starts the chunk after it, so ``▁`` begins a piece as on raw text (a ``▁`` symbol of its own cost one token per
    whitespace run: 1.9 points of the 6% more tokens than raw text on Wikipedia, issue 15)."""
    import sentencepiece as spm

    byte_fallback = True if recipe.byte_fallback is None else recipe.byte_fallback
    extra: dict = {}
    if pretokenized:
        extra = dict(add_dummy_prefix=False, remove_extra_whitespaces=False, normalization_rule_name="identity")
    spm.SentencePieceTrainer.train(
        input=input_path, input_format="tsv" if pretokenized else "text", model_prefix=model_prefix,
        model_type=recipe.model or "unigram", vocab_size=recipe.vocab_size,
        character_coverage=recipe.coverage(),
        byte_fallback=byte_fallback, user_defined_symbols=symbols,
        **({"normalization_rule_name": NORMALIZATION, "remove_extra_whitespaces": False} | extra),
        hard_vocab_limit=False,  # a small corpus gives a smaller vocabulary instead of failing
        max_sentence_length=1 << 16, num_threads=max(1, os.cpu_count() or 1), minloglevel=2,
        **special_token_args(recipe),
    )
    return model_prefix + ".model"


def parity(fast, model_file: str, texts: list[str]) -> dict:
    """How many sample documents the fast tokenizer splits exactly like SentencePiece."""
    import sentencepiece as spm

    from jacorpus.tokenizers.sudachi_split import whitespace_normalized

    sp = spm.SentencePieceProcessor(model_file=model_file)
    result = {"same": 0, "compared": 0, "first_difference": ""}
    for text in texts[:PARITY_SAMPLE]:
        ours = fast.convert_ids_to_tokens(fast(text, add_special_tokens=False, verbose=False)["input_ids"])
        theirs = sp.encode(whitespace_normalized(text), out_type=str)
        result["compared"] += 1
        if ours == theirs:
            result["same"] += 1
        elif not result["first_difference"]:
            i = next(i for i, (a, b) in enumerate(zip(ours + [None], theirs + [None])) if a != b)
            result["first_difference"] = f"{text[:60]!r}: {ours[max(0, i - 2):i + 3]} vs {theirs[max(0, i - 2):i + 3]}"
    return result


def user_symbol_score(piece: str) -> float:
    return 0.1 * len(piece.encode("utf-8")) - 0.1


def user_symbols_in_lattice(backend, symbols: set[str]):
    """The converted backend tokenizer with user-defined symbols scored in the unigram lattice (see above)."""
    import json

    from tokenizers import Tokenizer

    state = json.loads(backend.to_str())
    for entry in state["model"]["vocab"]:
        if entry[0] in symbols:
            entry[1] = user_symbol_score(entry[0])
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] not in symbols]
    pre = state.get("pre_tokenizer") or {}
    if pre.get("type") == "Sequence":
        pre["pretokenizers"] = [p for p in pre["pretokenizers"] if p.get("type") != "Split"]
    return Tokenizer.from_str(json.dumps(state))


def user_symbols(model_file: str) -> set[str]:
    from sentencepiece import sentencepiece_model_pb2 as pb2

    proto = pb2.ModelProto()
    with open(model_file, "rb") as fh:
        proto.ParseFromString(fh.read())
    return {p.piece for p in proto.pieces if p.type == pb2.ModelProto.SentencePiece.USER_DEFINED}


def whitespace_normalizer(existing=None, mark: str = " "):
    """NFKC, no whitespace at the ends, every whitespace run one ``mark`` (see ``sudachi_split.whitespace_normalized``)."""
    from tokenizers import Regex, normalizers

    steps = [normalizers.NFKC(), normalizers.Strip(), normalizers.Replace(Regex(r"\s+"), mark)]
    return normalizers.Sequence(steps + ([existing] if existing is not None else []))


def build_sentencepiece(recipe: TokenizerRecipe, sample, terms: list[str], work: str, staging: str):
    from tokenizers.processors import TemplateProcessing
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from jacorpus.tokenizers.corpus_text import iter_lines_for_training

    text_path = os.path.join(work, "sample.txt")
    from jacorpus.tokenizers.sudachi_split import whitespace_normalized

    with open(text_path, "w", encoding="utf-8") as fh:
        for line in iter_lines_for_training(sample.texts):
            fh.write(whitespace_normalized(line) + "\n")
    model_dir = os.path.join(work, "spm")
    os.makedirs(model_dir)
    model_file = train_spm(recipe, text_path, os.path.join(model_dir, "tokenizer"), terms)
    backend = AutoTokenizer.from_pretrained(model_dir).backend_tokenizer
    symbols = user_symbols(model_file)
    if (recipe.model or "unigram") == "unigram" and symbols:
        backend = user_symbols_in_lattice(backend, symbols)
    backend.normalizer = whitespace_normalizer(backend.normalizer)
    roles = recipe.special_roles()
    cls, sep = roles["cls"], roles["sep"]
    backend.post_processor = TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, backend.token_to_id(cls)), (sep, backend.token_to_id(sep))],
    )
    extra = [t for t in recipe.special_tokens if t not in roles.values()]
    fast = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=roles["pad"], unk_token=roles["unk"], cls_token=cls, sep_token=sep,
        mask_token=roles["mask"], bos_token=cls, eos_token=sep, extra_special_tokens=extra or None,
        model_max_length=recipe.model_max_length,
    )
    shutil.copyfile(model_file, os.path.join(staging, "sentencepiece.model"))
    return fast
