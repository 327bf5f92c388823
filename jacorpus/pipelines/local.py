"""Local engine: datatrove's LocalPipelineExecutor, one task per input file, resumable after a crash.

Each task runs in a supervised child process (``supervise.py``): a worker killed by a signal (OOM killer, user)
ends the run at once with the task, its input and the signal named. A rerun skips tasks datatrove marked complete;
a task that died mid-way is run again from the start after its leftover shards are removed (see ``ShardWriter``), so
the final output equals an uninterrupted run. The output folder is guarded and locked (``output_dir.py``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any, Callable, Iterator, Sequence

from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text
from jacorpus.pipelines.manifest import finalize
from jacorpus.pipelines.output_dir import OutputConflictError, claim_output_dir  # noqa: F401 - engines' one error
from jacorpus.pipelines.output_dir import check_output_dir as _check_output_dir
from jacorpus.pipelines.plan import Plan, Stage, StageTask
from jacorpus.pipelines.supervise import MAX_WORKER_DEATHS, DatatroveTask, DeathRecords, run_stage, supervise


def check_output_dir(plan: Plan, overwrite: bool = False) -> None:
    """Spark and Slurm: the output folder guard (``output_dir.py``) before they start."""
    _check_output_dir(plan.output_dir, plan.recipe.as_dict(), overwrite)


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
    """Runs the tasks of a global pass's phases inline (one worker) or each in a supervised child process
    (``supervise.py``: a killed worker ends the pass at once, naming the phase and task), with a progress bar per
    phase."""

    def __init__(self, workers: int, progress: bool, faults: Callable[[str], None] | None = None) -> None:
        self.workers, self.progress, self.faults = workers, progress, faults

    def __enter__(self) -> "ProcessPoolRunner":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], label: str) -> list[Any]:
        from rich.progress import Progress, track

        def done(numbered: tuple[int, Any]) -> None:
            if self.faults is not None:  # tests: the driver's point after each finished task of a phase
                self.faults(f"global:{label}:{numbered[0]}")

        if self.workers <= 1 or len(tasks) <= 1:
            results = []
            for i, task in enumerate(track(tasks, description=label, disable=not self.progress)):
                results.append(fn(task))
                done((i, task))
            return results
        numbered = list(enumerate(tasks))
        with Progress(disable=not self.progress) as bar:
            task_id = bar.add_task(label, total=len(tasks))

            def advance(numbered: tuple[int, Any]) -> None:
                bar.advance(task_id)
                done(numbered)

            results = supervise(_numbered(fn), numbered, self.workers, lambda t: f"{label}: task {t[0]}",
                                on_done=advance)
        return results


class _numbered:
    """``fn`` of a (number, task) pair: the number names the task in a failure message."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, numbered: tuple[int, Any]) -> Any:
        return self.fn(numbered[1])


def run_global_pass_locally(stage: Stage, work_dir: str, workers: int, progress: bool,
                            faults: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The pass of ``stage.global_step`` over the stage's shards, on this machine's processes (local and Slurm)."""
    # imported here, not at the top: the run's process loads the dedup machinery only for a global step (0.07
    # CPU-s before the first document otherwise); the task processes' forkserver preloads it (forkserver.py)
    from jacorpus.corpus.dedup.prepare import SpillReducer
    from jacorpus.corpus.global_pass import run_global_pass

    with ProcessPoolRunner(workers, progress, faults) as runner:
        return run_global_pass(stage.global_step, stage.output_dir, work_dir, SpillReducer(runner))


def quarantined_inputs(plan: Plan, stage: Stage, max_worker_deaths: int = MAX_WORKER_DEATHS) -> dict[int, str]:
    """rank -> why, for the stage-0 tasks whose worker died ``max_worker_deaths`` times (``DeathRecords``): their
    input is not read again but reported as an input error. Only stage 0 reads input files; later tasks read
    jacorpus's own shards."""
    if stage.index != 0:
        return {}
    deaths = DeathRecords(plan.work_dir)
    quarantined = {}
    for rank in range(plan.tasks):
        causes = deaths.causes(0, rank)
        if len(causes) >= max_worker_deaths:
            quarantined[rank] = (f"its worker died {len(causes)} times ({causes[-1]}); remove "
                                 f"{os.path.relpath(deaths.path(0, rank), plan.output_dir)} to read it again")
    return quarantined


def run_local(plan: Plan, workers: int = 1, progress: bool = True, overwrite: bool = False,
              faults: Callable[[str], None] | None = None, max_worker_deaths: int = MAX_WORKER_DEATHS) -> dict[str, Any]:
    """Every task in a supervised child process (``supervise.py``): a dead worker ends the run at once, naming the
    task, its input and the signal; an input file whose worker died ``max_worker_deaths`` times is quarantined on
    the next run (an error entry in the manifest) instead of failing every rerun. ``faults`` (tests): called at each
    task's fault points (see ``TaskContext``)."""
    with claim_output_dir(plan.output_dir, plan.recipe.as_dict(), overwrite):
        deaths = DeathRecords(plan.work_dir)
        # fd 2 is redirected into a local file; for an object-store output that file lives in a local scratch folder
        logs = storage.scratch_dir("jacorpus-logs-") if storage.is_url(plan.work_dir) else plan.work_dir
        stderr_log = os.path.join(logs, "logs", "stderr.log")
        for stage in plan.stages:
            quarantined = quarantined_inputs(plan, stage, max_worker_deaths)
            task = DatatroveTask([StageTask(stage, faults, quarantined)], tasks=plan.tasks,
                                 workers=min(workers, plan.tasks),
                                 logging_dir=os.path.join(plan.work_dir, "logs", f"stage{stage.index}"))
            stop = threading.Event()
            threads: list[threading.Thread] = []

            def show_progress() -> None:  # once the first tasks run: rich no longer loads before the first document
                threads.append(_progress_thread(stage, plan.tasks, stop, stage.label))

            try:
                with stderr_to_file(stderr_log, enabled=progress):
                    run_stage(task, describe=lambda rank, stage=stage: plan.describe_task(stage, rank),
                              on_death=lambda rank, cause, stage=stage: deaths.add(stage.index, rank, cause),
                              on_started=show_progress if progress else None)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
            if stage.global_step is not None:
                run_global_pass_locally(stage, os.path.join(plan.work_dir, f"global{stage.index}"), workers, progress,
                                        faults)
        if faults is not None:
            faults("finalize")
        return finalize(plan, engine="local")
