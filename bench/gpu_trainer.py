"""GPU throughput of the trainer's DeepSpeed engine: tokens/s and MFU for a GPT-2-medium-shaped causal LM (seq 1024)
and a RoBERTa-base-shaped masked LM (seq 512), bf16, SDPA attention, ZeRO-1, torch AdamW (fused) passed in, exactly
as ``jacorpus train run`` configures them (``deepspeed_config`` of a recipe). Target: MFU >= 45% on H100/H200.

    python bench/gpu_trainer.py [--quick] [--compile] [--only gpt2-medium|roberta-base]
    torchrun --nproc_per_node 8 bench/gpu_trainer.py         # several GPUs: data parallel, global figures

Without a CUDA device it measures nothing, says so on its last line (JSON) and exits 0 (``make bench`` runs it
everywhere); ``--cpu-smoke`` runs tiny shapes on the CPU to check the script itself. Measured results are written
to bench/results/trainer_gpu.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the repo on the path, for a bare checkout without `pip install -e .`
sys.path.insert(0, str(REPO / "bench"))
from _common import results_dir  # noqa: E402

RESULTS = results_dir()

SHAPES = {  # vocab padded to a multiple of 64 for tensor cores
    "gpt2-medium": {"arch": "gpt2", "objective": "clm", "seq_len": 1024, "micro": 16,
                    "config": {"n_layer": 24, "n_embd": 1024, "n_head": 16, "vocab_size": 50304, "n_positions": 1024}},
    "roberta-base": {"arch": "roberta", "objective": "mlm", "seq_len": 512, "micro": 64,
                     "config": {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072,
                                "vocab_size": 50304, "max_position_embeddings": 514, "type_vocab_size": 1, "pad_token_id": 1}},
}
SMOKE = {"gpt2": {"n_layer": 2, "n_embd": 64, "n_head": 2, "vocab_size": 512, "n_positions": 64},
         "roberta": {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "intermediate_size": 128,
                     "vocab_size": 512, "max_position_embeddings": 66, "type_vocab_size": 1, "pad_token_id": 1}}


def measure(name: str, shape: dict, steps: int, warmup: int, compile_model: bool, smoke: bool) -> dict:
    import deepspeed
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM

    from jacorpus.train.config import TrainRecipe
    from jacorpus.train.distributed import comm_device, deepspeed_config
    from jacorpus.train.metrics import device_peak_flops, flops_per_token, model_shape
    from jacorpus.train.model import parameter_count

    world = torch.distributed.get_world_size()
    seq, micro = (64, 4) if smoke else (shape["seq_len"], shape["micro"])
    precision = "fp32" if smoke else "bf16"
    recipe = TrainRecipe.model_validate({
        "model": {"arch": shape["arch"]}, "tokenizer": "-", "data": {"shards": "-"}, "objective": {"type": shape["objective"]},
        "batch": {"micro": micro, "global": micro * world}, "deepspeed": {"zero_stage": 1, "precision": precision},
        "max_steps": steps, "output": "-"})
    overrides = SMOKE[shape["arch"]] if smoke else shape["config"]
    config = AutoConfig.for_model(shape["arch"], **overrides)
    auto = AutoModelForCausalLM if shape["objective"] == "clm" else AutoModelForMaskedLM
    model = auto.from_config(config, attn_implementation="sdpa")
    device = comm_device()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), fused=device.type == "cuda")
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=deepspeed_config(recipe, world))
    if compile_model:
        engine.compile()
    vocab = config.vocab_size
    gen = torch.Generator(device=device).manual_seed(0)
    ids = torch.randint(4, vocab, (micro, seq), device=device, generator=gen)
    if shape["objective"] == "clm":
        batch = {"input_ids": ids, "labels": ids}
    else:  # 15% of positions predicted, as in MLM
        chosen = torch.rand((micro, seq), device=device, generator=gen) < 0.15
        batch = {"input_ids": ids.masked_fill(chosen, 3), "labels": ids.masked_fill(~chosen, -100)}

    def step() -> None:
        loss = engine(**batch).loss
        engine.backward(loss)
        engine.step()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize() if device.type == "cuda" else None
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize() if device.type == "cuda" else None
    seconds = time.perf_counter() - started
    tokens_per_s = steps * micro * seq * world / seconds
    layers, hidden = model_shape(config)
    per_token = flops_per_token(parameter_count(engine.module, embeddings=False), layers, hidden, seq)
    peak = device_peak_flops(precision)
    result = {"model": name, "parameters": parameter_count(engine.module), "seq_len": seq, "micro_batch": micro, "gpus": world,
              "precision": precision, "attention": config._attn_implementation, "zero_stage": 1, "compiled": compile_model,
              "steps": steps, "step_ms": round(seconds / steps * 1000, 2), "tokens_per_s": round(tokens_per_s),
              "tflops_per_gpu": round(per_token * tokens_per_s / world / 1e12, 2),
              "mfu": round(per_token * tokens_per_s / (peak * world), 4) if peak else None,
              "peak_flops_per_gpu": peak, "max_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None}
    engine.destroy()
    return result


def write_results(record: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "trainer_gpu.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    def mfu(r: dict) -> str:
        return "unknown peak" if r["mfu"] is None else f"{r['mfu']:.1%}"

    rows = "\n".join(f"| {r['model']} | {r['gpus']} | {r['seq_len']} x {r['micro_batch']} | {r['step_ms']} | {r['tokens_per_s']:,} | "
                     f"{r['tflops_per_gpu']} | {mfu(r)} |" for r in record["results"])
    md = f"""# GPU trainer throughput ({record['device']})

`python bench/gpu_trainer.py{' --quick' if record['quick'] else ''}`: DeepSpeed engine as the trainer configures it (ZeRO-1,
bf16, SDPA, torch fused AdamW), random tokens. MFU = (6 N + 12 L d T) x tokens/s / peak bf16 FLOP/s.

| model | GPUs | seq x micro | step ms | tokens/s | TFLOP/s per GPU | MFU |
|---|---|---|---|---|---|---|
{rows}

Target: MFU >= 45% on H100/H200. torch {record['versions']['torch']}, deepspeed {record['versions']['deepspeed']},
transformers {record['versions']['transformers']}.
"""
    (RESULTS / "trainer_gpu.md").write_text(md, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (engine.compile())")
    parser.add_argument("--only", choices=sorted(SHAPES), help="one model shape")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny shapes on the CPU: checks the script, measures nothing")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available() and not args.cpu_smoke:
        print(json.dumps({"bench": "gpu_trainer", "device": None, "measured": False,
                          "status": "no CUDA device available: nothing measured (run this on a GPU machine)"}))
        return
    from jacorpus.train.distributed import init_distributed

    rank, _ = init_distributed()
    steps, warmup = (3, 1) if args.cpu_smoke else ((10, 3) if args.quick else (30, 5))
    names = [args.only] if args.only else list(SHAPES)
    results = [measure(n, SHAPES[n], steps, warmup, args.compile, args.cpu_smoke) for n in names]
    import deepspeed
    import transformers

    record = {"bench": "gpu_trainer", "device": "cpu (smoke)" if args.cpu_smoke else torch.cuda.get_device_name(),
              "measured": not args.cpu_smoke, "quick": args.quick, "results": results,
              "versions": {"torch": torch.__version__, "deepspeed": deepspeed.__version__, "transformers": transformers.__version__}}
    if rank == 0:
        if not args.cpu_smoke:
            write_results(record)
        print(json.dumps(record))


if __name__ == "__main__":
    main()
