"""What a run does before its first document (docs/engines.md, bench/startup.py): the run's process sends its first
tasks before it imports datatrove's executor (the tasks' processes build it; the run writes datatrove's
``executor.json`` once they run), it reads datatrove's completion markers itself, and the ``jacorpus`` command
starts the tasks' forkserver before typer for a local ``corpus run`` only. Each check runs in a fresh interpreter:
what a process has imported is the point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

RUN_AND_WATCH = '''
import json, sys
from jacorpus.pipelines import supervise as sv
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import load_recipe

seen = {}
real = sv.supervise

def watched(*args, **kwargs):  # run_stage's call: the moment the first tasks are sent
    seen.setdefault("executor_loaded_at_first_send", "datatrove.executor.local" in sys.modules)
    return real(*args, **kwargs)

sv.supervise = watched
plan = build_plan(load_recipe(sys.argv[1]))
manifest = run_local(plan, workers=2, progress=False)
seen["executor_loaded_after"] = "datatrove.executor.local" in sys.modules
seen["kept"] = manifest["kept"]
seen["work_dir"] = plan.work_dir
print(json.dumps(seen))
'''


def fresh(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture()
def corpus(tmp_path, shared_data) -> tuple[Path, int]:
    lines = [line.strip() for line in (shared_data / "plain_text_ja_neko_aozora" / "neko.txt")
             .read_text(encoding="utf-8").splitlines() if len(line.strip()) >= 10][:300]
    for i in range(3):  # three input files: three tasks
        (tmp_path / f"neko{i}.jsonl").write_text("".join(json.dumps({"text": line}, ensure_ascii=False) + "\n"
                                                         for line in lines[i * 100:(i + 1) * 100]), encoding="utf-8")
    (tmp_path / "recipe.yaml").write_text(
        "name: first\nsources: [{type: jsonl, paths: ['neko*.jsonl']}]\nsteps: [{normalize: {}}]\n"
        "output: {dir: out}\n", encoding="utf-8")
    return tmp_path, 300


def test_first_tasks_are_sent_before_the_run_imports_datatrove_executor(corpus):
    folder, lines = corpus
    done = fresh(["-c", RUN_AND_WATCH, "recipe.yaml"], folder)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["executor_loaded_at_first_send"] is False
    assert seen["kept"] == lines
    # written after the tasks were sent: datatrove's record of the stage, as its own executor writes it
    record = json.loads((Path(seen["work_dir"]) / "logs" / "stage0" / "executor.json").read_text())
    assert record["world_size"] == 3 and record["workers"] == 2 and record["skip_completed"] is True
    assert seen["executor_loaded_after"] is True


def test_incomplete_ranks_agree_with_datatrove(tmp_path):
    """The run's own reading of the completion markers against datatrove's executor reading the same folder."""
    from datatrove.executor.local import LocalPipelineExecutor

    from jacorpus.pipelines.supervise import incomplete_ranks

    logs = tmp_path / "logs"
    assert incomplete_ranks(str(logs), 4) == [0, 1, 2, 3]  # no folder yet: nothing done
    (logs / "completions").mkdir(parents=True)
    for rank in (0, 2, 5, 11):
        (logs / "completions" / f"{rank:05d}").write_text("")
    (logs / "completions" / "7").write_text("")  # not datatrove's name for rank 7: not done
    executor = LocalPipelineExecutor(pipeline=[], tasks=12, logging_dir=str(logs), skip_completed=True)
    assert incomplete_ranks(str(logs), 12) == executor.get_incomplete_ranks(range(12)) == [1, 3, 4, 6, 7, 8, 9, 10]


@pytest.mark.parametrize("command", ["module", "console script"])
def test_the_command_runs_with_its_early_forkserver(corpus, command):
    """``python -m jacorpus.cli`` and the installed ``jacorpus`` script both start the forkserver before typer loads;
    the task processes re-run the parent's main module and must not start one of their own (a first version that
    started it at import made every task fail with multiprocessing's bootstrapping error)."""
    folder, lines = corpus
    script = Path(sys.executable).parent / "jacorpus"
    head = ["-m", "jacorpus.cli"] if command == "module" else [str(script)]
    done = fresh([*head, "corpus", "run", "recipe.yaml", "--workers", "2", "--no-progress"], folder)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((folder / "out" / "manifest.json").read_text())
    assert manifest["kept"] == lines and manifest["read"] == lines


CHECK_EARLY = '''
import json, os, sys
argv, one_cpu = json.loads(sys.argv[1]), sys.argv[2] == "1"
if one_cpu:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from multiprocess import forkserver
from jacorpus.cli import engine_of, start_task_server_early
start_task_server_early(argv)
print(json.dumps([engine_of(argv), forkserver._forkserver._forkserver_pid is not None]))
'''


@pytest.mark.parametrize("argv, engine, started", [
    (["jacorpus", "corpus", "run", "r.yaml"], "local", True),
    (["jacorpus", "corpus", "run", "r.yaml", "--engine", "local", "--workers", "2"], "local", True),
    (["jacorpus", "corpus", "run", "r.yaml", "--engine", "spark"], "spark", False),
    (["jacorpus", "corpus", "run", "r.yaml", "--engine=slurm"], "slurm", False),
    (["jacorpus", "corpus", "run", "--help"], "local", False),
    (["jacorpus", "corpus", "stats", "out"], "local", False),
    (["jacorpus", "train", "run", "r.yaml"], "local", False),
])
def test_only_a_local_corpus_run_starts_the_forkserver_early(tmp_path, argv, engine, started):
    assert len(os.sched_getaffinity(0)) >= 2, "this check needs two CPUs"
    done = fresh(["-c", CHECK_EARLY, json.dumps(argv), "0"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [engine, started]


def test_on_one_cpu_the_forkserver_starts_at_the_first_task(tmp_path):
    """Pinned to one CPU the server and the run only take turns; the early start made the first document later
    there (bench/results/startup.md), so it is not made."""
    done = fresh(["-c", CHECK_EARLY, json.dumps(["jacorpus", "corpus", "run", "r.yaml"]), "1"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["local", False]
