"""The forkserver every supervised task process of the local engine starts from (``supervise.py``).

It imports ``PRELOAD`` once, so that a task's process starts with them loaded (bench/task_processes.py: a fraction of
a second per task process, against ~3 s when each process imports datatrove's executor itself). ``start_early``
launches it before the run builds its plan: the server's imports then overlap the run's own (this module imports
nothing heavy). ``JACORPUS_FORKSERVER_EARLY=0`` starts it at the first task instead (bench/startup.py compares the
two in one run: bench/results/startup_2cpus.md; on one CPU the two processes only take turns).
"""

from __future__ import annotations

import os
import sys

PRELOAD = ["jacorpus.pipelines.supervise", "jacorpus.pipelines.local", "jacorpus.pipelines.plan",
           "jacorpus.corpus.global_pass", "jacorpus.corpus.dedup.prepare"]


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
    """Start the forkserver now (its imports run beside this process's); later task processes start from it."""
    if os.environ.get("JACORPUS_FORKSERVER_EARLY", "1") == "0":
        return
    from multiprocess import forkserver

    forkserver_context()
    forkserver.ensure_running()
