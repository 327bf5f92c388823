"""Running a plan on the Slurm engine without a cluster: a stand-in `sbatch` accepts the job scripts, then each
array task is started the way Slurm starts it (SLURM_ARRAY_TASK_ID + datatrove's real launch_pickled_pipeline), in
dependency order. Shared by the engine-equality tests of steps that must run on every engine."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

FAKE_SBATCH = """#!/usr/bin/env bash
n=$(ls "$SBATCH_LOG" | wc -l)
id=$((1000 + n))
mkdir -p "$SBATCH_LOG/$id"
echo "Submitted batch job $id"
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
[ "$1 $2" = "show hostnames" ] && echo "$3"
"""


def run_on_slurm(plan, tmp: Path, monkeypatch) -> dict:
    """Submit ``plan`` with stand-in Slurm tools, run every array task, return the manifest."""
    from jacorpus.pipelines.slurm import SlurmOptions, submit_slurm

    bin_dir, log = tmp / "slurm-bin", tmp / "sbatch-log"
    bin_dir.mkdir()
    log.mkdir()
    for name, body in (("sbatch", FAKE_SBATCH), ("scontrol", FAKE_SCONTROL)):
        tool = bin_dir / name
        tool.write_text(body)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SBATCH_LOG", str(log))
    executors = submit_slurm(plan, SlurmOptions(partition="cpu"))
    launcher = Path(sys.executable).parent / "launch_pickled_pipeline"
    for executor in executors:
        for task in range(executor.world_size):
            env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task), SLURM_NODELIST="localhost")
            done = subprocess.run([str(launcher), executor.logging_dir.resolve_paths("executor.pik")], env=env,
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((Path(plan.output_dir) / "manifest.json").read_text())
