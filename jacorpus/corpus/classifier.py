"""`classifier`: a fastText quality classifier over SudachiPy (mode A) words, and its trainer.

Training (``jacorpus quality train``) and scoring share ``features``, so a model sees at run time exactly the kind
of input it was trained on. A JSON sidecar (``<model>.json``) records the labels and feature settings.
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
    line = features(text)
    labels, probs = model.predict(line, k=-1)
    return {label.removeprefix("__label__"): float(min(p, 1.0)) for label, p in zip(labels, probs)}


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
    model: str  # path to a fastText .bin, relative to the recipe's folder
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

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        scores = label_scores(load_fasttext(self.model_path), doc.text)
        if self.options.label not in scores:
            raise ValueError(f"label {self.options.label!r} is not one of the model's labels {sorted(scores)}")
        score = scores[self.options.label]
        doc.metadata["quality_score"] = score
        return True if score >= self.options.min_score else (False, "low_quality")
