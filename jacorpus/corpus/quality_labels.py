"""Human quality labels: reading label files, a stratified held-out split, agreement metrics, rule predictions.

Label files: ``text<TAB>label`` lines (the label is the last field; a text wrapped in CSV-style quotes is unwrapped;
tabs left inside a text become spaces) or JSON lines with ``text`` and ``label``. Every line that cannot be used is
counted and reported by reason. The held-out split is stratified by label and decided by a hash of (seed, text),
so it does not depend on file order and identical texts never straddle it. ``jacorpus quality`` (``quality_cli.py``)
calls these.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import numpy as np


@dataclass
class LabelFile:
    examples: list[tuple[str, str]] = field(default_factory=list)  # distinct texts, one label each
    lines: int = 0
    unquoted: int = 0  # texts that were wrapped in (or started with a stray) double quote
    inner_tabs: int = 0  # texts with tabs inside, turned into spaces
    skipped: Counter = field(default_factory=Counter)  # reason -> lines
    skipped_examples: list[str] = field(default_factory=list)  # "line N: reason", the first few

    def skip(self, number: int, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(f"line {number}: {reason}")

    def summary(self) -> dict[str, Any]:
        return {"lines": self.lines, "examples": len(self.examples), "unquoted": self.unquoted,
                "inner_tabs": self.inner_tabs, "skipped": dict(self.skipped), "skipped_examples": self.skipped_examples}


def _parse_tsv(line: str) -> tuple[str, str] | str:
    if "\t" not in line:
        return "no_tab"
    text, _, label = line.rpartition("\t")
    return text, label.strip()


def _parse_json(line: str) -> tuple[str, str] | str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return "invalid_json"
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) or record.get("label") is None:
        return "missing_text_or_label"
    return record["text"], str(record["label"]).strip()


def read_labels(path: str) -> LabelFile:
    result = LabelFile()
    with open(path, encoding="utf-8", errors="replace") as fh:
        raw = [line.removesuffix("\r") for line in fh.read().split("\n")]  # not splitlines: texts may hold U+2028
    is_json = path.endswith((".jsonl", ".json")) or next((x for x in raw if x.strip()), "").lstrip().startswith("{")
    labels_of: dict[str, list[str]] = defaultdict(list)
    for number, line in enumerate(raw, 1):
        if not line.strip():
            continue
        result.lines += 1
        parsed = _parse_json(line) if is_json else _parse_tsv(line)
        if isinstance(parsed, str):
            result.skip(number, parsed)
            continue
        text, label = parsed
        if not is_json and text.startswith('"'):
            quoted = len(text) > 1 and text.endswith('"')
            text = text[1:-1].replace('""', '"') if quoted else text[1:]
            result.unquoted += 1
        if not is_json and "\t" in text:
            result.inner_tabs += 1
            text = text.replace("\t", " ")
        if not label or any(ch.isspace() for ch in label):
            result.skip(number, "bad_label")
        elif not text.strip():
            result.skip(number, "empty_text")
        else:
            labels_of[text].append(label)
    for text, labels in labels_of.items():
        if len(set(labels)) > 1:
            result.skipped["conflicting_labels"] += len(labels)
            continue
        result.skipped["duplicate_text"] += len(labels) - 1
        result.examples.append((text, labels[0]))
    result.skipped = Counter({k: v for k, v in result.skipped.items() if v})
    return result


def split_examples(
    examples: list[tuple[str, str]], test_fraction: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Stratified, order-independent split: per label, the texts with the smallest hash(seed, text) are held out."""
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for example in examples:
        by_label[example[1]].append(example)
    train, test = [], []
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda e: hashlib.blake2b(f"{seed}\0{e[0]}".encode()).digest())
        n_test = round(len(group) * test_fraction)
        test.extend(group[:n_test])
        train.extend(group[n_test:])
    return train, test


def _balanced(truth: np.ndarray, predicted: np.ndarray, labels: list[str]) -> float:
    import numpy as np

    recalls = [np.mean(predicted[truth == t] == t) for t in labels if np.any(truth == t)]
    return float(np.mean(recalls)) if recalls else 0.0


def evaluate(truth: list[str], predicted: list[str], rounds: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Accuracy, balanced accuracy (mean per-label recall) with a 95 % bootstrap interval (``rounds`` resamples of
    the examples, a fixed seed: the same input gives the same interval) and the confusion table
    {true: {predicted: n}}."""
    labels = sorted(set(truth) | set(predicted))
    table = {t: {p: 0 for p in labels} for t in labels}
    for t, p in zip(truth, predicted):
        table[t][p] += 1
    recalls = [table[t][t] / sum(table[t].values()) for t in sorted(set(truth))]
    correct = sum(table[t][t] for t in labels)
    result = {"n": len(truth), "accuracy": correct / len(truth) if truth else 0.0,
              "balanced_accuracy": sum(recalls) / len(recalls) if recalls else 0.0, "confusion": table}
    if truth and rounds:
        import numpy as np

        t, p = np.asarray(truth), np.asarray(predicted)
        rng = np.random.default_rng(seed)
        draws = [_balanced(t[i], p[i], sorted(set(truth))) for i in rng.integers(0, len(t), (rounds, len(t)))]
        result["balanced_accuracy_ci95"] = [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]
    return result


def calibration(truth: list[str], scores: list[float], positive: str, bins: int = 10) -> dict[str, Any]:
    """Reliability table of P(positive): per equal-width score bin, the mean score and the share truly positive;
    ECE = the count-weighted mean gap."""
    import numpy as np

    s, y = np.asarray(scores, dtype=np.float64), np.asarray([t == positive for t in truth], dtype=np.float64)
    which = np.minimum((s * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append({"bin": [b / bins, (b + 1) / bins], "n": int(mask.sum()),
                         "mean_score": float(s[mask].mean()), "positive_rate": float(y[mask].mean())})
    ece = sum(r["n"] * abs(r["mean_score"] - r["positive_rate"]) for r in rows) / max(len(s), 1)
    return {"positive": positive, "bins": rows, "ece": float(ece)}


def rule_predictor(preset: str, overrides: dict[str, Any], keep_label: str, drop_label: str) -> Callable[[str], str]:
    from jacorpus.corpus.quality import QualityOptions, active_rules, first_failing_rule

    options = QualityOptions.model_validate({"preset": preset, **overrides})
    rules, stop_words = active_rules(options), frozenset(options.stop_words)
    return lambda text: keep_label if first_failing_rule(text, rules, stop_words) is None else drop_label
