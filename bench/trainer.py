"""Trainer overhead on CPU: the DeepSpeed trainer's step time vs a plain PyTorch loop on the same tiny model and
batches (target: <= 10% overhead), and data-loader throughput vs what training consumes (target: >= 20x).

Real data: a corpus built by jacorpus from 吾輩は猫である, a SentencePiece unigram tokenizer trained on it, token shards
from ``jacorpus train prepare``. Both loops run in this process, alternating step by step (the trainer's
``build_engine`` + ``train_step`` with its per-step bookkeeping, then the plain step), so a busy machine slows both
alike; medians of wall and CPU time per step. Without dropout both compute the same losses (checked).

    python bench/trainer.py [--quick]      # the last line printed is one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _common import results_dir  # noqa: E402

RESULTS = results_dir()
MODEL = {"n_layer": 2, "n_embd": 64, "n_head": 2, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}  # no dropout: both loops compute the same losses


def shared_data() -> Path:
    env = os.environ.get("JACORPUS_SHARED_DATA")
    for path in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]:
        if (path / "README.md").exists():
            return path
    sys.exit("real data not found: ../shared/data beside the clone (or JACORPUS_SHARED_DATA)")


def build_inputs(work: Path) -> tuple[Path, Path, Path]:
    """(tokenizer dir, CLM shards, MLM+WWM shards) from the novel."""
    import sentencepiece as spm

    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe
    from jacorpus.train.prepare import PrepareJob, prepare

    neko = shared_data() / "plain_text_ja_neko_aozora" / "neko.txt"
    recipe = f"name: neko\nsources:\n  - {{name: neko, type: text, split: blank_line, paths: ['{neko}']}}\noutput: {{dir: corpus}}\n"
    run_local(build_plan(parse_recipe(recipe, "<bench>", str(work)), None), workers=1, progress=False)
    (work / "tok").mkdir()
    spm.SentencePieceTrainer.train(input=str(neko), model_prefix=str(work / "tok" / "tokenizer"), vocab_size=4000,
                                   model_type="unigram", character_coverage=0.995, unk_id=0, bos_id=1, eos_id=2, pad_id=3,
                                   user_defined_symbols=["[MASK]", "[CLS]", "[SEP]"], num_threads=1, minloglevel=2)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(work / "tok")
    tokenizer.add_special_tokens({"mask_token": "[MASK]", "cls_token": "[CLS]", "sep_token": "[SEP]"})
    tokenizer.save_pretrained(work / "tok-mlm")
    corpus = [(str(work / "corpus"), 1.0)]
    prepare(PrepareJob(corpora=corpus, tokenizer=str(work / "tok"), seq_len=64, out=str(work / "clm")), progress=False)
    prepare(PrepareJob(corpora=corpus, tokenizer=str(work / "tok-mlm"), seq_len=64, out=str(work / "mlm"), objective="mlm", wwm=True), progress=False)
    return work / "tok", work / "clm", work / "mlm"


def make_recipe(tokenizer: Path, shards: Path, output: Path, steps: int):
    from jacorpus.train.config import TrainRecipe

    return TrainRecipe.model_validate({
        "model": {"arch": "gpt2", "config": MODEL}, "tokenizer": str(tokenizer), "data": {"shards": str(shards)},
        "optim": {"lr": 1e-3, "warmup_steps": 2}, "batch": {"micro": 8, "global": 16},
        "deepspeed": {"zero_stage": 0, "precision": "fp32", "grad_clip": 1.0}, "max_steps": steps, "output": str(output)})


class TrainerSide:
    """The trainer's own engine (``build_engine``) and step (``train_step``), with the loop's per-step bookkeeping."""

    def __init__(self, recipe) -> None:
        from jacorpus.train.data import DataCursor, TokenShards, make_collator
        from jacorpus.train.metrics import MetricsLog
        from jacorpus.tokenizers.loading import load_tokenizer
        from jacorpus.train.trainer import build_engine, seed_everything

        seed_everything(recipe.seed)
        self.recipe, self.shards = recipe, TokenShards(recipe.data.shards)
        self.cursor = DataCursor(self.shards.split(recipe.data.eval_fraction)[0], recipe.seed)
        self.collate = make_collator(recipe.objective, self.shards)
        self.engine, _, _ = build_engine(recipe, load_tokenizer(recipe.tokenizer), 64, 1)
        os.makedirs(recipe.output, exist_ok=True)
        self.metrics = MetricsLog(recipe.output, True)

    def step(self, step: int) -> float:
        from jacorpus.train.trainer import train_step

        lr = self.engine.get_lr()[0]
        loss = train_step(self.engine, self.shards, self.collate, self.cursor.take(self.recipe.batch.global_), self.recipe, step, 1, 0)
        grad_norm = self.engine.get_global_grad_norm()
        self.metrics.write({"step": step + 1, "loss": loss, "lr": lr} | ({"grad_norm": float(grad_norm)} if grad_norm is not None else {}))
        return loss


class PlainSide:
    """The same model (same seed), batches, AdamW, schedule, accumulation and clipping in a plain PyTorch loop."""

    def __init__(self, recipe) -> None:
        import torch

        from jacorpus.train.data import DataCursor, TokenShards, make_collator
        from jacorpus.train.model import build_model
        from jacorpus.tokenizers.loading import load_tokenizer
        from jacorpus.train.trainer import lr_factor, param_groups, seed_everything

        seed_everything(recipe.seed)
        self.recipe, self.shards = recipe, TokenShards(recipe.data.shards)
        self.cursor = DataCursor(self.shards.split(recipe.data.eval_fraction)[0], recipe.seed)
        self.collate = make_collator(recipe.objective, self.shards)
        self.model, _ = build_model(recipe.model, "clm", load_tokenizer(recipe.tokenizer), 64, {})
        self.model.train()
        optim = recipe.optim
        self.optimizer = torch.optim.AdamW(param_groups(self.model, optim.weight_decay), lr=optim.lr, betas=optim.betas, eps=optim.eps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factor(optim, recipe.max_steps))

    def step(self, step: int) -> float:
        import torch

        from jacorpus.train.data import generator_for, micro_batches

        parts = micro_batches(self.cursor.take(self.recipe.batch.global_), self.recipe.batch.micro, 1, 0)
        losses = []
        for index, ids in parts:
            loss = self.model(**self.collate(*self.shards.read(ids), generator_for(self.recipe.seed, step, index))).loss
            (loss / len(parts)).backward()
            losses.append(loss.detach())
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.recipe.deepspeed.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return torch.stack(losses).mean().item()


def compare(recipe, steps: int, warmup: int = 3) -> dict:
    """Alternate one trainer step and one plain step, so both see the same machine load; wall and CPU time."""
    from jacorpus.train.distributed import init_distributed

    init_distributed()
    sides = {"deepspeed": TrainerSide(recipe), "torch": PlainSide(recipe)}
    wall = {k: [] for k in sides}
    cpu = {k: [] for k in sides}
    losses = {k: [] for k in sides}
    for step in range(steps):
        for name, side in sides.items():
            w, c = time.perf_counter(), time.process_time()
            losses[name].append(side.step(step))
            if step >= warmup:
                wall[name].append(time.perf_counter() - w)
                cpu[name].append(time.process_time() - c)
    sides["deepspeed"].engine.destroy()
    return {"wall": {k: statistics.median(v) for k, v in wall.items()}, "cpu": {k: statistics.median(v) for k, v in cpu.items()},
            "max_loss_difference": max(abs(a - b) for a, b in zip(losses["deepspeed"], losses["torch"]))}


def loader_rate(shards_dir: Path, objective: str, seconds: float) -> float:
    """Sequences per second the data path (sampler + memmap read + collator) produces, micro batches of 8."""
    from jacorpus.train.config import ObjectiveSpec
    from jacorpus.train.data import DataCursor, TokenShards, generator_for, make_collator

    shards = TokenShards(str(shards_dir))
    cursor = DataCursor(shards.split(0.05)[0], 1)
    collate = make_collator(ObjectiveSpec(type=objective, wwm=objective == "mlm"), shards)
    produced, started, step = 0, time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        collate(*shards.read(cursor.take(8)), generator_for(1, step, 0))
        produced, step = produced + 8, step + 1
    return produced / (time.perf_counter() - started)


def summary_md(r: dict) -> str:
    loader = r["loader_over_consumption"]
    return f"""# Trainer overhead on CPU (`python bench/trainer.py{' --quick' if r['quick'] else ''}`)

Tiny GPT-2 (2 layers, 64 wide, no dropout), seq {r['seq_len']}, {r['batch']}, fp32, ZeRO-0, {r['torch_threads']} torch thread,
{r['cpu_count']} cores shared with other processes (1-minute load average {r['load_average_1m']} at the end). {r['steps']} steps of each
loop, alternating step by step; medians. The two loops' losses differ by at most {r['max_loss_difference']:.2e}.

| measure | DeepSpeed trainer step | plain PyTorch step | overhead | target |
|---|---|---|---|---|
| wall time | {r['deepspeed_step_ms']} ms | {r['torch_step_ms']} ms | {r['deepspeed_overhead']:+.1%} | <= +10% |
| CPU time | {r['deepspeed_step_cpu_ms']} ms | {r['torch_step_cpu_ms']} ms | {r['deepspeed_overhead_cpu']:+.1%} | <= +10% |

| data path (sampler + memmap read + collator) | sequences/s | x what training consumes ({r['train_sequences_per_s']}/s) | target |
|---|---|---|---|
| CLM | {r['loader_sequences_per_s']['clm']:,} | {loader['clm']}x | >= 20x |
| MLM with whole-word masking | {r['loader_sequences_per_s']['mlm']:,} | {loader['mlm']}x | >= 20x |
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (under 2 minutes)")
    args = parser.parse_args()
    steps = 60 if args.quick else 200
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))  # both loops alike; 1 avoids spinning on busy cores
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tokenizer, clm, mlm = build_inputs(work)
        timing = compare(make_recipe(tokenizer, clm, work / "run", steps), steps)
        loader = {kind: loader_rate(path, kind, 2.0 if args.quick else 5.0) for kind, path in (("clm", clm), ("mlm", mlm))}
    ds_step, torch_step = timing["wall"]["deepspeed"], timing["wall"]["torch"]
    consumed = 16 / ds_step  # sequences per second the trainer eats
    result = {
        "bench": "trainer", "quick": args.quick, "model": "gpt2 " + json.dumps(MODEL), "seq_len": 64, "batch": "micro 8 x accumulation 2",
        "steps": steps,
        "deepspeed_step_ms": round(ds_step * 1000, 2), "torch_step_ms": round(torch_step * 1000, 2),
        "deepspeed_overhead": round(ds_step / torch_step - 1.0, 4),
        "deepspeed_step_cpu_ms": round(timing["cpu"]["deepspeed"] * 1000, 2), "torch_step_cpu_ms": round(timing["cpu"]["torch"] * 1000, 2),
        "deepspeed_overhead_cpu": round(timing["cpu"]["deepspeed"] / timing["cpu"]["torch"] - 1.0, 4), "overhead_target": 0.10,
        "max_loss_difference": timing["max_loss_difference"],
        "train_sequences_per_s": round(consumed, 1),
        "loader_sequences_per_s": {k: round(v, 1) for k, v in loader.items()},
        "loader_over_consumption": {k: round(v / consumed, 1) for k, v in loader.items()}, "loader_target": 20,
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "load_average_1m": round(os.getloadavg()[0], 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "trainer.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "trainer.md").write_text(summary_md(result), encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
