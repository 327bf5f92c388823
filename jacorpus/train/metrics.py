"""Per-step metrics (``OUTPUT/metrics.jsonl``, optional TensorBoard) and the model-FLOPs-utilization estimate."""

from __future__ import annotations

import json
import os
from typing import Any

from jacorpus.foundation.atomic_files import atomic_write_text

# Dense bf16/fp16 tensor-core peaks (FLOP/s) of common accelerators; MFU is reported only where the peak is known.
PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12, "A10": 125e12, "V100": 125e12}


def flops_per_token(non_embedding_params: int, n_layer: int, d_model: int, seq_len: int) -> float:
    """Training FLOPs per token: 6N for the matmuls (forward + backward) + 12 L d T for attention (PaLM, App. B)."""
    return 6.0 * non_embedding_params + 12.0 * n_layer * d_model * seq_len


def device_peak_flops(precision: str) -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    peak = next((flops for key, flops in PEAK_FLOPS.items() if key in name), None)
    if peak is None:
        return None
    return peak if precision in ("bf16", "fp16") else peak / 2  # fp32 matmuls run as TF32 at about half the rate


def model_shape(config: Any) -> tuple[int, int]:
    """(layers, hidden size) of a transformers config, whatever the family calls them."""
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer")
    hidden = getattr(config, "hidden_size", None) or getattr(config, "n_embd")
    return int(layers), int(hidden)


class MetricsLog:
    """Appends one JSON object per line. On resume, lines past the checkpoint's step are dropped first, so the file
    of a resumed run reads like the file of an uninterrupted one."""

    def __init__(self, output: str, enabled: bool, tensorboard: bool = False) -> None:
        self.path = os.path.join(output, "metrics.jsonl")
        self.enabled = enabled
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise RuntimeError("logging.tensorboard needs the tensorboard package: pip install tensorboard") from exc
            self.writer = SummaryWriter(os.path.join(output, "tensorboard"))

    def truncate(self, step: int) -> None:
        if not self.enabled or not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8") as fh:
            kept = [line for line in fh if line.strip() and json.loads(line)["step"] <= step]
        atomic_write_text(self.path, "".join(kept))

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.writer is not None:
            prefix = "eval/" if record.get("kind") == "eval" else "train/"
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.writer.add_scalar(prefix + key, value, record["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(output: str) -> list[dict[str, Any]]:
    path = os.path.join(output, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
