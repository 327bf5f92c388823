"""Training recipes: one typed section per component, validated by pydantic, errors naming the key and its line.

Shape (keys are the contract)::

    model: {arch: gpt2, config: {n_layer: 2, n_embd: 64, n_head: 2}}   # or {init_from: LOCAL_HF_DIR}
    tokenizer: TOKDIR
    data: {shards: TOKEN_SHARDS_DIR, eval_fraction: 0.05}
    objective: {type: clm}            # or {type: mlm, mask_prob: 0.15, wwm: true}
    optim: {lr: 1.0e-3, warmup_steps: 5, schedule: cosine, weight_decay: 0.01}
    batch: {micro: 4, global: 8}
    deepspeed: {zero_stage: 1, precision: fp32}   # or {config: ds.json}
    checkpoint: {every: 10}
    eval: {every: 10}
    max_steps: 20
    seed: 1
    output: runs/tiny

Relative paths (tokenizer, data.shards, model.init_from, deepspeed.config, output) are taken from the recipe's folder.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jacorpus.foundation.recipe_yaml import RecipeError, raise_recipe_errors, read_yaml_mapping, validation_errors

class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ModelSpec(Section):
    arch: str | None = None  # a registered model family (jacorpus.train.families): gpt2, roberta, deberta-v2, llama
    config: dict[str, Any] = Field(default_factory=dict)  # transformers config overrides (sizes, dropout...)
    init_from: str | None = None  # a local Hugging Face model folder, for continued pretraining
    attention: Literal["auto", "sdpa", "eager", "flash_attention_2"] = "auto"  # auto: SDPA where the model has it

    @model_validator(mode="after")
    def arch_or_init_from(self) -> "ModelSpec":
        if (self.arch is None) == (self.init_from is None):
            raise ValueError("give exactly one of model.arch (a new model) or model.init_from (a local model folder)")
        if self.arch is not None:
            from jacorpus.train.families import family

            family(self.arch)  # an unknown arch is an error naming the known ones
        return self


class DataSpec(Section):
    shards: str
    eval_fraction: float = Field(0.05, ge=0.0, lt=0.5)


class ObjectiveSpec(Section):
    type: Literal["clm", "mlm"] = "clm"
    mask_prob: float = Field(0.15, gt=0.0, lt=1.0)
    wwm: bool = False  # whole-word masking: needs token shards prepared with --wwm


class OptimSpec(Section):
    lr: float = Field(1e-3, gt=0)
    warmup_steps: int = Field(0, ge=0)
    schedule: Literal["constant", "linear", "cosine"] = "cosine"
    min_lr_ratio: float = Field(0.1, ge=0.0, le=1.0)  # floor of the decay, as a fraction of lr
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8


class BatchSpec(Section):
    micro: int = Field(gt=0)  # sequences per process per forward pass
    global_: int = Field(alias="global", gt=0)  # sequences per optimizer step, all processes together

    @model_validator(mode="after")
    def global_is_a_multiple(self) -> "BatchSpec":
        if self.global_ % self.micro:
            raise ValueError(f"global ({self.global_}) must be a multiple of micro ({self.micro})")
        return self


class DeepSpeedSpec(Section):
    zero_stage: Literal[0, 1, 2, 3] = 0
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    grad_clip: float = Field(1.0, ge=0)  # 0 turns clipping off
    activation_checkpointing: bool = False
    offload_optimizer: bool = False  # ZeRO-Offload of optimizer states to CPU memory
    config: str | None = None  # a DeepSpeed JSON; batch sizes, clipping and precision above still apply


class CheckpointSpec(Section):
    every: int = Field(0, ge=0)  # 0: only at the end
    keep: int = Field(2, ge=1)  # newest checkpoints kept; older ones are removed


class EvalSpec(Section):
    every: int = Field(0, ge=0)  # 0: only at the end
    max_batches: int = Field(20, gt=0)  # micro batches per process


class LoggingSpec(Section):
    tensorboard: bool = False
    console_every: int = Field(10, gt=0)


class TrainRecipe(Section):
    name: str | None = None
    model: ModelSpec
    tokenizer: str
    data: DataSpec
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    optim: OptimSpec = Field(default_factory=OptimSpec)
    batch: BatchSpec
    deepspeed: DeepSpeedSpec = Field(default_factory=DeepSpeedSpec)
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
    eval: EvalSpec = Field(default_factory=EvalSpec)
    logging: LoggingSpec = Field(default_factory=LoggingSpec)
    max_steps: int = Field(gt=0)
    seed: int = 1
    output: str

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def accumulation_steps(self, world_size: int) -> int:
        per_pass = self.batch.micro * world_size
        if self.batch.global_ % per_pass:
            raise RecipeError(
                f"batch.global ({self.batch.global_}) must be a multiple of batch.micro x processes "
                f"({self.batch.micro} x {world_size})"
            )
        return self.batch.global_ // per_pass


PATH_KEYS = (("tokenizer",), ("data", "shards"), ("model", "init_from"), ("deepspeed", "config"), ("output",))


def resolve_paths(data: dict[str, Any], base_dir: str) -> dict[str, Any]:
    """Paths in the YAML are relative to the recipe's folder; make them absolute."""
    for keys in PATH_KEYS:
        node = data
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
            path = os.path.expanduser(node[keys[-1]])
            node[keys[-1]] = path if os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))
    return data


def parse_train_recipe(text: str, where: str = "<recipe>", base_dir: str = ".", overrides: dict[str, Any] | None = None) -> TrainRecipe:
    """Validate a training recipe. ``overrides`` maps dotted keys ("data.shards", "max_steps") to values."""
    root, data = read_yaml_mapping(text, where, "a training recipe is a YAML mapping (model, tokenizer, data, batch, ...)")
    data = resolve_paths(data, base_dir)
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    try:
        return TrainRecipe.model_validate(data)
    except ValidationError as exc:
        raise_recipe_errors(where, root, validation_errors(exc))
        raise  # unreachable: raise_recipe_errors always raises


def load_train_recipe(path: str, overrides: dict[str, Any] | None = None) -> TrainRecipe:
    if not os.path.exists(path):
        raise RecipeError(f"training recipe not found: {path}")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return parse_train_recipe(text, where=path, base_dir=os.path.dirname(os.path.abspath(path)), overrides=overrides)
