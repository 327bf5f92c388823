"""Fault hooks for tests: engines take ``faults=`` and call it at named points of each task (``TaskContext``).

``FailOnce`` makes the first attempt at each named point fail, after the work of that point is done, so a test can
check that the engine retries or resumes to the same output. ``KillWorker`` and ``KillRun`` really SIGKILL a
worker or the whole run at a named point (``read:<file index>``, ``stage<i>:<rank>``, ``global:<phase>:<task>``, ``finalize``). Attempts in other processes (Spark executors, pool
workers) see each other's failures through marker files, which also let the test assert a failure happened.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class FailOnce:
    points: frozenset[str]  # e.g. {"stage0:1"} or {"global:2"}
    marker_dir: str

    def marker(self, point: str) -> str:
        return os.path.join(self.marker_dir, "failed-once-" + point.replace(":", "-"))

    def __call__(self, point: str) -> None:
        if point not in self.points or os.path.exists(self.marker(point)):
            return
        os.makedirs(self.marker_dir, exist_ok=True)
        open(self.marker(point), "w").close()
        raise RuntimeError(f"injected failure at {point}")


@dataclass(frozen=True)
class KillWorker:
    """SIGKILLs the process that reaches one of ``points`` (a task's worker), every time it gets there: a worker
    killed by the OOM killer, or an input file that kills its worker on every attempt."""

    points: frozenset[str]

    def __call__(self, point: str) -> None:
        if point in self.points:
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class KillRun:
    """SIGKILLs the run's own process (``pid``, the engine's driver) when any task or the driver reaches one of
    ``points``: ``kill -9`` of the whole job at a known place (its children die with it, see supervise.py)."""

    points: frozenset[str]
    pid: int

    def __call__(self, point: str) -> None:
        if point in self.points:
            os.kill(self.pid, signal.SIGKILL)
            time.sleep(60)  # a task's process: dies with the run (PR_SET_PDEATHSIG), never goes on
