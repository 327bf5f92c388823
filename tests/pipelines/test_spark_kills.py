"""Killed Spark runs (real PySpark, local mode, the ``jacorpus corpus run --engine spark`` CLI in a process group of
its own): real SIGKILLs, no fault hook in the engine. The test watches the output folder and kills when a stage's
commit record or marker appears:

- ``kill -9`` of the whole run (driver, JVM; ``os.killpg``) at every stage boundary of a recipe with a global step
  (dedup), each kill landing in the rerun of the one before: mid stage 0 (a task committed), stage 0 published (the
  pass starting), mid global pass (its first decision file written), pass done (stage 1 starting), mid stage 1 (the
  moment between stage 1's last commit and the manifest is milliseconds wide: a watcher cannot land there reliably,
  so it is left to the local engine's test). The last rerun's output equals an uninterrupted run's (shard sha256
  and the manifest); after every kill no JVM or Python worker is left;
- Python workers SIGKILLed during a task: without task retries the run fails (exit 1) naming the task, its input and
  the cause, with no traceback and no manifest; with retries (``local[2,3]``) the task is run again and the output
  is identical.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import psutil
import pytest

from tests.pipelines.test_worker_death import fingerprint

LAWS = "neardup_ja_law_versions"


def write_recipe(folder: Path, shared_data: Path) -> Path:
    """Seven versions of one law (near-duplicates of each other) with MinHash dedup: stage 0 -> global pass ->
    stage 1 (the final stage, writing into ``out``)."""
    folder.mkdir(parents=True, exist_ok=True)
    laws = shared_data / LAWS
    recipe = folder / "recipe.yaml"
    recipe.write_text(
        f"""name: spark-kills
sources:
  - {{name: laws, type: text, split: file, paths: ["{laws}/417*/*.txt"]}}
steps: [{{dedup: {{method: minhash, threshold: 0.8}}}}]
output: {{dir: out, keep_dropped: true}}
""", encoding="utf-8")
    return recipe


TASKS = 7


# Spark's own settings reach the CLI's session the standard way; 200 shuffle partitions (the default) make the dedup
# pass's shuffles hundreds of tiny tasks for seven documents' worth of keys
SPARK_ENV = dict(os.environ, PYSPARK_SUBMIT_ARGS="--conf spark.sql.shuffle.partitions=4 --conf spark.ui.enabled=false "
                 "--conf spark.ui.showConsoleProgress=false pyspark-shell")


def command(recipe: Path, master: str = "local[2]") -> list[str]:
    return [sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--engine", "spark", "--master",
            master, "--no-progress"]


def family(pid: int, known: dict[int, psutil.Process]) -> dict[int, psutil.Process]:
    """Every process the run started so far (JVM, pyspark daemon and its workers), added to ``known``; each
    process's command line is kept in ``info["cmd"]`` for the messages."""
    try:
        for child in psutil.Process(pid).children(recursive=True):
            if child.pid not in known:
                try:
                    child.info = {"cmd": " ".join(child.cmdline())}
                except psutil.Error:
                    continue
                known[child.pid] = child
    except psutil.NoSuchProcess:
        pass
    return known


def count(folder: Path) -> int:
    try:
        return len(os.listdir(folder))
    except FileNotFoundError:
        return 0


def run_until(cmd: list[str], when: Callable[[], bool], log: Path, timeout: float = 600) -> dict[int, psutil.Process]:
    """Start ``cmd`` in a new process group; the moment ``when()`` holds, SIGKILL the whole group. Returns every
    process the run had started, for the orphan check."""
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, env=SPARK_ENV)
    known: dict[int, psutil.Process] = {}
    deadline = time.time() + timeout
    looked = 0.0
    try:
        while not when():  # a few directory listings: checked every 2 ms
            assert proc.poll() is None, f"the run ended before the kill point: {log.read_text(errors='replace')[-3000:]}"
            assert time.time() < deadline, "the kill point never came"
            if time.time() - looked > 0.1:  # the process tree (a scan of /proc): every 100 ms
                family(proc.pid, known)
                looked = time.time()
            time.sleep(0.002)
        family(proc.pid, known)  # what runs at the kill
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:  # a failed test leaves no run behind either
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return family(proc.pid, known)


def assert_no_orphans(known: dict[int, psutil.Process]) -> None:
    """The JVM dies with the group; pyspark's daemon (a process group of its own) and its workers end when the
    JVM's pipe closes: nothing of the run may be left."""
    commands = [p.info["cmd"] for p in known.values()]
    assert any("org.apache.spark.deploy.SparkSubmit" in c for c in commands), commands  # the watcher saw the JVM
    _, alive = psutil.wait_procs(list(known.values()), timeout=30)
    assert not alive, [(p.pid, p.info["cmd"]) for p in alive]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, shared_data):
    """An uninterrupted Spark run of the same recipe."""
    recipe = write_recipe(tmp_path_factory.mktemp("spark-reference"), shared_data)
    done = subprocess.run(command(recipe), capture_output=True, text=True, timeout=600, env=SPARK_ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    return fingerprint(recipe.parent / "out")


@pytest.mark.timeout(1800)  # seven Spark runs, each starting a JVM: about 2 min on 2 idle cores, far more on a busy CI box
def test_run_killed_at_every_stage_boundary_resumes_identically(tmp_path, shared_data, reference):
    recipe = write_recipe(tmp_path, shared_data)
    out = tmp_path / "out"
    work = out / ".jacorpus"
    stage0, global0 = work / "stage0" / ".jacorpus", work / "global0"
    started = [0.0]

    def written_by_this_run(folder: Path) -> bool:  # the pass starts afresh on a rerun: only its own files count
        try:
            return any(entry.stat().st_mtime > started[0] for entry in os.scandir(folder))
        except FileNotFoundError:
            return False

    boundaries: list[tuple[str, Callable[[], bool]]] = [
        ("mid stage 0: a task committed", lambda: count(stage0 / "spark" / "committed") >= 1),
        ("stage 0 published, the pass starting", lambda: count(stage0 / "parts") == TASKS),
        ("mid global pass: a scan task wrote its signatures", lambda: written_by_this_run(global0 / "signatures")),
        ("pass done, stage 1 starting", lambda: (global0 / "DONE.json").exists()),
        ("mid stage 1: a task committed", lambda: count(work / "spark" / "committed") >= 1),
    ]
    for i, (name, when) in enumerate(boundaries):
        started[0] = time.time()
        known = run_until(command(recipe), when, tmp_path / f"killed-{i}.stderr")
        assert not (out / "manifest.json").exists(), f"{name}: the kill landed after the run finished"
        assert_no_orphans(known)
    # where the kills landed: stage 0 complete, the pass finished, stage 1 run, no manifest
    assert count(stage0 / "parts") == TASKS and (global0 / "DONE.json").exists()
    assert count(work / "spark" / "committed") >= 1
    resumed = subprocess.run(command(recipe), capture_output=True, text=True, timeout=600, env=SPARK_ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert fingerprint(out) == reference


def python_workers(known: dict[int, psutil.Process]) -> list[psutil.Process]:
    """pyspark's forked Python workers: children of the ``pyspark.daemon`` process."""
    daemons = [p for p in known.values() if p.is_running() and "pyspark.daemon" in p.info["cmd"]]
    return [c for d in daemons for c in d.children() if c.is_running()]


def kill_workers_when(cmd: list[str], when: Callable[[], bool], log: Path, timeout: float = 600) -> int:
    """Run ``cmd``; when ``when()`` holds, SIGKILL every pyspark Python worker of the run (tasks then running die
    mid-task); returns the run's exit status."""
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, env=SPARK_ENV)
    known: dict[int, psutil.Process] = {}
    deadline = time.time() + timeout
    killed = 0
    looked = 0.0
    try:
        while proc.poll() is None and not killed:
            assert time.time() < deadline, "the kill point never came"
            if time.time() - looked > 0.1:
                family(proc.pid, known)
                looked = time.time()
            if when():
                for worker in python_workers(family(proc.pid, known)):
                    try:
                        worker.kill()
                        killed += 1
                    except psutil.NoSuchProcess:
                        pass
            time.sleep(0.002)
        assert killed, f"no Python worker was running at the kill point: {log.read_text(errors='replace')[-3000:]}"
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.timeout(1200)  # two Spark runs, each starting a JVM
def test_killed_python_workers_fail_the_run_naming_the_task_or_are_retried(tmp_path, shared_data, reference):
    recipe = write_recipe(tmp_path, shared_data)
    out = tmp_path / "out"
    attempts = out / ".jacorpus" / "stage0" / ".jacorpus" / "spark" / "attempts"
    # local[2]: no task retries. Workers killed while stage 0 tasks run (an attempt folder exists)
    log = tmp_path / "no-retry.stderr"
    status = kill_workers_when(command(recipe, "local[2]"), lambda: count(attempts) >= 1, log)
    stderr = log.read_text(errors="replace")
    assert status == 1, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr[-3000:]
    found = re.fullmatch(r"error: stage 0 task (\d+) \(input (/\S+\.txt)\) failed 1 times on Spark: its Python "
                         r"worker died .*", errors[0])
    assert found, errors[0]
    assert Path(found.group(2)).is_file() and LAWS in found.group(2)
    assert "Traceback" not in stderr
    assert not (out / "manifest.json").exists()
    # local[2,3]: a failed task is tried again. Workers killed while stage 1 tasks run; the run completes
    final_attempts = out / ".jacorpus" / "spark" / "attempts"
    log = tmp_path / "retried.stderr"
    status = kill_workers_when(command(recipe, "local[2,3]"), lambda: count(final_attempts) >= 1, log)
    assert status == 0, log.read_text(errors="replace")[-3000:]
    assert fingerprint(out) == reference
