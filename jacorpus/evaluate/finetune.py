"""Fine-tune an encoder on a labelled task and predict: classification, regression (JSTS) or multiple choice.

A plain PyTorch loop (these are small evaluation runs; DeepSpeed adds nothing here), deterministic under a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jacorpus.evaluate.datasets import Example


@dataclass
class FinetuneConfig:
    epochs: int = 1
    lr: float = 5e-5
    batch_size: int = 16
    max_length: int = 128  # JGLUE's baselines: 128 for JSTS/JNLI, 64 for JCommonsenseQA; capped at the model's limit
    seed: int = 1
    weight_decay: float = 0.01


def _encode(tokenizer, examples: list[Example], kind: str, max_length: int):
    if kind == "multiple_choice":
        firsts = [ex.text for ex in examples for _ in ex.choices]
        seconds = [c for ex in examples for c in ex.choices]
        enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length, padding="max_length", return_tensors="pt")
        n_choices = len(examples[0].choices)
        return {k: v.view(len(examples), n_choices, -1) for k, v in enc.items()}
    if isinstance(examples[0].text, list):
        return tokenizer([e.text[0] for e in examples], [e.text[1] for e in examples], truncation=True,
                         max_length=max_length, padding=True, return_tensors="pt")
    return tokenizer([e.text for e in examples], truncation=True, max_length=max_length, padding=True, return_tensors="pt")


def count_truncated(tokenizer, examples: list[Example], kind: str, max_length: int) -> int:
    """Examples (a multiple-choice question counts once) whose input is longer than ``max_length`` tokens."""
    if not examples:
        return 0
    if kind == "multiple_choice":
        firsts = [ex.text for ex in examples for _ in ex.choices]
        seconds = [c for ex in examples for c in ex.choices]
        lengths = [len(ids) for ids in tokenizer(firsts, seconds)["input_ids"]]
        per = len(examples[0].choices)
        return sum(max(lengths[i * per : (i + 1) * per]) > max_length for i in range(len(examples)))
    if isinstance(examples[0].text, list):
        enc = tokenizer([e.text[0] for e in examples], [e.text[1] for e in examples])
    else:
        enc = tokenizer([e.text for e in examples])
    return sum(len(ids) > max_length for ids in enc["input_ids"])


def load_model(model_dir: str, kind: str, num_labels: int):
    from transformers import AutoModelForMultipleChoice, AutoModelForSequenceClassification

    if kind == "multiple_choice":
        return AutoModelForMultipleChoice.from_pretrained(model_dir)
    problem = "regression" if kind == "regression" else "single_label_classification"
    return AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=num_labels, problem_type=problem)


def finetune_and_predict(model_dir: str, kind: str, train: list[Example], test: list[Example],
                         num_labels: int, config: FinetuneConfig, trust_remote_code: bool | None = None,
                         progress: bool = False) -> tuple[np.ndarray, dict[str, int]]:
    """Predictions for ``test`` (class ids, choice ids, or regression scores) and the input length used with the
    count of truncated train and test examples. Inputs longer than the model's position limit or the task's
    ``max_length`` are truncated (longest first for pairs, as the JGLUE baselines' run_glue does)."""
    import torch
    from tqdm.auto import tqdm

    from jacorpus.evaluate.models import open_model

    torch.manual_seed(config.seed)
    info = open_model(model_dir, trust_remote_code)
    tokenizer = info.tokenizer
    max_length = min(config.max_length, info.max_tokens)
    truncation = {"max_length": max_length,
                  "truncated_train": count_truncated(tokenizer, train, kind, max_length),
                  "truncated_test": count_truncated(tokenizer, test, kind, max_length)}
    model = load_model(model_dir, kind, num_labels)
    if tokenizer.pad_token is None:  # causal tokenizers: pad with EOS for classification heads
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    rng = np.random.default_rng(config.seed)
    model.train()
    steps = config.epochs * -(-len(train) // config.batch_size)
    bar = tqdm(total=steps, desc="fine-tune", unit="batch", disable=not progress)
    for _ in range(config.epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(order), config.batch_size):
            batch = [train[i] for i in order[start : start + config.batch_size]]
            enc = _encode(tokenizer, batch, kind, max_length)
            dtype = torch.float32 if kind == "regression" else torch.long
            labels = torch.tensor([ex.label for ex in batch], dtype=dtype)
            loss = model(**enc, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            bar.update()
    bar.close()
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in tqdm(range(0, len(test), config.batch_size), desc="predict", unit="batch", disable=not progress):
            batch = test[start : start + config.batch_size]
            logits = model(**_encode(tokenizer, batch, kind, max_length)).logits
            outputs.append(logits.squeeze(-1).numpy() if kind == "regression" else logits.argmax(-1).numpy())
    return (np.concatenate(outputs) if outputs else np.array([])), truncation
