"""Dead workers and killed runs on the local engine: real SIGKILLs, then the rerun's output compared with an
uninterrupted run's (shard sha256 and the whole manifest).

- a worker killed mid-task ends the run at once with the task, its input file and the signal named;
- a file that kills its worker on every attempt is quarantined after N deaths (an error entry), not retried forever;
- ``kill -9`` of the whole run at every stage boundary (mid stage 0, mid global pass, mid final stage, before the
  manifest) resumes to identical output;
- SIGKILL of a ``--workers 2`` run leaves no process behind and no leaked-semaphore warning.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from jacorpus.pipelines.faults import KillWorker
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.supervise import WorkerDiedError

LAWS = "neardup_ja_law_versions"


def write_recipe(folder: Path, laws: Path, dedup: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    steps = "steps: [{dedup: {method: minhash, threshold: 0.8}}]\n" if dedup else ""
    recipe = folder / "recipe.yaml"
    recipe.write_text(
        f"""name: death-test
sources:
  - {{name: laws, type: text, split: file, paths: ["{laws}/*/*.txt"]}}
{steps}output: {{dir: out, keep_dropped: true}}
""", encoding="utf-8")
    return recipe


def plan_of(recipe: Path, output: str | None = None):
    return build_plan(parse_recipe(recipe.read_text(), str(recipe), str(recipe.parent)), output)


def fingerprint(out: Path) -> tuple[dict, dict]:
    """The manifest and the sha256 of every shard (kept and dropped) as the manifest lists them, checked on disk."""
    import hashlib

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("recipe_dir")  # where this run's recipe sits (a different tmp folder per run), not its output
    digests = {}
    for shard in manifest["shards"]:
        digests[shard["file"]] = hashlib.sha256((out / shard["file"]).read_bytes()).hexdigest()
        assert shard["sha256"] in (None, digests[shard["file"]])
    for shard in manifest["dropped_shards"]:
        digests["dropped/" + shard["file"]] = hashlib.sha256((out / "dropped" / shard["file"]).read_bytes()).hexdigest()
    assert {p.name for p in out.glob("shard-*")} == {s["file"] for s in manifest["shards"]}
    return manifest, digests


@pytest.fixture(scope="module")
def reference(tmp_path_factory, shared_data):
    """Uninterrupted runs: without and with a global step (dedup)."""
    root = tmp_path_factory.mktemp("reference")
    refs = {}
    for dedup in (False, True):
        recipe = write_recipe(root / f"dedup{dedup}", shared_data / LAWS, dedup)
        run_local(plan_of(recipe), workers=2, progress=False)
        refs[dedup] = fingerprint(recipe.parent / "out")
    return refs


def test_killed_worker_fails_the_run_at_once_naming_task_file_and_signal(tmp_path, shared_data, reference):
    recipe = write_recipe(tmp_path, shared_data / LAWS)
    plan = plan_of(recipe)
    victim = plan.stages[0].steps[0].describe(3)
    with pytest.raises(WorkerDiedError) as failure:
        run_local(plan, workers=2, progress=False, faults=KillWorker(frozenset({"stage0:3"})))
    message = str(failure.value)
    assert message.startswith("stage 0 task 3 (input ") and victim in message and "SIGKILL" in message
    assert victim.endswith(".txt") and os.path.isabs(victim)  # the laws are outside the recipe folder
    assert not (tmp_path / "out" / "manifest.json").exists()
    # the rerun resumes: same shards, same manifest as a run that never failed
    run_local(plan_of(recipe), workers=2, progress=False)
    assert fingerprint(tmp_path / "out") == reference[False]


def test_a_file_that_kills_its_worker_every_time_is_quarantined(tmp_path, shared_data, reference):
    recipe = write_recipe(tmp_path, shared_data / LAWS)
    kill = KillWorker(frozenset({"read:5"}))  # reading input file 5 kills the worker, on every attempt
    for attempt in (1, 2):
        with pytest.raises(WorkerDiedError, match="stage 0 task 5"):
            run_local(plan_of(recipe), workers=1, progress=False, faults=kill, max_worker_deaths=2)
    manifest = run_local(plan_of(recipe), workers=1, progress=False, faults=kill, max_worker_deaths=2)
    victim = plan_of(recipe).stages[0].steps[0].describe(5)
    (error,) = manifest["errors"]
    assert error["file"] == victim and error["message"].startswith("quarantined, not read: its worker died 2 times")
    assert "SIGKILL" in error["message"]
    ref_manifest, _ = reference[False]
    assert manifest["read"] == ref_manifest["read"] - 1 == manifest["kept"] + sum(manifest["dropped"].values())
    import datasets

    rows = datasets.load_from_disk(str(tmp_path / "out"))
    assert victim not in {o.rsplit("#", 1)[0] for o in rows["origin"]} and len(rows) == ref_manifest["kept"] - 1


RUN_WITH_KILL = """
import os, sys
from jacorpus.pipelines.faults import KillRun
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import load_recipe
if __name__ == "__main__":
    run_local(build_plan(load_recipe(sys.argv[1])), workers=2, progress=False,
              faults=KillRun(frozenset({sys.argv[2]}), os.getpid()))
"""


@pytest.mark.parametrize("point", ["stage0:4", "global:dedup: scan:1", "stage1:7", "finalize"])
def test_run_killed_at_every_stage_boundary_resumes_identically(point, tmp_path, shared_data, reference):
    """stage 0 mid-way, the dedup pass after its first scan tasks, the final stage mid-way, before the manifest."""
    recipe = write_recipe(tmp_path, shared_data / LAWS, dedup=True)
    script = tmp_path / "kill.py"
    script.write_text(RUN_WITH_KILL, encoding="utf-8")
    killed = subprocess.run([sys.executable, str(script), str(recipe), point], capture_output=True, text=True,
                            timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    out = tmp_path / "out"
    assert not (out / "manifest.json").exists()
    work = out / ".jacorpus"
    if point.startswith("global"):  # killed inside the pass: stage 0 complete, the pass unfinished
        assert len(os.listdir(work / "stage0" / ".jacorpus" / "parts")) == 30
        assert not (work / "global0" / "DONE.json").exists()
    if point == "stage1:7":
        assert (work / "global0" / "DONE.json").exists() and len(os.listdir(work / "parts")) < 30
    resumed = subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--workers", "2",
                              "--no-progress"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert fingerprint(out) == reference[True]


def test_sigkill_of_a_two_worker_run_leaves_no_process_and_no_leaked_semaphore(tmp_path, shared_data, reference):
    recipe = write_recipe(tmp_path, shared_data / LAWS, dedup=True)
    cmd = [sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--workers", "2", "--no-progress"]
    log = tmp_path / "killed.stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    parts = tmp_path / "out" / ".jacorpus" / "stage0" / ".jacorpus" / "parts"
    deadline = time.time() + 300
    descendants: list[psutil.Process] = []
    while time.time() < deadline and (not parts.is_dir() or len(os.listdir(parts)) < 3):
        try:  # everything the run started so far (forkserver, task workers, resource tracker)
            descendants = list({p.pid: p for p in descendants + psutil.Process(proc.pid).children(recursive=True)}.values())
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    descendants = list({p.pid: p for p in descendants + psutil.Process(proc.pid).children(recursive=True)}.values())
    assert len(os.listdir(parts)) < 30, "the kill must land mid-run"
    assert any("forkserver" in " ".join(p.cmdline()) for p in descendants if p.is_running())
    os.kill(proc.pid, signal.SIGKILL)  # the run's process only, as the OOM killer would
    assert proc.wait() == -signal.SIGKILL
    gone, alive = psutil.wait_procs(descendants, timeout=20)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    for stderr in (log.read_text(errors="replace"), rerun.stderr):
        assert "leaked semaphore" not in stderr and "resource_tracker" not in stderr, stderr[-2000:]
    assert fingerprint(tmp_path / "out") == reference[True]
