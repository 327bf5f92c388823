"""Cost of running every local task in a supervised process of its own (jacorpus/pipelines/supervise.py).

Measures, in one run: the forkserver's start (it imports jacorpus's modules once), then the time per task process
for a task that does nothing, with the preload and (for comparison) without it, where each process imports
datatrove's executor itself. Writes bench/results/task_processes.md.

    PYTHONPATH=. .venv/bin/python bench/task_processes.py
"""

from __future__ import annotations

import os
import time


def nothing(x: int) -> int:
    return x


def per_task(preload: bool, tasks: int = 30) -> tuple[float, float]:
    from jacorpus.pipelines import supervise

    if not preload:  # nothing imported in the forkserver: each task process imports what it unpickles
        def bare_context():
            import multiprocess

            ctx = multiprocess.get_context("forkserver")
            ctx.set_forkserver_preload([])
            return ctx

        supervise.forkserver_context = bare_context
    start = time.perf_counter()
    supervise.supervise(nothing, [0], 1, str)
    first = time.perf_counter() - start
    start = time.perf_counter()
    supervise.supervise(nothing, list(range(tasks)), 1, str)
    return first, (time.perf_counter() - start) / tasks


if __name__ == "__main__":
    import subprocess
    import sys

    if len(sys.argv) > 1:  # one measurement per fresh interpreter (the forkserver is started once per process)
        first, each = per_task(sys.argv[1] == "preload")
        print(f"{first:.2f} {each * 1000:.0f}")
        sys.exit(0)
    rows = []
    for mode in ("preload", "no-preload"):
        out = subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True, check=True).stdout
        first, each = out.split()
        rows.append(f"| {mode} | {first} | {each} |")
    load = os.getloadavg()[0]
    text = "\n".join([
        "# Task processes of the local engine", "",
        "Command: `PYTHONPATH=. .venv/bin/python bench/task_processes.py`", "",
        f"Machine: {os.cpu_count()} cores, load average {load:.1f} while measuring (shared machine).", "",
        "| forkserver | start (s) | per task process (ms) |", "|---|---|---|", *rows, "",
        "A task process costs this once per input file on top of the task's own work.", ""])
    path = os.path.join(os.path.dirname(__file__), "results", "task_processes.md")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
