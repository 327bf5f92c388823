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
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

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


@dataclass
class Failed:
    job: str  # the job's name, e.g. "slurmy-stage0"
    task: int  # SLURM_ARRAY_TASK_ID
    status: int  # the array task's exit status (negative: killed by that signal)
    stderr: str  # what Slurm writes to the task's log


def run_array_task(pik: str, task: int, kill_worker: bool) -> subprocess.CompletedProcess:
    """One array task. ``kill_worker``: SIGKILL the task's worker process (which does the work, started by the
    launcher's forkserver; see slurm.py) the moment it exists, as the OOM killer would mid-task."""
    launcher = Path(sys.executable).parent / "launch_pickled_pipeline"
    env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task), SLURM_NODELIST="localhost")
    if not kill_worker:
        return subprocess.run([str(launcher), pik], env=env, capture_output=True, text=True)
    proc = subprocess.Popen([str(launcher), pik], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    while not killed and proc.poll() is None:
        for forkserver in psutil.Process(proc.pid).children():
            for worker in forkserver.children():
                worker.kill()
                killed = True
        time.sleep(0.002)
    out, err = proc.communicate()
    assert killed, f"the array task ended before its worker started: {err[-3000:]}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_like_slurm(executors: list, kill: tuple[str, int] | None = None) -> list[Failed]:
    """Each job's array tasks, in dependency order, the way Slurm starts them (the real datatrove launcher).

    Like Slurm's ``afterok``, a job with a failed array task keeps the jobs that depend on it from starting (they
    stay pending, DependencyNeverSatisfied); its other array tasks still run. A job the engine did not submit
    (every task already complete) is not run. ``kill=(job name, array task id)``: that task's worker is SIGKILLed
    mid-task. Without ``kill`` every task must succeed; with it, the failed array tasks are returned."""
    failed: list[Failed] = []
    for executor in executors:
        if failed:
            break  # afterok: never starts
        if executor.job_id == -1:
            continue
        pik = executor.logging_dir.resolve_paths("executor.pik")
        for task in range(executor.tasks):
            proc = run_array_task(pik, task, kill == (executor.job_name, task))
            if kill is None:
                assert proc.returncode == 0, proc.stderr[-3000:]
            elif proc.returncode != 0:
                failed.append(Failed(executor.job_name, task, proc.returncode, proc.stderr))
    return failed


def run_on_slurm(plan, tmp: Path, monkeypatch) -> dict:
    """Submit ``plan`` with stand-in Slurm tools, run every array task, return the manifest."""
    from jacorpus.pipelines.slurm import SlurmOptions, submit_slurm

    fake_slurm(tmp, monkeypatch)
    run_like_slurm(submit_slurm(plan, SlurmOptions(partition="cpu")))
    return json.loads((Path(plan.output_dir) / "manifest.json").read_text())
