"""The evaluation tasks wired together: data -> model -> predictions -> official metrics."""

from __future__ import annotations

import math
import os
from collections import defaultdict

import numpy as np

from jacorpus.evaluate import metrics as M
from jacorpus.evaluate.datasets import JGLUE_TASKS, jglue_file, read_classification, read_jglue, read_mcqa
from jacorpus.evaluate.finetune import FinetuneConfig, finetune_and_predict
from jacorpus.evaluate.models import EvalInputError

# JGLUE's published baselines (run_glue / run_swag): input length per task
JGLUE_MAX_LENGTH = {"jsts": 128, "jnli": 128, "jcommonsenseqa": 64}


def _cap(items: list, n: int) -> list:
    return items[:n] if n else items


def seeded_sample(items: list, n: int, seed: int) -> list:
    """``n`` items drawn without replacement under ``seed``, kept in file order (all of them when n is 0 or >= len)."""
    if not n or n >= len(items):
        return items
    keep = np.sort(np.random.default_rng(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in keep]


def jglue_split(data: str, task: str, split: str, flag: str) -> str:
    try:
        return jglue_file(data, task, split)
    except FileNotFoundError:
        raise EvalInputError(f"{os.path.join(data, f'{task}-v1.3', f'{split}-v1.3.json')} not found; "
                             f"point {flag} at a JGLUE datasets folder that has the {split!r} split") from None


def run_jglue(model_dir: str, task: str, data: str, split: str, train_split: str, max_train: int, max_eval: int,
              epochs: int, lr: float, seed: int, train_data: str | None = None, trust_remote_code: bool | None = None,
              progress: bool = False):
    """``train_data``: the folder holding the training split when it is not ``data`` (JGLUE test sets are
    distributed apart from train/valid)."""
    if task not in JGLUE_TASKS:
        raise EvalInputError(f"unknown JGLUE task {task!r}; known: {sorted(JGLUE_TASKS)} (--task)")
    jglue_split(data, task, split, "--data (or --split)")
    test = _cap(read_jglue(data, task, split), max_eval)
    gold = [ex.label for ex in test]
    from jacorpus.evaluate.models import load_lm, open_model

    info = open_model(model_dir, trust_remote_code)
    extra: dict[str, int] = {}
    if task == "jcommonsenseqa" and info.causal:  # zero-shot scoring; fine-tuning a causal LM for MC is not the protocol
        from jacorpus.evaluate.scoring import mcqa_predict

        info, model = load_lm(model_dir, trust_remote_code)
        chosen, cut = mcqa_predict(info.tokenizer, model, test, info.max_tokens, template="質問: {question}\n答え: ",
                                   progress=progress)
        pred = np.array([c[0] for c in chosen])
        extra = {"protocol": "zero-shot log-likelihood", "truncated_test": cut, "context": info.max_tokens}
    else:
        train_dir = train_data or data
        jglue_split(train_dir, task, train_split, "--train-data (or --train-split)")
        train = _cap(read_jglue(train_dir, task, train_split), max_train)
        kind = JGLUE_TASKS[task]
        pred, extra = finetune_and_predict(model_dir, kind, train, test, 1 if kind == "regression" else 3,
                                           FinetuneConfig(epochs=epochs, lr=lr, seed=seed, max_length=JGLUE_MAX_LENGTH[task]),
                                           trust_remote_code, progress)
        extra["train_examples"] = len(train)
    if task == "jsts":
        result = {"pearson": M.pearson(gold, pred), "spearman": M.spearman(gold, pred)}
    else:
        result = {"accuracy": M.accuracy(gold, pred)}
    result["examples"] = len(test)
    result.update(extra)
    return result, [{"id": ex.id, "gold": ex.label, "pred": p.item()} for ex, p in zip(test, pred)]


def run_classify(model_dir: str, train_path: str, test_path: str, max_train: int, epochs: int, lr: float, seed: int,
                 trust_remote_code: bool | None = None, progress: bool = False):
    train = _cap(read_classification(train_path), max_train)
    test = read_classification(test_path)
    labels = sorted({ex.label for ex in train} | {ex.label for ex in test})
    index = {label: i for i, label in enumerate(labels)}
    for ex in train + test:
        ex.label = index[ex.label]
    pred, extra = finetune_and_predict(model_dir, "classification", train, test, len(labels),
                                       FinetuneConfig(epochs=epochs, lr=lr, seed=seed), trust_remote_code, progress)
    gold = [ex.label for ex in test]
    result = {"accuracy": M.accuracy(gold, pred), "macro_f1": M.macro_f1(gold, pred), "examples": len(test), **extra}
    return result, [{"id": ex.id, "gold": labels[ex.label], "pred": labels[int(p)]} for ex, p in zip(test, pred)]


def run_mcqa(model_dir: str, data: str, max_examples: int, seed: int = 1, trust_remote_code: bool | None = None,
             progress: bool = False):
    """Accuracy (a question counts as right when the chosen set equals its set of right answers), overall and per
    group (IgakuQA: exam year), with what was skipped and why. ``max_examples`` draws a seeded sample."""
    from jacorpus.evaluate.models import load_lm
    from jacorpus.evaluate.scoring import mcqa_predict

    info, model = load_lm(model_dir, trust_remote_code)
    if not info.causal:
        raise EvalInputError(f"{model_dir}: mcqa scores choices by log-likelihood and needs a causal LM (gpt2, llama)")
    data_set = read_mcqa(data)
    test = seeded_sample(data_set.examples, max_examples, seed)
    if not test:
        raise EvalInputError(f"{data}: no question can be scored (skipped: {dict(data_set.skipped)})")
    chosen, cut = mcqa_predict(info.tokenizer, model, test, info.max_tokens, progress=progress)
    right = [c == ex.answers for c, ex in zip(chosen, test)]
    by_group: dict[str, list[bool]] = defaultdict(list)
    for ok, ex in zip(right, test):
        by_group[ex.group].append(ok)
    chance = sum(1 / math.comb(len(ex.choices), len(ex.answers)) for ex in test) / len(test)
    skipped: dict[str, dict[str, int]] = defaultdict(dict)
    for (group, reason), n in sorted(data_set.skipped.items()):
        skipped[group][reason] = n
    result = {"accuracy": sum(right) / len(test), "chance": chance, "examples": len(test),
              "multi_answer": sum(len(ex.answers) > 1 for ex in test), "truncated": cut, "context": info.max_tokens,
              "skipped": sum(data_set.skipped.values()),
              "by_group": {g: {"accuracy": sum(v) / len(v), "examples": len(v),
                               "skipped": skipped.get(g, {})} for g, v in sorted(by_group.items())},
              "sample": {"max_examples": max_examples, "seed": seed} if max_examples else None}
    predictions = [{"id": ex.id, "group": ex.group, "gold": ex.answers, "pred": c, "correct": ok}
                   for ex, c, ok in zip(test, chosen, right)]
    return result, predictions
