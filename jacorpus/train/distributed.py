"""Process-group setup that works the same under the ``deepspeed`` launcher, ``torchrun`` and plain ``python``,
and the DeepSpeed config built from a recipe."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from jacorpus.train.config import TrainRecipe


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_launch_env() -> None:
    """Plain ``python``: act as rank 0 of 1 (DeepSpeed otherwise looks for MPI). Launchers set these themselves."""
    if "RANK" not in os.environ:
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
    os.environ.setdefault("LOCAL_RANK", "0")
    if "DS_ACCELERATOR" not in os.environ:
        import torch

        if not torch.cuda.is_available():
            os.environ["DS_ACCELERATOR"] = "cpu"


def init_distributed() -> tuple[int, int]:
    """(rank, world size), the process group started once per process (tests train several times in one)."""
    ensure_launch_env()
    import logging

    import deepspeed
    import torch.distributed as dist

    deepspeed.utils.logger.setLevel(logging.WARNING)  # DeepSpeed logs every config key at INFO
    if not dist.is_initialized():
        deepspeed.init_distributed(verbose=False)
    from deepspeed.accelerator import get_accelerator

    if get_accelerator().device_name() == "cuda":
        get_accelerator().set_device(int(os.environ["LOCAL_RANK"]))
    return dist.get_rank(), dist.get_world_size()


def deepspeed_config(recipe: TrainRecipe, world_size: int) -> dict[str, Any]:
    """The DeepSpeed config: the recipe's JSON (if any) with the recipe's batch, ZeRO, precision and clipping."""
    spec = recipe.deepspeed
    config: dict[str, Any] = {}
    if spec.config:
        with open(spec.config, encoding="utf-8") as fh:
            config = json.load(fh)
        config.pop("optimizer", None)  # the trainer passes torch's AdamW in (no JIT-built fused Adam)
        config.pop("scheduler", None)
    config.update(
        train_micro_batch_size_per_gpu=recipe.batch.micro,
        gradient_accumulation_steps=recipe.accumulation_steps(world_size),
        train_batch_size=recipe.batch.global_,
        gradient_clipping=spec.grad_clip,
        steps_per_print=1 << 30,
        wall_clock_breakdown=False,
        zero_allow_untested_optimizer=True,
        zero_force_ds_cpu_optimizer=False,
    )
    zero = config.setdefault("zero_optimization", {})
    if not spec.config or "stage" not in zero:
        zero["stage"] = spec.zero_stage
    if spec.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": False}
    if not spec.config or not any(k in config for k in ("bf16", "fp16")):
        if spec.precision == "bf16":
            config["bf16"] = {"enabled": True}
        elif spec.precision == "fp16":
            config["fp16"] = {"enabled": True, "loss_scale": 0, "initial_scale_power": 16}
    return config


def precision_of(config: dict[str, Any]) -> str:
    if config.get("bf16", {}).get("enabled"):
        return "bf16"
    return "fp16" if config.get("fp16", {}).get("enabled") else "fp32"


def comm_device():
    """Where tensors for collectives live: the accelerator (NCCL needs CUDA tensors), or the CPU."""
    import torch
    from deepspeed.accelerator import get_accelerator

    return torch.device(get_accelerator().current_device_name())
