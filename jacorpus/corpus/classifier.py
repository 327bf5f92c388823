"""`classifier`: a quality classifier and its trainers: fastText over SudachiPy (mode A) words (``.bin``), or a
linear model over TF-IDF character 1-2-grams and Sudachi words (``.joblib``, scikit-learn).

Why two: on the 1,078 shared mC4-ja human labels (5 held-out splits, bench/results/quality_classifier.md) fastText
reaches 0.68 balanced accuracy on words and 0.70 on characters, while logistic regression on TF-IDF character
1-2-grams plus words reaches 0.76: with a thousand examples, idf weighting and L2 regularisation matter more than
learned embeddings. fastText stays for large training sets, where it is the standard (CCNet, DCLM).

Training (``jacorpus quality train``) and scoring share ``features``, so a model sees at run time exactly the kind
of input it was trained on. A JSON sidecar (``<model>.json``) records the labels and feature settings. The model
kind is the file's extension.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from typing import Any, ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from jacorpus.corpus.chartypes import sudachi_words
from jacorpus.corpus.language import load_fasttext
from jacorpus.corpus.limits import DEFAULT_MAX_RECORD_SECONDS
from jacorpus.corpus.steps import JaFilter, StepOptions, register_step

FEATURE_MAX_CHARS = 10_000  # a prefix is enough for a bag of words and bounds the cost on huge pages
_DIGITS = re.compile(r"\d")


def features(text: str, max_chars: int = FEATURE_MAX_CHARS) -> str:
    """One line of space-separated, lower-cased Sudachi words; digits folded to 0 (prices, dates vary freely)."""
    words = sudachi_words(text[:max_chars])
    return _DIGITS.sub("0", " ".join(words).lower())


def sidecar_path(model_path: str) -> str:
    return model_path + ".json"


def label_scores(model: Any, text: str) -> dict[str, float]:
    """P(label) for every label of a fastText model or a linear pipeline (as ``load_classifier`` returns them)."""
    if hasattr(model, "predict_proba"):
        probs = model.predict_proba([text])[0]
        return {str(label): float(p) for label, p in zip(model.classes_, probs)}
    line = features(text)
    labels, probs = model.predict(line, k=-1)
    return {label.removeprefix("__label__"): float(min(p, 1.0)) for label, p in zip(labels, probs)}


LINEAR_SUFFIX = ".joblib"
_LINEAR: dict[tuple[str, int], Any] = {}


def load_classifier(path: str) -> Any:
    """A fastText model, or a linear pipeline for ``.joblib``; one per process and file version."""
    if not path.endswith(LINEAR_SUFFIX):
        return load_fasttext(path)
    key = (path, os.stat(path).st_mtime_ns)
    if key not in _LINEAR:
        import joblib

        _LINEAR[key] = joblib.load(path)
    return _LINEAR[key]


def char_prefix(text: str) -> str:
    """The characters the linear model's character n-grams see (bounded like ``features``)."""
    return _DIGITS.sub("0", text[:FEATURE_MAX_CHARS])


def train_linear(examples: list[tuple[str, str]], out: str, *, c: float = 16.0, min_df: int = 2) -> dict[str, Any]:
    """Logistic regression (class-balanced, L2, ``C=c``) over TF-IDF (sublinear tf) character 1-2-grams and Sudachi
    words; saved with joblib plus the sidecar. C=16 and 1-2-grams were the best of C in {1, 4, 16} x n-grams in
    {1-2, 1-3, 2-4} on the shared labels' training splits."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    pipeline = Pipeline([
        ("features", FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 2), preprocessor=char_prefix,
                                      sublinear_tf=True, min_df=min_df)),
            ("words", TfidfVectorizer(preprocessor=features, tokenizer=str.split, token_pattern=None,
                                      lowercase=False, sublinear_tf=True, min_df=min_df)),
        ])),
        ("model", LogisticRegression(C=c, max_iter=5000, class_weight="balanced")),
    ])
    pipeline.fit([t for t, _ in examples], [label for _, label in examples])
    joblib.dump(pipeline, out)
    info = {
        "labels": sorted({label for _, label in examples}),
        "kind": "linear",
        "features": {"chars": "TF-IDF character 1-2-grams of the first 10,000 characters, digits as 0",
                     "words": "TF-IDF SudachiPy mode A words (lower case, digits as 0)", "min_df": min_df},
        "params": {"C": c, "class_weight": "balanced"},
        "train_examples": len(examples),
    }
    with open(sidecar_path(out), "w", encoding="utf-8") as fh:
        json.dump(info, fh, ensure_ascii=False, indent=2)
    return info


def _train_in_child(train_file: str, out: str, params: dict[str, Any], retries: int) -> list[dict[str, Any]]:
    """Runs in a fresh process: fastText 0.9.2 reuses freed memory without initialising it, so a second training
    in one process can start from garbage and end in "Encountered NaN" (4 of 8 in a row here). A NaN that still
    happens is retried with half the learning rate: lr, lr/2, lr/4 ... (deterministic with one thread and a seed)."""
    import fasttext

    attempts: list[dict[str, Any]] = []
    for attempt in range(retries):
        rate = params["lr"] / (2**attempt)
        try:
            model = fasttext.train_supervised(input=train_file, **{**params, "lr": rate}, thread=1, verbose=0)
        except RuntimeError as exc:
            if "NaN" not in str(exc):
                raise
            attempts.append({"lr": rate, "error": str(exc)})
            continue
        model.save_model(out)
        attempts.append({"lr": rate, "error": None})
        return attempts
    raise RuntimeError(f"fastText training diverged (NaN) {retries} times; try a lower --lr or more data")


def train_fasttext(
    examples: list[tuple[str, str]], out: str, *, epoch: int = 50, lr: float = 0.5, word_ngrams: int = 2,
    dim: int = 50, minn: int = 1, maxn: int = 2, bucket: int = 100_000, min_count: int = 1, seed: int = 1,
    retries: int = 4,
) -> dict[str, Any]:
    """Train on (text, label) pairs and save the model plus its sidecar; returns the sidecar's content.

    Defaults were picked on the shared mC4 labels (5 seeds, held-out balanced accuracy; docs/quality.md): small
    data wants many epochs, a high lr and character 1-2-grams of the words (``minn``/``maxn``); a 100k-bucket
    hash table keeps the model near 20 MB instead of 400 MB.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
        for text, label in examples:
            fh.write(f"__label__{label} {features(text)}\n")
        train_file = fh.name
    params = {"epoch": epoch, "lr": lr, "wordNgrams": word_ngrams, "dim": dim, "minn": minn, "maxn": maxn,
              "bucket": bucket, "minCount": min_count, "seed": seed}
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            attempts = pool.submit(_train_in_child, train_file, os.path.abspath(out), params, retries).result()
    finally:
        os.unlink(train_file)
    info = {
        "labels": sorted({label for _, label in examples}),
        "kind": "fasttext",
        "features": {"segmenter": "sudachipy", "split_mode": "A", "max_chars": FEATURE_MAX_CHARS,
                     "lowercase": True, "digits": "0"},
        "params": {**params, "lr": attempts[-1]["lr"], "thread": 1},
        "attempts": attempts,
        "train_examples": len(examples),
    }
    with open(sidecar_path(out), "w", encoding="utf-8") as fh:
        json.dump(info, fh, ensure_ascii=False, indent=2)
    return info


class ClassifierOptions(StepOptions):
    model: str  # a fastText .bin or a linear .joblib (`jacorpus quality train`), relative to the recipe's folder
    label: str = "good"  # the label whose probability is the score
    min_score: float = Field(0.5, ge=0.0, le=1.0)


@register_step
class QualityClassifier(JaFilter):
    """Scores documents with P(label) (annotated as ``quality_score``) and keeps those at or above ``min_score``."""

    name = "classifier"
    max_record_seconds = DEFAULT_MAX_RECORD_SECONDS  # Sudachi words of one document
    Options: ClassVar[type[StepOptions]] = ClassifierOptions
    annotations: ClassVar[dict[str, pa.DataType]] = {"quality_score": pa.float64()}

    def __init__(self, options: StepOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        path = self.options.model
        self.model_path = path if os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))
        if not os.path.isfile(self.model_path):
            raise FileNotFoundError(f"classifier model not found: {self.model_path}")
        sidecar = sidecar_path(self.model_path)
        if os.path.isfile(sidecar):  # fail at plan time, not in every worker, when the label is wrong
            with open(sidecar, encoding="utf-8") as fh:
                labels = json.load(fh).get("labels", [])
            if labels and self.options.label not in labels:
                raise ValueError(f"label {self.options.label!r} is not one of the model's labels {labels}")

    def load(self) -> None:
        # the model (scikit-learn, scipy and pandas imports for .joblib) and the Sudachi dictionary of the features
        label_scores(load_classifier(self.model_path), "日本語の文章。")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        scores = label_scores(load_classifier(self.model_path), doc.text)
        if self.options.label not in scores:
            raise ValueError(f"label {self.options.label!r} is not one of the model's labels {sorted(scores)}")
        score = scores[self.options.label]
        doc.metadata["quality_score"] = score
        return True if score >= self.options.min_score else (False, "low_quality")
