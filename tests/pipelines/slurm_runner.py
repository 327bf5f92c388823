"""Running a plan on the Slurm engine without a cluster: a stand-in `sbatch` records each submission (its arguments
and job script) and answers like sbatch; each array task is then started the way Slurm starts it
(SLURM_ARRAY_TASK_ID + datatrove's real launch_pickled_pipeline), in dependency order. The one stand-in every Slurm
test uses."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

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


def fake_slurm(tmp_path: Path, monkeypatch) -> Path:
    """Stand-in sbatch/scontrol first on PATH; returns the folder the submissions are recorded in."""
    bin_dir, log = tmp_path / "slurm-bin", tmp_path / "sbatch-log"
    bin_dir.mkdir()
    log.mkdir()
    for name, body in (("sbatch", FAKE_SBATCH), ("scontrol", FAKE_SCONTROL)):
        tool = bin_dir / name
        tool.write_text(body)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SBATCH_LOG", str(log))
    return log


def run_like_slurm(executors: list) -> None:
    """Each job's array tasks, in dependency order, the way Slurm starts them (the real datatrove launcher)."""
    launcher = Path(sys.executable).parent / "launch_pickled_pipeline"
    for executor in executors:
        pik = executor.logging_dir.resolve_paths("executor.pik")
        for task in range(executor.tasks):
            env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task), SLURM_NODELIST="localhost")
            proc = subprocess.run([str(launcher), pik], env=env, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr[-3000:]


def run_on_slurm(plan, tmp: Path, monkeypatch) -> dict:
    """Submit ``plan`` with stand-in Slurm tools, run every array task, return the manifest."""
    from jacorpus.pipelines.slurm import SlurmOptions, submit_slurm

    fake_slurm(tmp, monkeypatch)
    run_like_slurm(submit_slurm(plan, SlurmOptions(partition="cpu")))
    return json.loads((Path(plan.output_dir) / "manifest.json").read_text())
