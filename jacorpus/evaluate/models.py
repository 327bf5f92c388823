"""Loading a model folder for evaluation: its tokenizer through jacorpus's one loader (with its trust policy), the
model's own position limit, and the checks that make a mismatch one clear error instead of an IndexError deep in
torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jacorpus.tokenizers.loading import load_tokenizer
from jacorpus.train.families import is_causal, position_limit


class EvalInputError(ValueError):
    """A model, tokenizer or data folder that evaluation cannot use; the message names what to change."""


@dataclass
class EvalModel:
    tokenizer: Any
    config: Any
    causal: bool
    max_tokens: int  # tokens one sequence may hold, special tokens included


def model_max_tokens(config: Any, tokenizer: Any) -> int:
    """The model's position limit (n_positions / max_position_embeddings, RoBERTa's padding offset removed); the
    tokenizer's model_max_length when it is smaller and set."""
    limit = position_limit(config)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 1 << 40:
        limit = min(limit, tok_limit) if limit else tok_limit
    if not limit:
        raise EvalInputError("the model's config gives no position limit (n_positions / max_position_embeddings)")
    return int(limit)


def check_vocabulary(tokenizer: Any, config: Any, model_dir: str) -> None:
    vocab = getattr(config, "vocab_size", None)
    if vocab is not None and len(tokenizer) > vocab:
        raise EvalInputError(f"{model_dir}: the tokenizer has {len(tokenizer)} tokens but the model's embedding has "
                             f"{vocab} rows; evaluate with the tokenizer the model was trained with")


def open_model(model_dir: str, trust_remote_code: bool | None = None) -> EvalModel:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_dir)
    tokenizer = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    check_vocabulary(tokenizer, config, model_dir)
    return EvalModel(tokenizer, config, is_causal(config), model_max_tokens(config, tokenizer))


def load_lm(model_dir: str, trust_remote_code: bool | None = None) -> tuple[EvalModel, Any]:
    """(EvalModel, the causal or masked LM in eval mode)."""
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    info = open_model(model_dir, trust_remote_code)
    model = (AutoModelForCausalLM if info.causal else AutoModelForMaskedLM).from_pretrained(model_dir)
    model.eval()
    return info, model
