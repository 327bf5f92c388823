"""`language`: real lid.176 on real pages; Chinese that lid.176 calls Japanese is caught by the kana check."""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document

from jacorpus.corpus.quality_labels import read_labels
from jacorpus.corpus.language import LanguageFilter, LanguageOptions
from jacorpus.corpus.sources.html_text import extract_page
from jacorpus.pipelines.recipe import RecipeError, parse_recipe


def run_filter(step, texts: list[str]) -> tuple[list[Document], list[Document]]:
    docs = [Document(text=t, id=str(i), metadata={"source": "test"}) for i, t in enumerate(texts)]
    kept = list(step.run(iter(docs)))
    return kept, docs


def reasons(step) -> dict[str, int]:
    return {k.split(":", 1)[1]: v for k, v in step.ledger.dropped.items()}


def language_step(**options) -> LanguageFilter:
    return LanguageFilter(LanguageOptions.model_validate(options))


@pytest.fixture(scope="module")
def abeja_texts(shared_data) -> list[str]:
    data = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    return [item["text"] for items in data.values() for item in items]


@pytest.fixture(scope="module")
def mc4_texts(shared_data) -> list[str]:
    return [text for text, _ in read_labels(str(shared_data / "mc4_ja_quality_labels" / "annotations_.txt")).examples]


def test_japanese_web_documents_are_kept_and_annotated(abeja_texts):
    step = language_step()
    kept, docs = run_filter(step, abeja_texts)
    assert len(kept) == len(abeja_texts) == 99
    for doc in docs:
        assert doc.metadata["language"] == "ja"
        assert 0.65 <= doc.metadata["language_score"] <= 1.0
    assert step.ledger.dropped == {}


def test_chinese_labelled_ja_by_lid176_is_dropped_for_missing_kana(mc4_texts):
    # real mC4-ja lines in Chinese (simplified and traditional) that lid.176 scores as Japanese
    chinese = [t for t in mc4_texts if t.startswith(("『晋江二手市场』", "請選擇 2018年", "中油-上井"))]
    assert len(chinese) == 3
    strict = language_step()
    kept, docs = run_filter(strict, chinese)
    assert kept == []
    assert reasons(strict) == {"no_kana": 3}
    assert all(d.metadata["language"] == "ja" and d.metadata["language_score"] >= 0.65 for d in docs)

    lenient = language_step(require_kana=False)
    kept, _ = run_filter(lenient, chinese)
    assert len(kept) == 3  # lid.176 alone keeps them: the kana check is what removes them


def test_other_languages_on_real_pages_are_dropped(shared_data):
    pages = {"en": "postlight__www.nytimes.com.html", "de": "postlight__www.spektrum.de.html",
             "fr": "postlight__www.lemonde.fr.html", "es": "trafilatura__24horas.cl-segundo.html",
             "zh": "postlight__www.qdaily.com.html"}
    texts = [extract_page((shared_data / "web_html" / "other" / name).read_text(encoding="utf-8")).text
             for name in pages.values()]
    step = language_step()
    kept, docs = run_filter(step, texts)
    assert kept == []
    assert [d.metadata["language"] for d in docs] == list(pages)
    assert reasons(step) == {"not_ja": 5}

    multilingual = language_step(languages=list(pages), min_score=0.5)
    kept, _ = run_filter(multilingual, texts)
    assert len(kept) == 5


def test_bad_input_does_not_crash_and_names_the_rule(abeja_texts):
    step = language_step()
    huge = abeja_texts[-1] * (10_000_000 // len(abeja_texts[-1]) + 1)
    texts = ["", "  \n\t ", "!!!??？！…・・・", "日本語の\ud800文章です。壊れたサロゲート\udfffを含む。", huge]
    kept, docs = run_filter(step, texts)
    from jacorpus.corpus.language import sample_for_lid

    assert len(sample_for_lid(huge, 2000)) <= 2001  # only a bounded sample of the 10 MB page goes to fastText
    assert [d.id for d in kept] == ["3", "4"]
    assert reasons(step) == {"empty": 2, "not_ja": 1} or reasons(step) == {"empty": 2, "low_score": 1}
    assert docs[0].metadata["language_score"] == 0.0


def test_low_score_is_its_own_reason(mc4_texts):
    step = language_step(min_score=0.999)
    kept, docs = run_filter(step, mc4_texts[:200])
    dropped = reasons(step)
    assert dropped.get("low_score", 0) > 0
    assert all(d.metadata["language_score"] >= 0.999 for d in kept)


def test_recipe_options_are_checked():
    text = "name: t\nsources: [{type: text, paths: [x.txt]}]\nsteps:\n  - language: {languages: [ja], min_scor: 0.5}\noutput: {dir: out}\n"
    with pytest.raises(RecipeError, match=r"steps\[0\]\.language\.min_scor: unknown key"):
        parse_recipe(text)
