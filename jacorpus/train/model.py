"""Models: a transformers architecture with size overrides, or a local Hugging Face model to continue training.

Under ZeRO-3 the model is built partitioned (``deepspeed.zero.Init`` through transformers' DeepSpeed integration),
so a model larger than one device's memory never exists whole in one process. When the tokenizer has more tokens
than the model (domain terms added for continued pretraining), embeddings grow and each new row starts as the mean
of the rows of the sub-tokens the model's own tokenizer splits the new term into.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from jacorpus.train.config import ModelSpec


class Zero3Handle:
    """What transformers' DeepSpeed integration asks of a config object (``is_zero3``, ``config``), without needing
    accelerate. transformers keeps only a weak reference: the trainer holds this for the run."""

    def __init__(self, ds_config: dict[str, Any]) -> None:
        self.config = ds_config

    def is_zero3(self) -> bool:
        return True


def arch_defaults(arch: str, tokenizer: Any, seq_len: int) -> dict[str, Any]:
    """Config values that follow from the tokenizer and sequence length; the recipe's ``model.config`` wins."""
    from jacorpus.train.families import family

    return family(arch).defaults(tokenizer, seq_len)


def auto_class(objective: str):
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    return AutoModelForCausalLM if objective == "clm" else AutoModelForMaskedLM


def attention_for(spec: ModelSpec, auto: Any, config: Any) -> str:
    if spec.attention != "auto":
        return spec.attention
    model_cls = auto._model_mapping[type(config)]
    return "sdpa" if getattr(model_cls, "_supports_sdpa", False) else "eager"  # DeBERTa-v2 has no SDPA path


def build_model(spec: ModelSpec, objective: str, tokenizer: Any, seq_len: int, ds_config: dict[str, Any]):
    """Returns (model, zero3 handle or None). Keep the handle alive while the model is in use."""
    import torch
    from transformers import AutoConfig
    from transformers.integrations.deepspeed import set_hf_deepspeed_config

    handle = None
    if ds_config.get("zero_optimization", {}).get("stage", 0) == 3:
        handle = Zero3Handle(ds_config)
        set_hf_deepspeed_config(handle)
    auto = auto_class(objective)
    if spec.init_from:
        config = AutoConfig.from_pretrained(spec.init_from)
        for key, value in spec.config.items():
            setattr(config, key, value)
        model = auto.from_pretrained(spec.init_from, config=config, attn_implementation=attention_for(spec, auto, config), dtype=torch.float32)
    else:
        config = AutoConfig.for_model(spec.arch, **(arch_defaults(spec.arch, tokenizer, seq_len) | spec.config))
        model = auto.from_config(config, attn_implementation=attention_for(spec, auto, config))
    grow_embeddings(model, tokenizer, spec.init_from)
    if objective == "clm":
        model.loss_type = "ForCausalLM"  # what transformers falls back to anyway, minus its warning
    return model, handle


def gathered(params: list[Any]):
    """All of ``params`` whole for the block (rank 0's changes kept) under ZeRO-3; nothing to do otherwise."""
    if any(hasattr(p, "ds_id") for p in params):
        import deepspeed

        return deepspeed.zero.GatheredParameters(params, modifier_rank=0)
    return contextlib.nullcontext()


def grow_embeddings(model: Any, tokenizer: Any, init_from: str | None) -> int:
    """Resize embeddings to the tokenizer; new rows = mean of their sub-token rows. Returns the rows added."""
    import torch

    old, new = model.get_input_embeddings().num_embeddings, len(tokenizer)
    if new <= old:
        return 0
    base = None
    if init_from and any(os.path.exists(os.path.join(init_from, f)) for f in ("tokenizer.json", "tokenizer.model", "vocab.txt", "tokenizer_config.json")):
        from jacorpus.tokenizers.loading import load_tokenizer

        base = load_tokenizer(init_from)
    pieces = []
    for token_id in range(old, new):
        text = tokenizer.decode([token_id])
        ids = base(text, add_special_tokens=False)["input_ids"] if base is not None else []
        pieces.append([i for i in ids if i < old])
    model.resize_token_embeddings(new, mean_resizing=False)
    weights = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight is not weights[0]:
        weights.append(output.weight)
    with gathered(weights), torch.no_grad():
        for weight in weights:
            fallback = weight[:old].mean(dim=0)
            for token_id, ids in zip(range(old, new), pieces):
                weight[token_id] = weight[ids].mean(dim=0) if ids else fallback
    return new - old


def parameter_count(model: Any, embeddings: bool = True) -> int:
    """Parameters (whole sizes even when ZeRO-3 partitioned them), tied ones once."""
    seen, total = set(), 0
    skip = {id(model.get_input_embeddings().weight)} if not embeddings else set()
    for param in model.parameters():
        if id(param) in seen or id(param) in skip:
            continue
        seen.add(id(param))
        total += getattr(param, "ds_numel", param.numel())
    return total
