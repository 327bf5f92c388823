"""Scoring with a language model: perplexity (CLM), masked-token accuracy and pseudo-perplexity (MLM), and
multiple-choice log-likelihood for causal models (IgakuQA, JMMLU-Med, JCommonsenseQA zero-shot)."""

from __future__ import annotations

import math

import numpy as np

from jacorpus.evaluate.datasets import Example


def clm_perplexity(tokenizer, model, texts: list[str], max_tokens: int, progress: bool = False) -> dict[str, float]:
    """Perplexity over every token of every text: a text longer than the model's context is scored in consecutive
    windows of at most ``max_tokens`` inputs (each token predicted once, the first of a window from the window
    before's last token)."""
    import torch
    from tqdm.auto import tqdm

    nll, count, windowed = 0.0, 0, 0
    with torch.no_grad():
        for text in tqdm(texts, desc="eval lm", unit="text", disable=not progress):
            # verbose=False: the "longer than the maximum sequence length" warning is wrong here, texts are windowed
            ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
            if tokenizer.bos_token_id is not None:
                ids = [tokenizer.bos_token_id] + ids
            windowed += len(ids) - 1 > max_tokens
            for start in range(0, max(len(ids) - 1, 0), max_tokens):
                window = torch.tensor([ids[start : start + max_tokens + 1]])
                if window.shape[1] < 2:
                    continue
                logits = model(window[:, :-1]).logits
                loss = torch.nn.functional.cross_entropy(logits[0], window[0, 1:], reduction="sum")
                nll += float(loss)
                count += window.shape[1] - 1
    return {"perplexity": math.exp(nll / count) if count else float("nan"), "tokens": count,
            "texts_windowed": windowed, "context": max_tokens}


def mlm_windows(tokenizer, text: str, max_tokens: int, word_ids_fn=None):
    """(input ids with special tokens, positions of the text's tokens, their word ids or None) per window: the text's
    tokens cut into consecutive pieces that fit the model's ``max_tokens`` with the tokenizer's own specials."""
    # the tokenizer's own specials around the text (verbose=False: no length warning, the text is windowed below)
    enc = tokenizer(text, return_special_tokens_mask=True, verbose=False)
    ids, special = enc["input_ids"], enc["special_tokens_mask"]
    lead = next((i for i, flag in enumerate(special) if not flag), len(ids))
    tail = next((i for i, flag in enumerate(reversed(special)) if not flag), 0)
    before, body, after = ids[:lead], ids[lead : len(ids) - tail], ids[len(ids) - tail :]
    words = list(word_ids_fn(tokenizer, text)) if word_ids_fn is not None else None
    room = max_tokens - len(before) - len(after)
    if room < 1:
        raise ValueError(f"the model holds {max_tokens} tokens: no room for text between its special tokens")
    for start in range(0, len(body), room):
        piece = body[start : start + room]
        positions = np.arange(len(before), len(before) + len(piece))
        yield before + piece + after, positions, (words[start : start + room] if words is not None else None)


def mlm_scores(tokenizer, model, texts: list[str], max_tokens: int, mask_prob: float = 0.15, seed: int = 1,
               pppl_tokens: int = 2000, word_ids_fn=None, progress: bool = False) -> dict[str, float]:
    """Masked-token accuracy (whole words masked together when ``word_ids_fn`` is given) and pseudo-perplexity
    (each token masked alone, over the first ``pppl_tokens`` tokens: it costs one forward pass per token). Texts
    longer than the model's context are scored window by window (``mlm_windows``)."""
    import torch
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    correct = total = windowed = 0
    pppl_nll, pppl_count = 0.0, 0
    with torch.no_grad():
        for text in tqdm(texts, desc="eval lm", unit="text", disable=not progress):
            windows = list(mlm_windows(tokenizer, text, max_tokens, word_ids_fn))
            windowed += len(windows) > 1
            for ids, positions, words in windows:
                if not len(positions):
                    continue
                ids = torch.tensor(ids)
                if words is not None:  # whole-word masking: choose words, mask all their tokens
                    words = np.asarray(words)
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
            "pseudo_perplexity": math.exp(pppl_nll / pppl_count) if pppl_count else float("nan"),
            "texts_windowed": windowed, "context": max_tokens}


def choice_loglikelihoods(tokenizer, model, prompt: str, choices: list[str], max_tokens: int) -> tuple[list[float], bool]:
    """Sum of log p(choice tokens | prompt) for each choice, and whether the prompt had to be cut to fit.

    A prompt longer than the model's context keeps its end (the question follows the vignette); a choice longer
    than the context keeps its start."""
    import torch

    full_prefix = tokenizer(prompt, add_special_tokens=False, verbose=False)["input_ids"]  # cut to fit below
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    scores, cut = [], False
    with torch.no_grad():
        for choice in choices:
            cont = tokenizer(choice, add_special_tokens=False, verbose=False)["input_ids"][: max(max_tokens - len(bos) - 1, 1)]
            keep = max(max_tokens + 1 - len(cont) - len(bos), 1)  # inputs are ids[:-1]: max_tokens of them
            cut |= keep < len(full_prefix)
            prefix = bos + full_prefix[-keep:]
            ids = torch.tensor([prefix + cont])
            logp = torch.log_softmax(model(ids[:, :-1]).logits[0], -1)
            targets = ids[0, len(prefix):]
            scores.append(float(logp[len(prefix) - 1 :].gather(-1, targets[:, None]).sum()))
    return scores, cut


def mcqa_predict(tokenizer, model, examples: list[Example], max_tokens: int, template: str = "問題: {question}\n答え: ",
                 progress: bool = False) -> tuple[list[list[int]], int]:
    """For each question, the k highest-scoring choices, k = how many right answers it has (1 unless the question
    asks for two or three, as IgakuQA's do); and how many prompts were cut to the model's context."""
    from tqdm.auto import tqdm

    predictions, cut_count = [], 0
    for ex in tqdm(examples, desc="eval mcqa", unit="question", disable=not progress):
        scores, cut = choice_loglikelihoods(tokenizer, model, template.format(question=ex.text), ex.choices, max_tokens)
        k = len(ex.answers) if ex.answers else 1
        predictions.append(sorted(int(i) for i in np.argsort(-np.asarray(scores), kind="stable")[:k]))
        cut_count += cut
    return predictions, cut_count
