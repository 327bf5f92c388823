"""`quality`: the Swallow and FineWeb-2 (jpn_Jpan) rule sets on real Japanese web text."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams
from datatrove.utils.text import split_into_words

from jacorpus.corpus.chartypes import sudachi_words
from jacorpus.corpus.quality_labels import read_labels
from jacorpus.corpus.quality import (
    FINEWEB2_JA_STOP_WORDS, PRESETS, RULES, DocStats, QualityFilter, QualityOptions, active_rules,
)
from jacorpus.corpus.sources.html_text import extract_page
from jacorpus.pipelines.recipe import RecipeError, parse_recipe


def quality(**options) -> QualityFilter:
    return QualityFilter(QualityOptions.model_validate(options))


def verdict(step: QualityFilter, text: str) -> str | None:
    result = step.filter(Document(text=text, id="x", metadata={}))
    return None if result is True else result[1]


@pytest.fixture(scope="module")
def abeja(shared_data) -> dict[str, list[str]]:
    data = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    return {key: [item["text"] for item in items] for key, items in data.items()}


@pytest.fixture(scope="module")
def mc4_texts(shared_data) -> list[str]:
    return [text for text, _ in read_labels(str(shared_data / "mc4_ja_quality_labels" / "annotations_.txt")).examples]


@pytest.fixture(scope="module")
def passing_doc(abeja) -> str:
    """A real ~2,000-character page that passes every Swallow rule."""
    step = quality(preset="swallow")
    return next(t for t in abeja["length_2000"] if verdict(step, t) is None)


def test_character_ngram_statistics_match_their_plain_definition(abeja):
    """Swallow: top n-gram = most frequent / all n-grams; duplicate n-gram = repeated / distinct n-grams."""
    for text in abeja["length_200"][:10] + abeja["length_2000"][:10] + abeja["length_20000"][:2]:
        stats = DocStats(text, frozenset(), None)
        for n in range(2, 11):
            counts = Counter(text[i : i + n] for i in range(len(text) - n + 1))
            if n <= 4:
                assert stats.top_char_ngram(n) == max(counts.values()) / sum(counts.values())
            else:
                assert stats.dup_char_ngram(n) == sum(1 for c in counts.values() if c > 1) / len(counts)


def test_fineweb2_ja_decides_like_datatrove_with_the_jpn_jpan_config(abeja, mc4_texts):
    """The preset replays FineWeb-2's filtering stage (fineweb-2-pipeline.py + configs/jpn_Jpan.yml)."""
    language = "jpn_Jpan"
    reference = [
        GopherRepetitionFilter(
            language=language, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0, dup_line_frac=0.375,
            top_n_grams=[(2, 0.121), (3, 0.129), (4, 0.145)],
            dup_n_grams=[(5, 0.307), (6, 0.283), (7, 0.264), (8, 0.248), (9, 0.234), (10, 0.223)],
        ),
        FineWebQualityFilter(language=language, short_line_thr=999, char_duplicates_ratio=0.1, line_punct_thr=0.167,
                             new_line_ratio=0.162),
        GopherQualityFilter(language=language, max_avg_word_length=5, min_avg_word_length=1,
                            stop_words=FINEWEB2_JA_STOP_WORDS, max_non_alpha_words_ratio=0.759, min_stop_words=2),
    ]
    step = quality(preset="fineweb2_ja")
    texts = abeja["length_200"] + abeja["length_2000"] + mc4_texts[:60]
    ours = [verdict(step, t) is None for t in texts]
    theirs = [all(f.filter(Document(text=t, id="x")) is True for f in reference) for t in texts]
    assert ours == theirs
    assert 10 < sum(ours) < len(texts) - 10  # both outcomes are exercised


def test_repeated_word_ngrams_match_datatrove_scan(abeja):
    """The scan over repeats only gives datatrove's find_all_duplicate characters, also where a jump passes over
    the first occurrence of a later repeat (sentences drawn from a small pool make many such jumps); the top
    n-gram from the repeated positions gives its find_top_duplicate (first seen wins ties)."""
    sentences = [s + "。" for s in abeja["length_2000"][3].split("。") if s][:12]
    rng = random.Random(0)
    texts = abeja["length_2000"][:15] + ["".join(rng.choice(sentences[:k]) for _ in range(40)) for k in (2, 3, 5, 12)]
    texts.append("".join(sentences[i % 3] * (1 + i % 2) for i in range(20)))
    jumps = 0
    for text in texts:
        words = sudachi_words(text)
        stats = DocStats(text, frozenset(), None)
        for n in (10, 5, 6, 7, 8, 9):  # 10 first: its repeats are then found without a shorter length cached
            assert stats.dup_word_ngram(n) == find_all_duplicate(words, n) / len(text), (n, text[:30])
        for n in (4, 2, 3):
            assert stats.top_word_ngram(n) == find_top_duplicate(get_n_grams(words, n)) / len(text), (n, text[:30])
        where, first = stats.repeated_word_ngrams(5)
        jumps += int((where > first).sum())
    assert jumps > 100  # the pool texts repeat a lot


def test_words_are_datatrove_japanese_words(abeja):
    for text in abeja["length_2000"][:5]:
        assert sudachi_words(text) == split_into_words(text, "jpn_Jpan")


def test_swallow_on_real_pages(abeja, mc4_texts, passing_doc, shared_data):
    step = quality(preset="swallow")
    assert {verdict(step, t) for t in abeja["length_200"]} == {"min_chars"}  # Swallow keeps >= 400 characters
    assert {verdict(step, t) for t in mc4_texts} == {"min_chars"}  # the labelled snippets are all < 400 chars
    assert verdict(step, passing_doc + "\n" + passing_doc) == "max_dup_line_fraction"
    english = extract_page((shared_data / "web_html" / "other" / "postlight__www.nytimes.com.html").read_text()).text
    assert verdict(step, english) == "min_japanese_chars"
    kept = sum(verdict(step, t) is None for t in abeja["length_2000"] + abeja["length_20000"])
    assert kept > len(abeja["length_2000"])  # most real 2k/20k-character pages pass


def test_every_rule_drops_with_its_own_name(passing_doc):
    for rule in RULES:
        extreme = 1e18 if rule.bound == "min" else -1.0
        assert verdict(quality(preset="none", **{rule.name: extreme}), passing_doc) == rule.name


def test_null_disables_and_a_number_overrides_a_preset_rule(mc4_texts, passing_doc):
    relaxed = quality(preset="swallow", min_chars=None, min_japanese_chars=None)
    assert "min_chars" not in dict(relaxed.rules)
    outcomes = Counter(verdict(relaxed, t) for t in mc4_texts)
    assert "min_chars" not in outcomes and outcomes[None] > 0
    assert verdict(quality(preset="swallow", min_chars=5000), passing_doc) == "min_chars"
    assert dict(active_rules(quality(preset="fineweb2_ja", min_words=10).options))["min_words"] == 10
    assert len(active_rules(quality(preset="none").options)) == 0
    assert set(PRESETS["swallow"]) | set(PRESETS["fineweb2_ja"]) <= {rule.name for rule in RULES}


def test_bad_input_does_not_crash(abeja):
    huge = (abeja["length_20000"][0] + "\n") * (10_000_000 // 20_000)
    texts = ["", "\n\n \n", "!!!??？！…・・・" * 3, "日本語の\ud800文章です。\udfff" * 50, huge]
    for preset in ("swallow", "fineweb2_ja"):
        step = quality(preset=preset)
        results = [verdict(step, t) for t in texts]
        assert all(isinstance(r, str) for r in results), (preset, results)  # every one dropped, by a named rule
    only_ngrams = quality(preset="none", max_dup_10gram_char_fraction=0.5)
    assert verdict(only_ngrams, huge) == "max_dup_10gram_char_fraction"  # 10 MB through the n-gram statistics


def test_unknown_rule_in_a_recipe_names_the_key():
    text = "name: t\nsources: [{type: text, paths: [x.txt]}]\nsteps:\n  - quality: {preset: swallow, min_hiragana: 0.1}\noutput: {dir: out}\n"
    with pytest.raises(RecipeError, match=r"steps\[0\]\.quality\.min_hiragana: unknown key"):
        parse_recipe(text)
