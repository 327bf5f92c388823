"""Export to ``OUTPUT/final``: safetensors weights, the tokenizer and a model card, loadable with
``AutoModelForCausalLM`` / ``AutoModelForMaskedLM`` + ``AutoTokenizer``."""

from __future__ import annotations

import os
import shutil
from typing import Any

import yaml

from jacorpus.foundation.local_paths import looks_like_a_local_path, scrub_paths
from jacorpus.train.config import TrainRecipe


def export(engine: Any, recipe: TrainRecipe, tokenizer: Any, shards: Any, summary: dict[str, Any], zero3: bool) -> str:
    """All ranks call this (ZeRO-3 gathers the partitions layer by layer onto rank 0, which writes)."""
    import torch.distributed as dist

    final = os.path.join(recipe.output, "final")
    state = engine._zero3_consolidated_16bit_state_dict() if zero3 else None  # a collective: every rank takes part
    if dist.get_rank() == 0:
        if state is None:
            state = engine.module.state_dict()
        os.makedirs(final, exist_ok=True)
        begin = set_document_tokens(engine.module, shards.special_ids, recipe.objective.type)
        engine.module.save_pretrained(final, state_dict=state)
        tokenizer.model_max_length = shards.seq_len  # the context it was trained with: longer input is truncated
        if begin is not None:
            summary["prompt_encoding"] = causal_prompt_encoding(tokenizer, begin)
        tokenizer.save_pretrained(final)
        copy_tokenizer_extras(recipe.tokenizer, final)
        with open(os.path.join(final, "README.md"), "w", encoding="utf-8") as fh:
            fh.write(model_card(engine.module, recipe, tokenizer, shards, summary))
    dist.barrier()
    return final


def set_document_tokens(model: Any, special_ids: dict[str, int | None], objective: str) -> int | None:
    """config.json and generation_config.json name the ids the token shards put at document starts and ends, so
    ``generate`` starts from what training saw before a document and stops where documents ended. Returns the id
    that precedes a document (None for MLM)."""
    if objective != "clm":
        return None
    end = special_ids["end"]
    # without a begin token, a packed document follows the previous one's end token (GPT-2's <|endoftext|> style)
    begin = special_ids["begin"] if special_ids.get("begin") is not None else end
    pad = special_ids.get("pad") if special_ids.get("pad") is not None else end
    for config in (model.config, getattr(model, "generation_config", None)):
        if config is not None:
            config.bos_token_id, config.eos_token_id, config.pad_token_id = begin, end, pad
    return begin


def causal_prompt_encoding(tokenizer: Any, begin: int) -> str:
    """Make ``tokenizer(prompt)`` give ``[begin] + prompt`` (what precedes a document in the shards) and never
    append the end-of-document token, so ``generate(**tokenizer(prompt))`` continues the prompt. Returns how."""
    token = tokenizer.convert_ids_to_tokens(begin)
    tokenizer.bos_token = token
    if getattr(tokenizer, "is_fast", False):
        from tokenizers import processors

        tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{token} $A", pair=f"{token} $A $B:1", special_tokens=[(token, begin)])
        return f"{token} + text (post-processor)"
    from jacorpus.tokenizers.loading import REMOTE_CLASSES

    if type(tokenizer).__name__ in REMOTE_CLASSES:  # our classes persist the pattern (tokenizers/hf_tokenizer.py)
        tokenizer.special_tokens_pattern = tokenizer.init_kwargs["special_tokens_pattern"] = "bos"
        return f"{token} + text (special_tokens_pattern bos)"
    # another slow class (e.g. BertJapaneseTokenizer itself) may fix [CLS] text [SEP] in its constructor
    return f"as {type(tokenizer).__name__} does (pass add_special_tokens=False and prepend the bos id)"


def copy_tokenizer_extras(tokenizer_dir: str, final: str) -> None:
    """Files of the tokenizer folder that save_pretrained does not write (Sudachi user dictionary, word-id settings,
    jacorpus's tokenizer code for trust_remote_code), so the exported folder tokenizes exactly like training did."""
    for name in os.listdir(tokenizer_dir):
        source, target = os.path.join(tokenizer_dir, name), os.path.join(final, name)
        if name != "README.md" and os.path.isfile(source) and not os.path.exists(target):
            shutil.copy2(source, target)


def shown_path(path: str) -> str:
    """A local folder as the card shows it: its last two names (``shards/demo``), never the machine's absolute path
    (the card is uploaded with the model); Hub ids and URLs as they are."""
    if not looks_like_a_local_path(path):
        return path
    names = [part for part in path.split("/") if part not in ("", ".", "..")]
    return "/".join(names[-2:])


def model_card(model: Any, recipe: TrainRecipe, tokenizer: Any, shards: Any, summary: dict[str, Any]) -> str:
    from jacorpus.train.model import parameter_count

    manifest = shards.manifest
    clm = recipe.objective.type == "clm"
    auto = "AutoModelForCausalLM" if clm else "AutoModelForMaskedLM"
    front = {"language": ["ja"], "library_name": "transformers", "pipeline_tag": "text-generation" if clm else "fill-mask",
             "tags": ["jacorpus", model.config.model_type, recipe.objective.type]}
    sources = "\n".join(
        f"| {s['name']} | `{shown_path(s['corpus'])}` | {s['weight']:g} | {s['documents']:,} | {s['sequences']:,} | {s['tokens']:,} |"
        for s in manifest["sources"]
    )
    objective = "causal language modelling" if clm else (
        f"masked language modelling (mask probability {recipe.objective.mask_prob:g}"
        + (", whole-word masking" if recipe.objective.wwm else "") + ")")
    evaluation = summary.get("eval") or {}
    metrics = "\n".join(f"| {k} | {v:.4f} |" for k, v in evaluation.items())
    if summary.get("final_loss") is not None:
        metrics = f"| train_loss (last step) | {summary['final_loss']:.4f} |\n" + metrics
    remote = ", trust_remote_code=True" if os.path.exists(os.path.join(recipe.tokenizer, "tokenization_jacorpus.py")) else ""
    prompt = f" A prompt encodes as {summary['prompt_encoding']}." if summary.get("prompt_encoding") else ""
    origin = f"continued pretraining of `{shown_path(recipe.model.init_from)}`" if recipe.model.init_from else f"`{recipe.model.arch}` trained from scratch"
    return f"""---
{yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip()}
---

# {recipe.name or os.path.basename(recipe.output.rstrip('/'))}

A {model.config.model_type} model ({parameter_count(model):,} parameters), {origin}, objective: {objective}.
Trained with the jacorpus DeepSpeed trainer for {summary['step']:,} steps ({summary['tokens']:,} tokens,
batch {recipe.batch.global_} x {manifest['seq_len']} tokens, ZeRO stage {recipe.deepspeed.zero_stage}, {recipe.deepspeed.precision}).

## Data

Token shards `{shown_path(recipe.data.shards)}` ({manifest['sequences']:,} sequences of {manifest['seq_len']} tokens;
{recipe.data.eval_fraction:g} of each chunk held out for evaluation).

| source | corpus | weight | documents | sequences | tokens |
|---|---|---|---|---|---|
{sources}

## Tokenizer

`{shown_path(recipe.tokenizer)}`: {type(tokenizer).__name__}, {len(tokenizer):,} tokens; context {manifest['seq_len']} tokens.{prompt}

## Final metrics

| metric | value |
|---|---|
{metrics}

## Use

```python
from transformers import AutoTokenizer, {auto}
tokenizer = AutoTokenizer.from_pretrained("PATH/TO/final"{remote})
model = {auto}.from_pretrained("PATH/TO/final")
```

## Recipe

```yaml
{yaml.safe_dump(scrub_paths(recipe.as_dict(), shown_path), sort_keys=False, allow_unicode=True).strip()}
```

## Limitations

Trained on the corpora listed above only; it reproduces their style, errors and biases. Check licenses of the
sources before publishing the weights.
"""
