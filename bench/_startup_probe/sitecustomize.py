"""bench/startup.py's probe. Python loads this ``sitecustomize`` in every process of a measured run (the folder is on
PYTHONPATH; the forkserver and the task processes of the local engine included): the first
``datatrove.data.Document`` built in any of them writes ``$FIRST_DOCUMENT_JSON`` with

- ``cpu_s``: CPU seconds of the run's processes so far (the first process and all its descendants, live or reaped),
- ``wall_s``: wall seconds since the run's first process started.

Nothing is imported early: ``datatrove.data`` is patched when the run itself imports it.
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys
import time

OUT = os.environ.get("FIRST_DOCUMENT_JSON")
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str]:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()  # fields from the 3rd (state) on


def _run_cpu_seconds(root: str) -> float:
    """utime + stime (and those of reaped children) of root and its descendants; this process by process_time."""
    parents, ticks = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = _stat(pid)
        except OSError:  # exited meanwhile
            continue
        parents[pid] = fields[1]
        ticks[pid] = sum(int(x) for x in fields[11:15]) if pid != str(os.getpid()) else 0
    total = time.process_time() * TICK
    for pid, tick in ticks.items():
        node = pid
        while node in parents and node != root:
            node = parents[node]
        if node == root:
            total += tick
    return total / TICK


def _wall_seconds(root: str) -> float:
    started = int(_stat(root)[19]) / TICK
    with open("/proc/uptime") as fh:
        return float(fh.read().split()[0]) - started


def _patch(document_class: type) -> None:
    init = document_class.__init__

    def noting_init(self, *args, **kwargs):
        if not getattr(document_class, "_first_noted", False):
            document_class._first_noted = True
            root = os.environ["FIRST_DOCUMENT_ROOT"]
            try:
                fd = os.open(OUT, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # the first process to get here writes
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    json.dump({"cpu_s": _run_cpu_seconds(root), "wall_s": _wall_seconds(root), "pid": os.getpid()}, fh)
        init(self, *args, **kwargs)

    document_class.__init__ = noting_init


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "datatrove.data":
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _patch(module.Document)

        spec.loader.exec_module = exec_and_patch
        return spec


if OUT:
    os.environ.setdefault("FIRST_DOCUMENT_ROOT", str(os.getpid()))  # the run's first process; children inherit it
    sys.meta_path.insert(0, _PatchOnImport())
