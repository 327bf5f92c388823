"""Local engine: datatrove's LocalPipelineExecutor, one task per input file, resumable after a crash.

A rerun skips tasks datatrove marked complete; a task that died mid-way is run again from the start after its
leftover shards are removed (see ``ShardWriter``), so the final output equals an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from typing import Any, Callable, Iterator, Sequence

from jacorpus.corpus.dedup.prepare import SpillReducer
from jacorpus.corpus.global_pass import run_global_pass
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text
from jacorpus.pipelines.manifest import finalize
from jacorpus.pipelines.plan import Plan, Stage, StageTask


class OutputConflictError(RuntimeError):
    """The output folder holds another recipe's run."""


def check_output_dir(plan: Plan, overwrite: bool = False) -> None:
    """A resumed run must be the same recipe; refuse to mix outputs of two recipes in one directory."""
    marker = storage.join(plan.work_dir, "recipe.json")
    recipe = json.dumps(plan.recipe.as_dict(), sort_keys=True)
    if storage.exists(marker):
        previous = storage.read_text(marker)
        if previous != recipe:
            if not overwrite:
                raise OutputConflictError(
                    f"{plan.output_dir} holds the output of a different recipe; pass --overwrite to replace it, "
                    "or write elsewhere (--output, or the recipe's output.dir)"
                )
            storage.rmtree(plan.output_dir)
    elif storage.exists(storage.join(plan.output_dir, "manifest.json")) and overwrite:
        storage.rmtree(plan.output_dir)
    storage.makedirs(plan.work_dir)
    atomic_write_text(marker, recipe, fsync=False)


def _progress_thread(stage: Stage, total: int, stop: threading.Event, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    parts_dir = storage.join(stage.output_dir, ".jacorpus", "parts")
    interval = 5.0 if storage.is_url(parts_dir) else 0.5  # a listing of an object store is a request

    def poll() -> None:
        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False) as bar:
            task = bar.add_task(label, total=total)
            while not stop.wait(interval):
                bar.update(task, completed=min(len(storage.listdir(parts_dir)), total))
            bar.update(task, completed=min(len(storage.listdir(parts_dir)), total))

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    return thread


def log_file_path(path: str) -> str:
    """A local file for the redirected stderr: ``path`` itself, or for a work folder on an object store a file in
    this machine's temporary folder (a file descriptor needs a real file)."""
    if not storage.is_url(path):
        return path
    import tempfile

    return os.path.join(tempfile.gettempdir(), "jacorpus-logs", path.replace("://", "/").replace("/", "_"))


@contextlib.contextmanager
def stderr_to_file(path: str, enabled: bool) -> Iterator[None]:
    """datatrove logs every task at INFO on stderr (fd 2, also in worker processes); behind a progress bar that
    noise goes to a log file instead, and its tail is shown if the run fails."""
    if not enabled:
        yield
        return
    path = log_file_path(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    except BaseException:
        os.dup2(saved, 2)
        with open(path, "rb") as log:
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
        raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class ProcessPoolRunner:
    """Runs the tasks of a global pass's phases inline (one worker) or on one process pool shared by all phases of
    the pass, with a progress bar per phase."""

    def __init__(self, workers: int, progress: bool) -> None:
        self.workers, self.progress, self.pool = workers, progress, None

    def __enter__(self) -> "ProcessPoolRunner":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], label: str) -> list[Any]:
        from rich.progress import track

        if self.workers <= 1 or len(tasks) <= 1:
            return [fn(t) for t in track(tasks, description=label, disable=not self.progress)]
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("forkserver")  # like datatrove: no fork of a threaded parent
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        results = self.pool.map(fn, tasks)
        return list(track(results, total=len(tasks), description=label, disable=not self.progress))


def run_global_pass_locally(stage: Stage, work_dir: str, workers: int, progress: bool) -> dict[str, Any]:
    """The pass of ``stage.global_step`` over the stage's shards, on this machine's processes (local and Slurm)."""
    with ProcessPoolRunner(workers, progress) as runner:
        return run_global_pass(stage.global_step, stage.output_dir, work_dir, SpillReducer(runner))


def run_local(plan: Plan, workers: int = 1, progress: bool = True, overwrite: bool = False,
              faults: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``faults`` (tests): called at each task's fault points (see ``TaskContext``)."""
    from datatrove.executor.local import LocalPipelineExecutor

    check_output_dir(plan, overwrite)
    for stage in plan.stages:
        executor = LocalPipelineExecutor(
            pipeline=[StageTask(stage, faults)],
            tasks=plan.tasks,
            workers=min(workers, plan.tasks),
            logging_dir=os.path.join(plan.work_dir, "logs", f"stage{stage.index}"),
            skip_completed=True,
        )
        stop = threading.Event()
        thread = _progress_thread(stage, plan.tasks, stop, stage.label) if progress else None
        try:
            with stderr_to_file(os.path.join(plan.work_dir, "logs", "stderr.log"), enabled=progress):
                executor.run()
        finally:
            stop.set()
            if thread:
                thread.join()
        if stage.global_step is not None:
            run_global_pass_locally(stage, os.path.join(plan.work_dir, f"global{stage.index}"), workers, progress)
    return finalize(plan, engine="local")
