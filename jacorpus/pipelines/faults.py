"""Fault hooks for tests: engines take ``faults=`` and call it at named points of each task (``TaskContext``).

``FailOnce`` makes the first attempt at each named point fail, after the work of that point is done, so a test can
check that the engine retries or resumes to the same output. Attempts in other processes (Spark executors, pool
workers) see each other's failures through marker files, which also let the test assert a failure happened.
"""

from __future__ import annotations

import os
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
