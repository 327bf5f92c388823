"""The training loop, top to bottom: data, model, DeepSpeed engine, resume, steps, eval, checkpoints, export.

DeepSpeed does the heavy lifting (ZeRO 0-3, precision, gradient accumulation and clipping, checkpoint files); this
file only decides what happens when. A step consumes ``batch.global`` sequences: this rank's micro batches of it go
forward and backward, and DeepSpeed steps the optimizer and the LR schedule on the last one.
"""

from __future__ import annotations

import math
import os
import random
import time
from typing import Any, Callable

import numpy as np

from jacorpus.train.config import OptimSpec, TrainRecipe

EVAL_STREAM = 1 << 31  # seeds eval masks apart from training masks


def lr_factor(optim: OptimSpec, max_steps: int) -> Callable[[int], float]:
    """LR multiplier for optimizer step ``step`` (0-based): linear warmup, then constant, linear or cosine decay."""

    def factor(step: int) -> float:
        if step < optim.warmup_steps:
            return (step + 1) / optim.warmup_steps
        progress = min(1.0, (step - optim.warmup_steps) / max(1, max_steps - optim.warmup_steps))
        if optim.schedule == "constant":
            return 1.0
        decay = 1.0 - progress if optim.schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))
        return optim.min_lr_ratio + (1.0 - optim.min_lr_ratio) * decay

    return factor


def param_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices, none on biases and norm weights (nanoGPT's rule). ZeRO-3 leaves parameters as
    empty placeholders, so their real shape is ``ds_shape``."""
    def is_matrix(p: Any) -> bool:
        return len(getattr(p, "ds_shape", p.shape)) >= 2

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if is_matrix(p)]
    no_decay = [p for p in params if not is_matrix(p)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def run_identity(recipe: TrainRecipe) -> dict[str, Any]:
    """What a checkpoint must share with the recipe resuming it (the schedule, eval and logging may change)."""
    keys = ("model", "tokenizer", "data", "objective", "batch", "seed")
    return {k: v for k, v in recipe.as_dict().items() if k in keys}


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TrainInputError(RuntimeError):
    """A recipe that cannot run as given (another run's output, a tokenizer that does not fit the shards); the
    message names the key to change."""


def build_engine(recipe: TrainRecipe, tokenizer: Any, seq_len: int, world: int):
    """(DeepSpeed engine, ZeRO-3 handle to keep alive or None, DeepSpeed config) for the recipe's model."""
    import deepspeed
    import torch

    from jacorpus.train.distributed import deepspeed_config
    from jacorpus.train.model import build_model

    ds_config = deepspeed_config(recipe, world)
    model, zero3_handle = build_model(recipe.model, recipe.objective.type, tokenizer, seq_len, ds_config)
    if recipe.deepspeed.activation_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x; the older name is deprecated
            model.activation_checkpointing_enable({"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    optim = recipe.optim
    optimizer = torch.optim.AdamW(param_groups(model, optim.weight_decay), lr=optim.lr, betas=optim.betas, eps=optim.eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(optim, recipe.max_steps))
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, lr_scheduler=scheduler, config=ds_config)
    return engine, zero3_handle, ds_config


def train(recipe: TrainRecipe, stop_after: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) the run in ``recipe.output``; export it to ``OUTPUT/final`` when max_steps is reached.
    ``stop_after`` ends the run after that step without a final checkpoint, as if it were killed there."""
    for what, path in (("tokenizer", recipe.tokenizer), ("model.init_from", recipe.model.init_from), ("data.shards", recipe.data.shards)):
        if path is not None and not os.path.isdir(path):
            raise FileNotFoundError(f"{what}: no such folder {path}")
    import warnings

    from jacorpus.train.distributed import init_distributed

    # DeepSpeed's ZeRO-3 still calls the torch.distributed names torch 2.13 deprecates; nothing for a user to do
    warnings.filterwarnings("ignore", message=r".*(all_gather_into_tensor|reduce_scatter_tensor)` is deprecated", category=FutureWarning)
    rank, world = init_distributed()
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    from jacorpus.train import checkpoint
    from jacorpus.train.data import DataCursor, TokenShards, make_collator
    from jacorpus.train.distributed import precision_of
    from jacorpus.train.export import export
    from jacorpus.train.metrics import MetricsLog, device_peak_flops, flops_per_token, model_shape, read_metrics
    from jacorpus.tokenizers.loading import load_tokenizer
    from jacorpus.train.model import parameter_count
    from jacorpus.train.progress import progress_bar

    main = rank == 0
    log = print if main else (lambda *a, **k: None)
    os.makedirs(recipe.output, exist_ok=True)
    seed_everything(recipe.seed)

    # data: memory-mapped token shards, a fixed eval split, a sampler whose position is checkpointed
    tokenizer = load_tokenizer(recipe.tokenizer)
    shards = TokenShards(recipe.data.shards)
    if shards.manifest["vocab_size"] != len(tokenizer):
        raise TrainInputError(f"token shards {recipe.data.shards} were made with a {shards.manifest['vocab_size']}-token "
                              f"vocabulary, the tokenizer has {len(tokenizer)}; use the tokenizer the shards were "
                              "prepared with (tokenizer:) or prepare them again (data.shards:)")
    train_ids, eval_ids = shards.split(recipe.data.eval_fraction)
    cursor = DataCursor(train_ids, recipe.seed)
    collate = make_collator(recipe.objective, shards)

    # model and engine: torch's AdamW and a LambdaLR schedule handed to DeepSpeed
    engine, zero3_handle, ds_config = build_engine(recipe, tokenizer, shards.seq_len, world)
    seed_everything(recipe.seed * 1000 + rank)  # same initial weights everywhere, different dropout per rank

    # resume: the newest intact checkpoint restores model, optimizer, schedule, RNG and data position
    checkpoints = os.path.join(recipe.output, "checkpoints")
    state = checkpoint.resume(engine, checkpoints, log)
    step = state["step"] if state else 0
    if state:
        if state.get("run") != run_identity(recipe):
            raise TrainInputError(f"{recipe.output} holds checkpoints of another run (model, tokenizer, data, objective, "
                               "batch or seed differ); use another --output or remove its checkpoints")
        cursor.load_state_dict(state["data"])
        log(f"resumed from step {step}")
    metrics = MetricsLog(recipe.output, main, recipe.logging.tensorboard)
    metrics.truncate(step)
    if main:
        import yaml

        with open(os.path.join(recipe.output, "recipe.yaml"), "w", encoding="utf-8") as fh:
            yaml.safe_dump(recipe.as_dict(), fh, allow_unicode=True, sort_keys=False)

    layers, hidden = model_shape(engine.module.config)
    step_flops = flops_per_token(parameter_count(engine.module, embeddings=False), layers, hidden, shards.seq_len)
    peak = device_peak_flops(precision_of(ds_config))
    tokens_per_step = recipe.batch.global_ * shards.seq_len

    def save_checkpoint() -> None:  # client state: the step, the sampler's position, what run this is
        client = {"step": step, "data": cursor.state_dict(), "run": run_identity(recipe)}
        checkpoint.save(engine, checkpoints, step, client, recipe.checkpoint.keep)

    def evaluate_now() -> dict[str, Any] | None:
        result = evaluate(engine, shards, eval_ids, collate, recipe, rank, world)
        if result is not None:
            metrics.write({"kind": "eval", "step": step} | result)
            log(f"step {step}: " + "  ".join(f"{k} {v:.4f}" for k, v in result.items()))
        return result

    with progress_bar("training", total=recipe.max_steps, enabled=progress and main) as advance:
        advance(step)
        while step < recipe.max_steps:
            started = time.perf_counter()
            lr = engine.get_lr()[0]
            mean_loss = train_step(engine, shards, collate, cursor.take(recipe.batch.global_), recipe, step, world, rank)
            step += 1
            seconds = time.perf_counter() - started
            record = {"step": step, "loss": mean_loss, "lr": lr, "tokens": step * tokens_per_step,
                      "tokens_per_s": tokens_per_step / seconds, "epoch": cursor.epoch}
            grad_norm = engine.get_global_grad_norm()
            if grad_norm is not None:
                record["grad_norm"] = float(grad_norm)
            if peak:
                record["mfu"] = step_flops * tokens_per_step / seconds / (peak * world)
            metrics.write(record)
            advance(1, loss=record["loss"], lr=lr)
            if step % recipe.logging.console_every == 0 and not progress:
                log(f"step {step}: loss {record['loss']:.4f}  lr {lr:.3g}  {record['tokens_per_s']:.0f} tok/s")
            if recipe.eval.every and step % recipe.eval.every == 0 and step < recipe.max_steps:
                evaluate_now()
            if recipe.checkpoint.every and step % recipe.checkpoint.every == 0 and step < recipe.max_steps:
                save_checkpoint()
            if stop_after is not None and step >= stop_after and step < recipe.max_steps:
                metrics.close()
                engine.destroy()
                unset_hf_deepspeed_config()
                return {"step": step, "stopped": True, "output": recipe.output}

    evaluation = evaluate_now()
    tag = checkpoint.tag_for(step)
    if not os.path.exists(os.path.join(checkpoints, tag, "complete.json")):
        save_checkpoint()
    summary = {"step": step, "tokens": step * tokens_per_step, "eval": evaluation, "output": recipe.output}
    trained = [m for m in read_metrics(recipe.output) if m.get("kind") != "eval"] if main else []
    summary["final_loss"] = trained[-1]["loss"] if trained else None
    summary["export"] = export(engine, recipe, tokenizer, shards, summary, zero3=zero3_handle is not None)
    metrics.close()
    engine.destroy()
    unset_hf_deepspeed_config()
    del zero3_handle
    return summary


def train_step(engine: Any, shards: Any, collate: Any, global_ids: np.ndarray, recipe: TrainRecipe, step: int, world: int, rank: int) -> float:
    """One optimizer step over a global batch: this rank's micro batches forward and backward; DeepSpeed steps the
    optimizer and schedule after the last. Returns the loss averaged over micro batches and ranks."""
    import torch
    import torch.distributed as dist

    from jacorpus.train.data import generator_for, micro_batches

    losses = []
    for index, ids in micro_batches(global_ids, recipe.batch.micro, world, rank):
        batch = collate(*shards.read(ids), generator_for(recipe.seed, step, index))
        loss = engine(**{k: v.to(engine.device) for k, v in batch.items()}).loss
        engine.backward(loss)
        engine.step()
        losses.append(loss.detach().float())
    mean_loss = torch.stack(losses).mean()
    if world > 1:  # a collective costs a thread hand-off even alone
        dist.all_reduce(mean_loss)
    return mean_loss.item() / world


def evaluate(engine: Any, shards: Any, eval_ids: np.ndarray, collate: Any, recipe: TrainRecipe, rank: int, world: int) -> dict[str, Any] | None:
    """CLM: eval loss and perplexity. MLM: eval loss and masked-token accuracy. Same batches and masks every time."""
    import torch
    import torch.distributed as dist

    from jacorpus.train.data import generator_for

    micro = recipe.batch.micro
    batches = min(recipe.eval.max_batches, len(eval_ids) // (micro * world))
    if batches == 0:
        return None
    from jacorpus.train.distributed import comm_device

    totals = torch.zeros(3, dtype=torch.float64, device=comm_device())  # loss x tokens, tokens, correct predictions
    engine.eval()
    with torch.no_grad():
        for b in range(batches):
            index = b * world + rank
            batch = collate(*shards.read(eval_ids[index * micro : (index + 1) * micro]), generator_for(recipe.seed, EVAL_STREAM, index))
            out = engine(**{k: v.to(engine.device) for k, v in batch.items()})
            labels = batch["labels"]
            if recipe.objective.type == "clm":
                count = int((labels[:, 1:] != -100).sum())
                correct = 0
            else:
                masked = labels != -100
                count = int(masked.sum())
                correct = int((out.logits.argmax(-1).cpu()[masked] == labels[masked]).sum())
            totals += torch.tensor([out.loss.float().item() * count, count, correct], dtype=torch.float64, device=totals.device)
    engine.train()
    dist.all_reduce(totals)
    loss = (totals[0] / totals[1]).item()
    if recipe.objective.type == "clm":
        return {"eval_loss": loss, "eval_ppl": math.exp(min(loss, 50.0))}
    return {"eval_loss": loss, "eval_accuracy": (totals[2] / totals[1]).item()}
