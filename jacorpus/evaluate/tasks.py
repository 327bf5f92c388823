"""The evaluation tasks wired together: data -> model -> predictions -> official metrics."""

from __future__ import annotations

from jacorpus.evaluate import metrics as M
from jacorpus.evaluate.datasets import JGLUE_TASKS, read_classification, read_jglue, read_mcqa
from jacorpus.evaluate.finetune import FinetuneConfig, finetune_and_predict


def _cap(items: list, n: int) -> list:
    return items[:n] if n else items


def run_jglue(model_dir: str, task: str, data: str, split: str, train_split: str, max_train: int, max_eval: int,
              epochs: int, lr: float, seed: int):
    if task not in JGLUE_TASKS:
        raise ValueError(f"unknown JGLUE task {task!r}; known: {sorted(JGLUE_TASKS)}")
    test = _cap(read_jglue(data, task, split), max_eval)
    gold = [ex.label for ex in test]
    from jacorpus.evaluate.scoring import is_causal

    if task == "jcommonsenseqa" and is_causal(model_dir):  # zero-shot scoring; fine-tuning a causal LM for MC is not the protocol
        from jacorpus.evaluate.scoring import load_scoring_model, mcqa_predict

        tokenizer, model, _ = load_scoring_model(model_dir)
        pred = mcqa_predict(tokenizer, model, test, template="質問: {question}\n答え: ")
    else:
        train = _cap(read_jglue(data, task, train_split), max_train)
        kind = JGLUE_TASKS[task]
        pred = finetune_and_predict(model_dir, kind, train, test, 1 if kind == "regression" else 3,
                                    FinetuneConfig(epochs=epochs, lr=lr, seed=seed))
    if task == "jsts":
        result = {"pearson": M.pearson(gold, pred), "spearman": M.spearman(gold, pred)}
    else:
        result = {"accuracy": M.accuracy(gold, pred)}
    result["examples"] = len(test)
    return result, [{"id": ex.id, "gold": ex.label, "pred": p.item()} for ex, p in zip(test, pred)]


def run_classify(model_dir: str, train_path: str, test_path: str, max_train: int, epochs: int, lr: float, seed: int):
    train = _cap(read_classification(train_path), max_train)
    test = read_classification(test_path)
    labels = sorted({ex.label for ex in train} | {ex.label for ex in test})
    index = {label: i for i, label in enumerate(labels)}
    for ex in train + test:
        ex.label = index[ex.label]
    pred = finetune_and_predict(model_dir, "classification", train, test, len(labels),
                                FinetuneConfig(epochs=epochs, lr=lr, seed=seed))
    gold = [ex.label for ex in test]
    result = {"accuracy": M.accuracy(gold, pred), "macro_f1": M.macro_f1(gold, pred), "examples": len(test)}
    return result, [{"id": ex.id, "gold": labels[ex.label], "pred": labels[int(p)]} for ex, p in zip(test, pred)]


def run_mcqa(model_dir: str, data: str, max_examples: int):
    from jacorpus.evaluate.scoring import load_scoring_model, mcqa_predict

    tokenizer, model, causal = load_scoring_model(model_dir)
    if not causal:
        raise ValueError("mcqa scores choices by log-likelihood: it needs a causal LM")
    test = _cap(read_mcqa(data), max_examples)
    pred = mcqa_predict(tokenizer, model, test)
    gold = [ex.label for ex in test]
    chance = sum(1 / len(ex.choices) for ex in test) / max(len(test), 1)
    result = {"accuracy": M.accuracy(gold, pred), "chance": chance, "examples": len(test)}
    return result, [{"id": ex.id, "gold": ex.label, "pred": int(p)} for ex, p in zip(test, pred)]
