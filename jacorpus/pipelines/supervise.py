"""Supervised local execution: every task runs in a child process of its own, watched by the parent.

datatrove's ``LocalPipelineExecutor`` runs tasks on a ``multiprocess.Pool``; when the kernel (OOM killer) or a user
SIGKILLs one pool worker, the pool replaces the worker but the task it ran is never answered, so the run waited
forever (measured: 240-600 s idle with 30 of 31 tasks done, no error). Here the parent waits on each child's
*sentinel*, so a death is seen the moment it happens: the run stops at once, names the task, its input file and the
cause (the signal), and the death is recorded (``DeathRecords``) so the engine can quarantine an input file that
kills its worker again and again instead of failing every rerun.

Children run with ``PR_SET_PDEATHSIG`` (Linux ``prctl``): when the parent dies (SIGKILL, OOM) they are killed too
instead of running on as orphans holding files and sockets. Tasks talk to the parent over pipes only: no
``multiprocessing`` queue, lock or semaphore exists, so a killed run leaves no semaphore for the resource tracker to
report as leaked. Children start from a ``forkserver`` (no fork of the threaded parent, as in datatrove) that has
jacorpus's modules imported once, so a task's process starts fast (``forkserver.py``).

A stage's tasks run datatrove's executor (its logs, stats and completion markers) in the task's process only
(``DatatroveTask``): the run's process sends its first tasks before it imports datatrove's executor at all
(``run_stage``), as that import (``datatrove.io``: fsspec and huggingface_hub, ~0.33 CPU-s) otherwise stood
between the plan and the first document.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections import deque
from typing import Any, Callable, Sequence

from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import DiskError, atomic_write_text, first_disk_error
from jacorpus.pipelines.forkserver import forkserver_context

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class TaskFailedError(RuntimeError):
    """A task raised: the message names the task and its input; the child's traceback is in ``details``."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class WorkerDiedError(TaskFailedError):
    """A task's process ended without an answer (killed by a signal, e.g. SIGKILL from the OOM killer)."""


def die_with_parent(run_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent exits; exit now if the run is already gone.

    The parent of a task's process is the forkserver, which exits when the run's process (``run_pid``) dies, so
    the signal follows the run's death."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        os.kill(run_pid, 0)  # the run died before prctl took effect
    except ProcessLookupError:
        os._exit(1)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = " (sent by the kernel's OOM killer when memory runs out, or by a user)" if -code == signal.SIGKILL else ""
        return f"killed by {name}{why}"
    return f"exited with status {code} without an answer"


def _child(conn: Any, fn: Callable[[Any], Any], arg: Any, run_pid: int) -> None:
    die_with_parent(run_pid)
    try:
        result = fn(arg)
    except BaseException as exc:  # noqa: BLE001 - any failure goes back to the parent, which ends the run
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        conn.close()
        sys.exit(1)
    conn.send(("ok", result))
    conn.close()


def supervise(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int, describe: Callable[[Any], str],
              on_death: Callable[[Any, str], None] | None = None,
              on_done: Callable[[Any], None] | None = None,
              on_started: Callable[[], None] | None = None) -> list[Any]:
    """``fn(task)`` for every task, each in its own child process, at most ``workers`` at once; results in order.

    ``on_started()`` is called once, when the first tasks' processes have been started (work the run's process can
    do while they run). The first failure stops the run: the other children are stopped and ``TaskFailedError``
    (the task raised) or ``WorkerDiedError`` (its process died; ``on_death(task, cause)`` is called first) is
    raised."""
    from multiprocess.connection import wait

    ctx = forkserver_context()
    pending = deque(enumerate(tasks))
    results: list[Any] = [None] * len(tasks)
    running: dict[Any, tuple[int, Any, Any]] = {}  # sentinel -> (index, process, connection)
    answers: dict[int, tuple] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                index, task = pending.popleft()
                receive, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(send, fn, task, os.getpid()), daemon=True)
                proc.start()
                send.close()  # the child holds the only write end: EOF when it dies
                running[proc.sentinel] = (index, proc, receive)
            if on_started is not None:
                on_started, started = None, on_started
                started()
            by_conn = {conn: sentinel for sentinel, (_, _, conn) in running.items()}
            ready = wait(list(running) + list(by_conn))
            for conn in [r for r in ready if r in by_conn]:  # answers first, then exits
                index = running[by_conn[conn]][0]
                try:
                    answers[index] = conn.recv()
                except (EOFError, OSError):
                    pass
            for sentinel in [r for r in ready if isinstance(r, int) and r in running]:
                index, proc, conn = running.pop(sentinel)
                if index not in answers and conn.poll():
                    try:
                        answers[index] = conn.recv()
                    except (EOFError, OSError):
                        pass
                proc.join()
                conn.close()
                answer = answers.pop(index, None)
                task = tasks[index]
                if answer is not None and answer[0] == "ok":
                    results[index] = answer[1]
                    if on_done is not None:
                        on_done(task)
                elif answer is not None:
                    raise TaskFailedError(f"{describe(task)} failed: {answer[1]}", answer[2])
                else:
                    cause = describe_exit(proc.exitcode)
                    if on_death is not None:
                        on_death(task, cause)
                    raise WorkerDiedError(f"{describe(task)}: worker {cause}")
        return results
    finally:
        stop(running.values())


def stop(children: Any) -> None:
    """End the children still running (a failed run): SIGTERM, then SIGKILL after a grace period."""
    children = list(children)
    for _, proc, _ in children:
        if proc.is_alive():
            proc.terminate()
    for _, proc, conn in children:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        conn.close()


class DeathRecords:
    """How often each task's worker died, across runs: ``<work_dir>/deaths/stage<k>-<rank>.json``."""

    def __init__(self, work_dir: str) -> None:
        self.directory = storage.join(work_dir, "deaths")  # a path or a URL (s3://...)

    def path(self, stage: int, rank: int) -> str:
        return storage.join(self.directory, f"stage{stage}-{rank:05d}.json")

    def causes(self, stage: int, rank: int) -> list[str]:
        try:
            return list(json.loads(storage.read_text(self.path(stage, rank)))["causes"])
        except (OSError, ValueError, KeyError):
            return []

    def add(self, stage: int, rank: int, cause: str) -> int:
        causes = self.causes(stage, rank) + [cause]
        storage.makedirs(self.directory)
        atomic_write_text(self.path(stage, rank), json.dumps({"causes": causes}))
        return len(causes)


MAX_WORKER_DEATHS = 3  # a file whose worker died this often is quarantined on the next run


def incomplete_ranks(logging_dir: str, tasks: int) -> list[int]:
    """The ranks without datatrove's completion marker (``<logging_dir>/completions/<rank:05d>``, written when a
    task ends well): what ``LocalPipelineExecutor.get_incomplete_ranks`` gives, read without importing it."""
    done = set(storage.listdir(storage.join(logging_dir, "completions")))
    return [rank for rank in range(tasks) if f"{rank:05d}" not in done]


class DatatroveTask:
    """One rank of a stage, run in the task's process by datatrove's ``LocalPipelineExecutor`` (its log file,
    stats and completion marker). The executor is built here, where the forkserver has imported it already."""

    def __init__(self, pipeline: list[Any], tasks: int, workers: int, logging_dir: str) -> None:
        self.pipeline, self.tasks, self.workers, self.logging_dir = pipeline, tasks, workers, logging_dir

    def executor(self) -> Any:
        from datatrove.executor.local import LocalPipelineExecutor

        return LocalPipelineExecutor(pipeline=self.pipeline, tasks=self.tasks, workers=self.workers,
                                     logging_dir=self.logging_dir, skip_completed=True)

    def __call__(self, rank: int) -> Any:
        # datatrove logs a task at INFO on stderr when its local_rank is 0, else errors only; its full log goes to
        # logging_dir either way, and the run's progress bar and error line say the rest
        try:
            return self.executor()._run_for_rank(rank, local_rank=1)
        except OSError as exc:
            found = first_disk_error(exc)  # datatrove's log and stats writes into a full disk fail after the task
            if found is exc:
                raise
            raise DiskError(*found.args) from None


def run_stage(task: DatatroveTask, describe: Callable[[int], str],
              on_death: Callable[[int, str], None] | None = None,
              on_started: Callable[[], None] | None = None) -> None:
    """Every rank of ``task`` not marked complete, supervised (``supervise``). datatrove's ``executor.json`` (what
    ran, for the record) is written once the first tasks are running: building it imports datatrove's executor in
    this process, which then overlaps their work instead of delaying it."""
    ranks = incomplete_ranks(task.logging_dir, task.tasks)
    if not ranks:  # a resumed run whose stage is done
        if on_started is not None:
            on_started()
        return

    def started() -> None:
        task.executor().save_executor_as_json()
        if on_started is not None:
            on_started()

    supervise(task, ranks, task.workers, describe, on_death, on_started=started)


def spark_task_failure(exc: BaseException, describe: Callable[[int], str]) -> BaseException:
    """A failed Spark job restated like a local failure: which task (``describe(partition)``: its stage, rank and
    input), how often Spark tried it, and whether its Python worker died. ``exc`` itself when it is no task failure."""
    import re

    text = str(exc)
    match = re.search(r"Task (\d+) in stage [\d.]+ failed (\d+) times?", text)
    if match is None:
        return exc
    if "Python worker exited unexpectedly" in text or "crashed" in text or "ExecutorLostFailure" in text:
        cause = "its Python worker died (killed by a signal, e.g. the OOM killer's SIGKILL)"
    else:
        found = re.search(r"^\s*(\w+(?:Error|Exception): .*)$", text, re.MULTILINE)
        cause = f"it raised {found.group(1)[:300]}" if found else "it failed"
    error = WorkerDiedError if cause.startswith("its Python worker died") else TaskFailedError
    return error(f"{describe(int(match.group(1)))} failed {match.group(2)} times on Spark: {cause}")
