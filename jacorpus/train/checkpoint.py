"""DeepSpeed checkpoints that a resume can trust: integrity records, RNG per rank, newest good one wins.

``OUTPUT/checkpoints/step-00000010/`` holds DeepSpeed's files plus ``rng-rank00000.pt`` (Python, numpy, torch RNG
of that rank), ``integrity-rank00000.json`` (size and xxh3 hash of the files that rank owns) and, written last by
rank 0 once every rank finished, ``complete.json``. A checkpoint without ``complete.json`` (killed while saving) or
whose files no longer match their records (truncated, corrupted), or whose ``complete.json`` itself is damaged, is
skipped and the previous one is used. Every record and marker is fsynced before the rename that commits it.
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
import shutil
from typing import Any

import numpy as np

from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text

OWNER = re.compile(r"(?:zero_pp_rank_|rng-rank)0*(\d+)")


def tag_for(step: int) -> str:
    return f"step-{step:08d}"


def file_hash(path: str) -> str:
    import xxhash

    digest = xxhash.xxh3_64()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def owned_files(tag_dir: str, rank: int) -> list[str]:
    """Files of the checkpoint this rank vouches for: its ZeRO partitions and RNG, plus the shared rest on rank 0."""
    names = []
    for name in sorted(os.listdir(tag_dir)):
        if name.startswith(("integrity-", "complete.json")) or not os.path.isfile(os.path.join(tag_dir, name)):
            continue
        match = OWNER.search(name)
        if (int(match.group(1)) if match else 0) == rank:
            names.append(name)
    return names


def rng_state() -> dict[str, Any]:
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(engine: Any, directory: str, step: int, client_state: dict[str, Any], keep: int) -> str:
    """Save a checkpoint of every rank; returns its tag. All ranks call this."""
    import torch
    import torch.distributed as dist

    rank, world = dist.get_rank(), dist.get_world_size()
    tag = tag_for(step)
    tag_dir = os.path.join(directory, tag)
    if rank == 0 and os.path.isdir(tag_dir):  # a leftover of a run killed while saving this very step
        shutil.rmtree(tag_dir)
    dist.barrier()
    engine.save_checkpoint(directory, tag=tag, client_state=client_state)
    rng_path = os.path.join(tag_dir, f"rng-rank{rank:05d}.pt")
    with atomic_output(rng_path) as tmp:
        torch.save(rng_state(), tmp)
    dist.barrier()  # every rank's files are written before anyone records what it owns
    records = {name: [os.path.getsize(os.path.join(tag_dir, name)), file_hash(os.path.join(tag_dir, name))] for name in owned_files(tag_dir, rank)}
    atomic_write_text(os.path.join(tag_dir, f"integrity-rank{rank:05d}.json"), json.dumps(records))
    dist.barrier()
    if rank == 0:
        atomic_write_text(os.path.join(tag_dir, "complete.json"), json.dumps({"step": step, "world_size": world}))
        for old in sorted(glob.glob(os.path.join(glob.escape(directory), "step-*")))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return tag


def intact(tag_dir: str, rank: int, world: int) -> str | None:
    """None when this rank's part of the checkpoint is whole, else why not."""
    marker = os.path.join(tag_dir, "complete.json")
    if not os.path.exists(marker):
        return "not completed (the run stopped while saving)"
    try:
        with open(marker, encoding="utf-8") as fh:
            saved_world = int(json.load(fh)["world_size"])
    except (OSError, ValueError, KeyError, TypeError):  # a damaged marker: this checkpoint cannot be vouched for
        return "complete.json is unreadable or damaged"
    if saved_world != world:
        raise RuntimeError(f"{tag_dir} was saved by {saved_world} processes; resume with the same number ({world} now)")
    try:
        with open(os.path.join(tag_dir, f"integrity-rank{rank:05d}.json"), encoding="utf-8") as fh:
            records = json.load(fh)
    except (OSError, ValueError):
        return "integrity record missing or unreadable"
    for name, (size, digest) in records.items():
        path = os.path.join(tag_dir, name)
        if not os.path.exists(path) or os.path.getsize(path) != size or file_hash(path) != digest:
            return f"{name} is missing, truncated or corrupted"
    return None


def _all_agree(ok: bool) -> bool:
    import torch
    import torch.distributed as dist

    from jacorpus.train.distributed import comm_device

    flag = torch.tensor([1 if ok else 0], dtype=torch.int64, device=comm_device())
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def resume(engine: Any, directory: str, log: Any = print) -> dict[str, Any] | None:
    """Load the newest intact checkpoint (model, optimizer, scheduler, RNG); returns its client state, or None."""
    import torch
    import torch.distributed as dist

    rank, world = dist.get_rank(), dist.get_world_size()
    for tag_dir in sorted(glob.glob(os.path.join(glob.escape(directory), "step-*")), reverse=True):
        problem = intact(tag_dir, rank, world)
        if not _all_agree(problem is None):
            log(f"skipping checkpoint {os.path.basename(tag_dir)}: {problem or 'another rank found it damaged'}")
            continue
        try:
            path, client_state = engine.load_checkpoint(directory, tag=os.path.basename(tag_dir))
            ok = path is not None
        except Exception as exc:  # noqa: BLE001 - a damaged file that passed the records: fall back, say why
            log(f"skipping checkpoint {os.path.basename(tag_dir)}: loading failed ({exc})")
            ok = False
        if not _all_agree(ok):
            continue
        set_rng_state(torch.load(os.path.join(tag_dir, f"rng-rank{rank:05d}.pt"), weights_only=False))
        return client_state
    return None
