"""The `jacorpus` command's entry point (``jacorpus.cli:main``; the typer app is ``jacorpus/commands.py``). It imports
only ``sys`` at the top: a local ``corpus run`` starts the forkserver of its task processes before typer and the
command modules load, and a task process, which re-runs this module as its parent's main module, loads nothing."""

from __future__ import annotations

import sys


def engine_of(argv: list[str]) -> str:
    """The ``--engine`` of a ``corpus run`` command line (``local`` when absent), read before typer parses it."""
    for i, arg in enumerate(argv):
        if arg.startswith("--engine="):
            return arg.split("=", 1)[1]
        if arg == "--engine" and i + 1 < len(argv):
            return argv[i + 1]
    return "local"


def start_task_server_early(argv: list[str]) -> None:
    """``jacorpus corpus run`` on the local engine: start the forkserver its task processes start from before typer
    and the CLI modules load (~0.1 CPU-s), so that its imports (~0.75 CPU-s) end as early as possible; the first task
    waits for them (bench/startup.py). Any other command, ``--help`` or another engine starts nothing."""
    if argv[1:3] == ["corpus", "run"] and "--help" not in argv and engine_of(argv) == "local":
        from jacorpus.pipelines.forkserver import start_early

        start_early()


def main() -> None:
    """The ``jacorpus`` command. A task process re-runs its parent's main script or module (multiprocessing's spawn
    preparation, under the name ``__mp_main__``): it imports this module, which loads nothing and starts nothing."""
    start_task_server_early(sys.argv)
    from jacorpus.commands import app

    app()


if __name__ == "__main__":
    main()
