"""Run a Python command (``-m module args`` or ``script args``) and write ``first.json`` in the working folder with
the CPU seconds of this process and the wall seconds since it started when the first ``datatrove.data.Document`` is
built (bench/startup.py). Only the Document class is imported early, which every contender imports anyway."""

from __future__ import annotations

import json
import os
import runpy
import sys
import time

import datatrove.data


def _since_process_start() -> float:
    with open("/proc/self/stat") as fh:
        started = int(fh.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as fh:
        return float(fh.read().split()[0]) - started


_init = datatrove.data.Document.__init__
_seen = []


def _noting_init(self, *args, **kwargs):
    if not _seen:
        _seen.append(1)
        with open("first.json", "w") as fh:
            json.dump({"cpu_s": time.process_time(), "wall_s": _since_process_start()}, fh)
    _init(self, *args, **kwargs)


datatrove.data.Document.__init__ = _noting_init
if sys.argv[1] == "-m":
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
