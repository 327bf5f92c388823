"""Slurm engine without a cluster: a stand-in `sbatch` records the job scripts; we then run each array task the
way Slurm would (SLURM_ARRAY_TASK_ID + datatrove's launch_pickled_pipeline) and compare with the local engine."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import datasets

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.slurm import SlurmOptions, submit_slurm

FAKE_SBATCH = """#!/usr/bin/env bash
# records each submission: its arguments and the job script, and answers like sbatch does
n=$(ls "$SBATCH_LOG" | wc -l)
id=$((1000 + n))
mkdir -p "$SBATCH_LOG/$id"
printf '%s\\n' "$@" > "$SBATCH_LOG/$id/args"
cp "${@: -1}" "$SBATCH_LOG/$id/script"
echo "Submitted batch job $id"
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
# `scontrol show hostnames NODELIST`, as datatrove calls it inside a job
[ "$1 $2" = "show hostnames" ] && echo "$3"
"""


def test_slurm_jobs_chain_and_run_like_local(tmp_path, shared_data, monkeypatch):
    bin_dir, log = tmp_path / "bin", tmp_path / "sbatch"
    bin_dir.mkdir()
    log.mkdir()
    for name, body in (("sbatch", FAKE_SBATCH), ("scontrol", FAKE_SCONTROL)):
        tool = bin_dir / name
        tool.write_text(body)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SBATCH_LOG", str(log))

    text = f"""\
name: slurmy
sources: [{{type: text, split: file, paths: ["{shared_data}/neardup_ja_law_versions/417*/*.txt"]}}]
output: {{dir: out}}
"""
    recipe = parse_recipe(text, "r.yaml", str(tmp_path))
    plan = build_plan(recipe)
    executors = submit_slurm(plan, SlurmOptions(partition="cpu", time="01:00:00", cpus_per_task=2, venv_path="/opt/venv/bin/activate"))
    assert len(executors) == 2  # stage 0, finalize
    jobs = sorted(log.iterdir())
    scripts = {p.name: (p / "script").read_text() for p in jobs}
    args = {p.name: (p / "args").read_text().split("\n") for p in jobs}
    stage0 = next(s for s in scripts.values() if "job-name=slurmy-stage0" in s)
    assert "#SBATCH --array=0-6" in stage0  # one array task per input file (7 law versions)
    assert "#SBATCH --partition=cpu" in stage0 and "#SBATCH --cpus-per-task=2" in stage0
    assert "#SBATCH --time=01:00:00" in stage0 and "source /opt/venv/bin/activate" in stage0
    assert "launch_pickled_pipeline" in stage0 and "executor.pik" in stage0
    final_id = next(k for k, s in scripts.items() if "job-name=slurmy-finalize" in s)
    stage0_id = next(k for k, s in scripts.items() if "job-name=slurmy-stage0" in s)
    assert f"--dependency=afterok:{stage0_id}" in args[final_id]

    # run the arrays as Slurm would, in dependency order, with the real datatrove launcher
    launcher = Path(sys.executable).parent / "launch_pickled_pipeline"
    for executor, tasks in ((executors[0], plan.tasks), (executors[1], 1)):
        pik = executor.logging_dir.resolve_paths("executor.pik")
        for task in range(tasks):
            env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task), SLURM_NODELIST="localhost")
            subprocess.run([str(launcher), pik], env=env, check=True, capture_output=True)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["engine"] == "slurm" and manifest["kept"] == 7

    local = run_local(build_plan(recipe, str(tmp_path / "local")), progress=False)
    assert local["shards"] == manifest["shards"]
    assert datasets.load_from_disk(str(tmp_path / "out"))["id"] == datasets.load_from_disk(str(tmp_path / "local"))["id"]
