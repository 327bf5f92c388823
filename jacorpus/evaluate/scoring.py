"""Scoring with a language model: perplexity (CLM), masked-token accuracy and pseudo-perplexity (MLM), and
multiple-choice log-likelihood for causal models (IgakuQA, JMMLU-Med, JCommonsenseQA zero-shot)."""

from __future__ import annotations

import math

import numpy as np

from jacorpus.evaluate.datasets import Example


CAUSAL_TYPES = ("gpt2", "llama", "mistral", "gpt_neox", "qwen2")


def is_causal(model_dir: str) -> bool:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_dir)
    return bool(getattr(config, "is_decoder", False)) or config.model_type in CAUSAL_TYPES


def load_scoring_model(model_dir: str):
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    causal = is_causal(model_dir)
    model = (AutoModelForCausalLM if causal else AutoModelForMaskedLM).from_pretrained(model_dir)
    model.eval()
    return AutoTokenizer.from_pretrained(model_dir), model, causal


def clm_perplexity(tokenizer, model, texts: list[str], max_length: int = 512) -> dict[str, float]:
    import torch

    nll, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            if tokenizer.bos_token_id is not None:
                ids = [tokenizer.bos_token_id] + ids
            for start in range(0, max(len(ids) - 1, 0), max_length):  # non-overlapping windows
                window = torch.tensor([ids[start : start + max_length + 1]])
                if window.shape[1] < 2:
                    continue
                logits = model(window[:, :-1]).logits
                loss = torch.nn.functional.cross_entropy(logits[0], window[0, 1:], reduction="sum")
                nll += float(loss)
                count += window.shape[1] - 1
    return {"perplexity": math.exp(nll / count) if count else float("nan"), "tokens": count}


def mlm_scores(tokenizer, model, texts: list[str], mask_prob: float = 0.15, seed: int = 1, max_length: int = 256,
               pppl_tokens: int = 2000, word_ids_fn=None) -> dict[str, float]:
    """Masked-token accuracy (whole words masked together when ``word_ids_fn`` is given) and pseudo-perplexity
    (each token masked alone, over the first ``pppl_tokens`` tokens: it costs one forward pass per token)."""
    import torch

    rng = np.random.default_rng(seed)
    correct = total = 0
    pppl_nll, pppl_count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            enc = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt", return_special_tokens_mask=True)
            ids = enc["input_ids"][0]
            special = enc["special_tokens_mask"][0].bool()
            positions = np.flatnonzero(~special.numpy())
            if not len(positions):
                continue
            if word_ids_fn is not None:  # whole-word masking: choose words, mask all their tokens
                words = np.asarray(word_ids_fn(tokenizer, text))[: len(positions)]
                chosen = {w for w in np.unique(words) if rng.random() < mask_prob}
                masked = positions[[w in chosen for w in words]]
            else:
                masked = positions[rng.random(len(positions)) < mask_prob]
            if not len(masked):
                masked = positions[[rng.integers(len(positions))]]
            inp = ids.clone()
            inp[masked] = tokenizer.mask_token_id
            logits = model(input_ids=inp[None]).logits[0]
            correct += int((logits[masked].argmax(-1) == ids[masked]).sum())
            total += len(masked)
            for pos in positions:
                if pppl_count >= pppl_tokens:
                    break
                inp = ids.clone()
                inp[pos] = tokenizer.mask_token_id
                logp = torch.log_softmax(model(input_ids=inp[None]).logits[0, pos], -1)[ids[pos]]
                pppl_nll -= float(logp)
                pppl_count += 1
    return {"masked_accuracy": correct / total if total else 0.0, "masked_tokens": total,
            "pseudo_perplexity": math.exp(pppl_nll / pppl_count) if pppl_count else float("nan")}


def choice_loglikelihoods(tokenizer, model, prompt: str, choices: list[str]) -> list[float]:
    """Sum of log p(choice tokens | prompt) for each choice."""
    import torch

    full_prefix = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 2048)
    scores = []
    with torch.no_grad():
        for choice in choices:
            cont = tokenizer(choice, add_special_tokens=False)["input_ids"]
            # a long vignette keeps its end (the question) when the model's context is shorter than the prompt
            keep = max(limit - len(cont) - len(bos), 1)
            prefix = bos + full_prefix[-keep:]
            ids = torch.tensor([prefix + cont])
            logp = torch.log_softmax(model(ids[:, :-1]).logits[0], -1)
            targets = ids[0, len(prefix):]
            scores.append(float(logp[len(prefix) - 1 :].gather(-1, targets[:, None]).sum()))
    return scores


def mcqa_predict(tokenizer, model, examples: list[Example], template: str = "問題: {question}\n答え: ") -> np.ndarray:
    return np.array([int(np.argmax(choice_loglikelihoods(tokenizer, model, template.format(question=ex.text), ex.choices)))
                     for ex in examples])
