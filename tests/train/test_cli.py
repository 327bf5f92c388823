"""`jacorpus train prepare|run`: the typer commands, `python -m jacorpus.train` as the deepspeed launcher starts it,
and two torchrun processes giving the same losses as one process (same global batch, no dropout, fp32)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jacorpus.commands import app
from jacorpus.train.distributed import free_port
from jacorpus.train.metrics import read_metrics

RECIPE = """\
model: {{arch: gpt2, config: {{n_layer: 2, n_embd: 64, n_head: 2, resid_pdrop: 0.0, embd_pdrop: 0.0, attn_pdrop: 0.0}}}}
tokenizer: {tokenizer}
data: {{shards: {shards}, eval_fraction: 0.05}}
objective: {{type: clm}}
optim: {{lr: 1.0e-3, warmup_steps: 1, schedule: linear}}
batch: {{micro: 2, global: 8}}
deepspeed: {{zero_stage: 2, precision: fp32}}
eval: {{max_batches: 2}}
max_steps: 10
seed: 3
output: runs/cli
"""


def launch_env() -> dict[str, str]:
    """The environment of a fresh shell: no rank variables inherited from this test process."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    return env | {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def test_prepare_command_with_a_mixing_weight(tmp_path, neko_corpus, medical_corpus, spm_tokenizer):
    out = tmp_path / "shards"
    args = ["train", "prepare", "--corpus", str(neko_corpus), "--mix", f"{medical_corpus}:10", "--tokenizer", str(spm_tokenizer),
            "--seq-len", "64", "--out", str(out), "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [(s["name"], s["weight"]) for s in manifest["sources"]] == [("neko", 1.0), ("medtxt", 10.0)]
    assert "medtxt:" in result.output and "weight 10" in result.output
    bad = CliRunner().invoke(app, args[:4] + ["--mix", f"{medical_corpus}:lots"] + args[6:])
    assert bad.exit_code != 0 and "weight must be a number" in bad.output


def test_run_command_reports_recipe_errors_with_their_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: {arch: gpt2}\ntokenizer: t\ndata: {shards: s}\nbatch: {micro: 3, global: 8}\nmax_steps: 0\noutput: o\nsed: 1\n")
    result = CliRunner().invoke(app, ["train", "run", str(path)])
    assert result.exit_code == 2
    assert "bad.yaml:5: max_steps: Input should be greater than 0" in result.output
    assert "bad.yaml:4: batch: Value error, global (8) must be a multiple of micro (3)" in result.output
    assert "bad.yaml:7: sed: unknown key" in result.output


def test_every_shipped_training_recipe_is_valid(train_recipes):
    from jacorpus.train.config import load_train_recipe

    names = sorted(p.name for p in train_recipes.glob("*.yaml"))
    assert {"roberta_char_wwm.yaml", "gpt2_word.yaml", "deberta_v2.yaml", "llama_medical_cpt.yaml", "demo.yaml"} <= set(names)
    for name in names:
        spec = load_train_recipe(str(train_recipes / name))
        assert spec.output.startswith(str(train_recipes.parents[1] / "out"))  # outputs stay under the repo's out/
        spec.accumulation_steps(1)


@pytest.fixture(scope="module")
def cli_recipe(tmp_path_factory, spm_tokenizer, clm_shards) -> Path:
    path = tmp_path_factory.mktemp("cli") / "recipe.yaml"
    path.write_text(RECIPE.format(tokenizer=spm_tokenizer, shards=clm_shards), encoding="utf-8")
    return path


def test_module_entry_ignores_the_local_rank_argument_of_the_deepspeed_launcher():
    # the deepspeed launcher runs: python -u -m jacorpus.train --local_rank=N <args>
    done = subprocess.run([sys.executable, "-m", "jacorpus.train", "--local_rank=1", "run", "--help"],
                          env=launch_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--max-steps" in done.stdout


@pytest.mark.slow
def test_one_process_and_two_torchrun_processes_log_the_same_losses(cli_recipe):
    one = cli_recipe.parent / "one"
    result = CliRunner().invoke(app, ["train", "run", str(cli_recipe), "--max-steps", "3", "--output", str(one), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "model exported to" in result.output and (one / "final" / "model.safetensors").exists()

    two = cli_recipe.parent / "two"
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    cmd = [torchrun, "--nproc_per_node", "2", "--master_port", str(free_port()), "-m", "jacorpus.train", "run",
           str(cli_recipe), "--max-steps", "3", "--output", str(two), "--no-progress"]
    done = subprocess.run(cmd, env=launch_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    single = [r for r in read_metrics(str(one)) if "loss" in r]
    double = [r for r in read_metrics(str(two)) if "loss" in r]
    assert [r["step"] for r in double] == [1, 2, 3]
    for a, b in zip(single, double):  # the same global batches, split over 2 ranks instead of 4 micro steps
        assert b["loss"] == pytest.approx(a["loss"], abs=1e-4) and b["lr"] == a["lr"]
    assert len(list((two / "checkpoints" / "step-00000003").glob("rng-rank*.pt"))) == 2
