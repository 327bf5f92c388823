"""The forkserver every supervised task process of the local engine starts from (``supervise.py``).

It imports ``PRELOAD`` once, so that a task's process starts with them loaded (bench/task_processes.py: a fraction of
a second per task process, against ~3 s when each process imports datatrove's executor itself). ``start_early``
launches it as early as the run can: the ``jacorpus`` command calls it before typer loads (``jacorpus/cli.py``),
``corpus run`` again before it plans the run (a no-op then; the call that counts when the command is invoked from
Python), so that the server's imports (~0.75 CPU-s) overlap the run's own; the first task waits for them
(bench/startup.py, docs/engines.md). This module imports nothing heavy. ``JACORPUS_FORKSERVER_EARLY=0`` starts it at
the first task instead (bench/startup.py compares the two in one run).
"""

from __future__ import annotations

import os
import sys

# datatrove's executor first: the run's own process imports it only after its first tasks are sent (supervise.py)
PRELOAD = ["datatrove.executor.local", "jacorpus.pipelines.supervise", "jacorpus.pipelines.local",
           "jacorpus.pipelines.plan", "jacorpus.corpus.global_pass", "jacorpus.corpus.dedup.prepare"]


def forkserver_context():
    """multiprocess's forkserver context (datatrove's dill-based multiprocessing: it pickles what datatrove's own pool
    pickles), preloading ``PRELOAD`` plus the jacorpus modules this process has imported (its steps and sources) when
    the server is not running yet."""
    import multiprocess

    ctx = multiprocess.get_context("forkserver")
    loaded = sorted(name for name in sys.modules if name.startswith("jacorpus.") and name not in PRELOAD)
    ctx.set_forkserver_preload(PRELOAD + loaded)
    return ctx


def start_early() -> None:
    """Start the forkserver now (its imports run beside this process's); later task processes start from it. Not on
    a single CPU, where the two processes only take turns: there the early start made the first document later
    (bench/startup.py --cpus 1: 1.60 s against 1.41 s with the server started at the first task, one run)."""
    if os.environ.get("JACORPUS_FORKSERVER_EARLY", "1") == "0" or usable_cpus() < 2:
        return
    from multiprocess import forkserver

    forkserver_context()
    forkserver.ensure_running()


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity: taskset, cgroup cpusets, Slurm's binding)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
