"""`jacorpus tokenizer train`: sample the corpus, pick the dictionary terms it contains, build, export.

Which class a tokenizer folder holds (all load with ``AutoTokenizer.from_pretrained``; remote code needs
``trust_remote_code=True``):

- char (any pretokenizer): TokenizersBackend from tokenizer.json;
- sentencepiece / none: TokenizersBackend converted from the SentencePiece model (compared with SentencePiece);
- wordpiece or sentencepiece / sudachi: JacorpusJapaneseTokenizer, remote code (BertJapaneseTokenizer that cuts long
  text and loads its user dictionaries from its folder);
- wordpiece or sentencepiece / mecab: JacorpusMecabTokenizer, the same remote code with MeCab words (fugashi +
  unidic-lite, and the folder's ``mecab_user.dic``).

A char tokenizer does not need words at all: its pretokenizer (and user dictionary) only set the Sudachi words that
``jacorpus.tokenizers.wwm.word_ids`` groups characters by.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from jacorpus.tokenizers.recipe import TokenizerRecipe


@dataclass
class TrainingSample:
    """The capped corpus sample (kept in memory: the cap bounds it) and what was read."""

    texts: list[str]
    documents: int = 0
    characters: int = 0


@dataclass
class TermChoice:
    """Dictionary terms the tokenizer keeps whole, those left out with the reason, and the selection report."""

    kept: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_sample(recipe: TokenizerRecipe, corpus: list[str], progress: bool) -> TrainingSample:
    from tqdm.auto import tqdm

    from jacorpus.tokenizers.corpus_text import SampleCap, iter_texts

    cap = SampleCap(recipe.sample_cap.documents, recipe.sample_cap.characters)
    texts = list(tqdm(iter_texts(corpus, cap), desc="read corpus", unit="doc", disable=not progress))
    return TrainingSample(texts, len(texts), sum(map(len, texts)))


BUDGET_REASON = "beyond dictionary_max_share ({share} of the vocabulary: {limit} terms)"


def choose_terms(recipe: TokenizerRecipe, sample: TrainingSample) -> TermChoice:
    """Terms of the recipe's dictionary that occur in the sample at least ``dictionary_min_count`` times.

    The budget (``dictionary_max_share`` of the vocabulary) goes to curated seed terms first, then to extracted
    terms, each group by frequency in the sample: the user's dictionary is what the tokenizer is asked to honour,
    and extracted terms only fill what is left (with frequency alone, a general-text part of the sample took most of
    the budget: 154 of 798 MANBYO terms made pieces, issue 15). A budget that cuts seed terms is warned about.

    Where terms match anywhere in the text (SentencePiece's user-defined symbols on raw text, added tokens before
    MeCab), a term found inside a longer run of ASCII letters or digits (AL inside ALT) is left out: it would split
    that run. Inside Sudachi words a term is only a vocabulary entry, which does no harm.
    """
    from jacorpus.tokenizers.dictionary import read_terms
    from jacorpus.tokenizers.terms import TermMatcher, normalize_term

    choice = TermChoice()
    if not recipe.dictionary:
        return choice
    origin: dict[str, str] = {}
    for row in read_terms(recipe.path(recipe.dictionary)):
        term = normalize_term(row["term"])
        if term and (origin.get(term) != "seed"):
            origin[term] = row.get("origin") or "seed"  # a plain term list is the user's: seed terms
    terms = sorted(origin)
    matcher = TermMatcher(terms)
    occurrences: Counter = Counter()  # leftmost-longest, as the tokenizer will see them
    inside_words: Counter = Counter()  # found only when ignoring the letter/digit boundary rule
    for text in sample.texts:
        text = unicodedata.normalize("NFKC", text)
        occurrences.update(term for _, _, term in matcher.find_longest(text))
        inside_words.update(term for _, _, term in matcher.find_all(text, bounded=False))
        inside_words.subtract(term for _, _, term in matcher.find_all(text, bounded=True))
    specials = set(recipe.special_tokens)
    matches_anywhere = recipe.pretokenizer.type != "sudachi"
    candidates = []
    for term in terms:
        if occurrences[term] < recipe.dictionary_min_count:
            continue
        if any(ch.isspace() for ch in term):
            choice.skipped[term] = "holds a space (SentencePiece pieces and WordPiece words never do)"
        elif matches_anywhere and inside_words[term] > 0:
            choice.skipped[term] = "occurs inside longer words of letters or digits"
        elif term in specials:
            choice.skipped[term] = "is a special token"
        else:
            candidates.append(term)
    limit = int(recipe.vocab_size * recipe.dictionary_max_share)
    ranked = sorted(candidates, key=lambda t: (origin[t] != "seed", -occurrences[t], t))
    reason = BUDGET_REASON.format(share=recipe.dictionary_max_share, limit=limit)
    for term in ranked[limit:]:
        choice.skipped[term] = reason
    choice.kept = ranked[:limit]
    choice.report = selection_report(origin, occurrences, recipe.dictionary_min_count, choice, limit)
    cut = choice.report["seed"]["skipped"].get(reason, 0)
    if cut:
        choice.warnings.append(
            f"the dictionary budget ({limit} terms, dictionary_max_share {recipe.dictionary_max_share}) leaves out "
            f"{cut} of {choice.report['seed']['present']} seed terms found in the sample; raise "
            "dictionary_max_share or vocab_size to keep them whole")
    return choice


def selection_report(origin: dict[str, str], occurrences: Counter, min_count: int, choice: TermChoice,
                     limit: int) -> dict[str, Any]:
    """Per origin (seed, extracted): terms in the dictionary, found in the sample, kept, skipped by reason."""
    kept = set(choice.kept)
    report: dict[str, Any] = {"budget": limit, "min_count": min_count}
    for group in ("seed", "extracted"):
        members = [t for t, o in origin.items() if o == group]
        present = [t for t in members if occurrences[t] > 0]
        skipped = Counter(choice.skipped[t] for t in members if t in choice.skipped)
        rare = sum(1 for t in present if occurrences[t] < min_count)
        if rare:
            skipped[f"fewer than dictionary_min_count ({min_count}) occurrences"] = rare
        report[group] = {"in_dictionary": len(members), "present": len(present),
                         "kept": sum(t in kept for t in members), "skipped": dict(skipped.most_common())}
    return report


RELOAD_SAMPLE = 50
PARITY_WARNING = 0.99  # below this share of documents split exactly like SentencePiece, warn


def check_reload(recipe: TokenizerRecipe, tokenizer, folder: str, sample: TrainingSample) -> dict[str, Any]:
    """The saved folder must tokenize like the tokenizer built in memory (and, for SentencePiece on raw text,
    like SentencePiece itself: the share is recorded, and a low one warned about)."""
    import warnings

    from jacorpus.tokenizers.export import add_remote_code
    from jacorpus.tokenizers.loading import REMOTE_CLASSES, load_tokenizer

    if type(tokenizer).__name__ in REMOTE_CLASSES:
        add_remote_code(folder, type(tokenizer).__name__)
    loaded = load_tokenizer(folder)
    for text in sample.texts[:RELOAD_SAMPLE]:
        if loaded(text, verbose=False)["input_ids"] != tokenizer(text, verbose=False)["input_ids"]:
            raise RuntimeError(f"the saved tokenizer in {folder} tokenizes {text[:60]!r} differently")
    checks: dict[str, Any] = {}
    if recipe.kind == "sentencepiece" and recipe.pretokenizer.type == "none":
        from jacorpus.tokenizers.build_sentencepiece import parity

        result = parity(loaded, os.path.join(folder, "sentencepiece.model"), sample.texts)
        checks["sentencepiece_parity"] = result
        if result["same"] < PARITY_WARNING * result["compared"]:
            warnings.warn(f"{result['compared'] - result['same']} of {result['compared']} documents tokenized "
                          f"differently from SentencePiece: {result['first_difference']}")
    return checks


def train_tokenizer(recipe: TokenizerRecipe, corpus: list[str], out: str, progress: bool = True) -> dict[str, Any]:
    """Build the tokenizer and write ``out``; returns the summary also stored in ``jacorpus_tokenizer.json``."""
    from jacorpus.tokenizers.export import finish_folder

    started = time.perf_counter()
    sample = read_sample(recipe, corpus, progress)
    if not sample.texts:
        raise ValueError(f"no text found in {corpus}")
    choice = choose_terms(recipe, sample)
    for message in choice.warnings:
        import warnings

        warnings.warn(message, stacklevel=2)
    work = tempfile.mkdtemp(prefix="jacorpus-tok-")
    staging = out.rstrip("/") + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        from jacorpus.tokenizers.kind_registry import find_kind

        tokenizer = find_kind(recipe.kind)().build(recipe, sample, choice.kept, work, staging, progress)
        tokenizer.save_pretrained(staging)
        checks = check_reload(recipe, tokenizer, staging, sample)
        summary = finish_folder(recipe, tokenizer, staging, sample, choice,
                                round(time.perf_counter() - started, 2), checks)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    return summary
