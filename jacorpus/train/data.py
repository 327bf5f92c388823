"""Reading token shards: memory-mapped sequences, train/eval split, a resumable sampler and the batch collators.

Every sequence has a flat number (chunks in manifest order). The eval split is the tail of each chunk (contiguous,
so few documents straddle train and eval). Training draws sequences in a seeded permutation per epoch; a source's
mixing weight repeats its sequences (weight 10: ten times per epoch; 0.5: a fixed half). The sampler's position
(epoch, offset) is saved in checkpoints, and masking randomness is derived from (seed, step, micro-batch index), so
a resumed run sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np


class TokenShards:
    """The sequences of a token-shard folder (see ``prepare.py``), memory-mapped."""

    def __init__(self, directory: str) -> None:
        path = os.path.join(directory, "manifest.json")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no token shards at {directory} (manifest.json missing): run `jacorpus train prepare`")
        with open(path, encoding="utf-8") as fh:
            self.manifest: dict[str, Any] = json.load(fh)
        self.seq_len: int = self.manifest["seq_len"]
        self.special_ids: dict[str, int | None] = self.manifest["special_ids"]
        chunks = self.manifest["chunks"]
        load = lambda name, kind: np.load(os.path.join(directory, "chunks", f"{name}.{kind}.npy"), mmap_mode="r")  # noqa: E731
        self.tokens = [load(c["name"], "tokens") for c in chunks]
        self.words = [load(c["name"], "words") for c in chunks] if self.manifest["wwm"] else None
        self.starts = np.cumsum([0] + [c["sequences"] for c in chunks])
        self.chunk_source = np.array([c["source"] for c in chunks], dtype=np.int64)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def read(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Token rows (int64) and word-start rows (uint8, or None) of sequences ``ids``."""
        chunk = np.searchsorted(self.starts, ids, side="right") - 1
        rows = ids - self.starts[chunk]
        tokens = np.stack([self.tokens[c][r] for c, r in zip(chunk, rows)]).astype(np.int64)
        words = np.stack([self.words[c][r] for c, r in zip(chunk, rows)]) if self.words is not None else None
        return tokens, words

    def split(self, eval_fraction: float) -> tuple[np.ndarray, np.ndarray]:
        """(train ids with mixing weights applied, eval ids): eval is the last ``eval_fraction`` of each chunk."""
        weights = [s["weight"] for s in self.manifest["sources"]]
        train, evals = [], []
        for i, (start, end) in enumerate(zip(self.starts[:-1], self.starts[1:])):
            n_eval = math.ceil((end - start) * eval_fraction) if eval_fraction > 0 and end - start > 1 else 0
            ids = np.arange(start, end - n_eval, dtype=np.int64)
            evals.append(np.arange(end - n_eval, end, dtype=np.int64))
            weight = weights[self.chunk_source[i]]
            whole, part = int(weight), weight - int(weight)
            train.extend([ids] * whole)
            if part > 0:  # a fixed, evenly spread subset for the fractional part of the weight
                train.append(ids[np.linspace(0, len(ids), int(round(part * len(ids))), endpoint=False).astype(np.int64)])
        empty = np.zeros(0, dtype=np.int64)
        return (np.concatenate(train) if train else empty), (np.concatenate(evals) if evals else empty)


class DataCursor:
    """Hands out training sequence ids in a seeded permutation per epoch; its state is (epoch, offset)."""

    def __init__(self, ids: np.ndarray, seed: int) -> None:
        if len(ids) == 0:
            raise ValueError("no training sequences: the token shards are empty or the eval fraction takes them all")
        self.ids, self.seed = ids, seed
        self.epoch = self.offset = 0
        self._order: np.ndarray | None = None

    def _permutation(self) -> np.ndarray:
        if self._order is None:
            self._order = self.ids[np.random.default_rng([self.seed, self.epoch]).permutation(len(self.ids))]
        return self._order

    def take(self, n: int) -> np.ndarray:
        out = []
        while n > 0:
            order = self._permutation()
            part = order[self.offset : self.offset + n]
            out.append(part)
            n -= len(part)
            self.offset += len(part)
            if self.offset == len(order):
                self.epoch, self.offset, self._order = self.epoch + 1, 0, None
        return np.concatenate(out)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset, "size": len(self.ids)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state["size"] != len(self.ids):
            raise ValueError(f"the checkpoint's data had {state['size']} training sequences, these shards {len(self.ids)}")
        self.epoch, self.offset, self._order = state["epoch"], state["offset"], None


def micro_batches(global_ids: np.ndarray, micro: int, world: int, rank: int) -> list[tuple[int, np.ndarray]]:
    """This rank's micro batches of a global batch, with their index in the global batch (for seeding)."""
    accum = len(global_ids) // (micro * world)
    return [(k * world + rank, global_ids[(k * world + rank) * micro : (k * world + rank + 1) * micro]) for k in range(accum)]


def generator_for(*key: int):
    """A torch generator seeded from a tuple (seed, step, batch index): the same batch gets the same masks."""
    import torch

    return torch.Generator().manual_seed(int(np.random.SeedSequence([abs(k) for k in key]).generate_state(1)[0]))


class CLMCollator:
    """Causal LM: labels are the inputs (the model shifts them)."""

    def __call__(self, tokens: np.ndarray, words: np.ndarray | None, generator) -> dict[str, Any]:
        import torch

        ids = torch.from_numpy(tokens)
        return {"input_ids": ids, "labels": ids.clone()}


class MLMCollator:
    """Masked LM, BERT-style 80/10/10; with ``wwm`` every token of a chosen word is masked together."""

    def __init__(self, special_ids: dict[str, int | None], vocab_size: int, mask_prob: float = 0.15, wwm: bool = False) -> None:
        import torch

        self.mask_id, self.vocab_size, self.mask_prob, self.wwm = special_ids["mask"], vocab_size, mask_prob, wwm
        names = ("bos", "eos", "cls", "sep", "pad", "mask", "begin", "end")
        self.special = torch.tensor(sorted({special_ids[n] for n in names if special_ids.get(n) is not None}))

    def __call__(self, tokens: np.ndarray, words: np.ndarray | None, generator) -> dict[str, Any]:
        import torch

        ids = torch.from_numpy(tokens)
        special = torch.isin(ids, self.special)
        draw = torch.rand(ids.shape, generator=generator)
        if self.wwm:
            if words is None:
                raise ValueError("whole-word masking needs token shards prepared with --wwm")
            starts = torch.from_numpy(np.ascontiguousarray(words)).bool() | special
            positions = torch.arange(ids.shape[1]).expand_as(ids) * starts
            draw = torch.gather(draw, 1, torch.cummax(positions, dim=1).values)  # each token takes its word's draw
        masked = (draw < self.mask_prob) & ~special
        if not masked.any():  # an all-unmasked batch has no loss; mask one ordinary token
            masked.view(-1)[int(torch.nonzero(~special.view(-1))[0])] = True
        labels = torch.where(masked, ids, torch.full_like(ids, -100))
        action = torch.rand(ids.shape, generator=generator)
        inputs = ids.clone()
        inputs[masked & (action < 0.8)] = self.mask_id
        randomized = masked & (action >= 0.8) & (action < 0.9)
        inputs[randomized] = torch.randint(self.vocab_size, ids.shape, generator=generator)[randomized]
        return {"input_ids": inputs, "labels": labels}


def make_collator(objective: Any, shards: TokenShards):
    if objective.type == "clm":
        return CLMCollator()
    if shards.manifest["objective"] != "mlm":
        raise ValueError("an MLM objective needs token shards prepared with --objective mlm (cls ... sep sequences)")
    if objective.wwm and not shards.manifest["wwm"]:
        raise ValueError("whole-word masking needs token shards prepared with --wwm (word starts)")
    return MLMCollator(shards.special_ids, shards.manifest["vocab_size"], objective.mask_prob, objective.wwm)
