"""The output folder guard every engine calls first: whose folder it is, what ``--overwrite`` may remove, one run.

- jacorpus marks a folder as its output with ``.jacorpus/recipe.json`` (the recipe, written before any shard).
- A folder with that marker and the same recipe is resumed; with another recipe it is refused, or, with
  ``--overwrite``, cleared of the files jacorpus writes (``OWNED``) and nothing else.
- A folder without the marker that holds anything (a ``manifest.json`` copied from elsewhere, someone's
  ``src/``) is not jacorpus's: refused with or without ``--overwrite``, never emptied.
- One run at a time: the run holds an exclusive lock on ``.jacorpus/run.lock`` (``fasteners``, an ``fcntl`` lock
  the kernel drops when the process dies, so a killed run never blocks its rerun); a second run into the same
  folder is refused while the first holds it. An object-store output (``s3://...``) has no such lock: the marker
  and ownership rules hold there too, but one run at a time is the user's to keep (say so in docs/engines.md).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
from typing import Any, Iterator

from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text

WORK = ".jacorpus"
MARKER = "recipe.json"
LOCK = "run.lock"
# what jacorpus writes into an output folder (corpus run, then `jacorpus card`): the only names --overwrite removes
OWNED = [WORK, "dropped", "shard-*.arrow", "shard-*.parquet", "shard-*.tmp", "manifest.json", "manifest.json.*.tmp",
         "state.json", "dataset_info.json", "state.json.*.tmp", "dataset_info.json.*.tmp", "README.md", "plots",
         "data"]


class OutputConflictError(RuntimeError):
    """The output folder is not this recipe's: another recipe's output, a foreign folder, or a running job's."""


def _owned(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in OWNED)


def _remove_owned(output_dir: str, keep: str) -> None:
    """Remove what jacorpus wrote into ``output_dir``; ``keep`` (the held lock file) and foreign files stay."""
    if storage.is_url(output_dir):
        for name in storage.listdir(output_dir):
            if _owned(name):
                path = storage.join(output_dir, name)
                storage.rmtree(path) if storage.isdir(path) else storage.remove(path)
        return
    for name in os.listdir(output_dir):
        path = os.path.join(output_dir, name)
        if not _owned(name):
            continue
        if name == WORK:
            for inner in os.listdir(path):
                inner_path = os.path.join(path, inner)
                if inner_path == keep:
                    continue
                shutil.rmtree(inner_path) if os.path.isdir(inner_path) and not os.path.islink(inner_path) \
                    else os.remove(inner_path)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def _check(output_dir: str, recipe: str, overwrite: bool, lock_path: str) -> None:
    marker = storage.join(output_dir, WORK, MARKER)
    _refuse_foreign(output_dir)
    if storage.exists(marker):
        previous = storage.read_text(marker)
        if previous == recipe:
            return  # the same recipe: resume
        if not overwrite:
            raise OutputConflictError(
                f"{output_dir} holds the output of a different recipe; pass --overwrite to replace it, "
                "or write elsewhere (--output, or the recipe's output.dir)")
        _remove_owned(output_dir, keep=lock_path)


def _refuse_foreign(output_dir: str) -> None:
    """A folder without jacorpus's marker that holds anything is someone else's."""
    if not storage.isdir(output_dir) or storage.exists(storage.join(output_dir, WORK, MARKER)):
        return
    foreign = sorted(name for name in storage.listdir(output_dir) if name != WORK)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise OutputConflictError(
            f"{output_dir} is not empty and was not written by jacorpus (no {WORK}/{MARKER}; it holds {shown}): "
            "refusing to write there, with or without --overwrite; choose an empty or new folder")


@contextlib.contextmanager
def claim_output_dir(output_dir: str, recipe: dict[str, Any], overwrite: bool = False) -> Iterator[None]:
    """Hold ``output_dir`` for one run of ``recipe`` (see the module doc); raises ``OutputConflictError``."""
    import fasteners

    _refuse_foreign(output_dir)  # before creating anything in it
    if storage.is_url(output_dir):  # no lock on an object store (see the module doc)
        text = json.dumps(recipe, sort_keys=True)
        _check(output_dir, text, overwrite, "")
        atomic_write_text(storage.join(output_dir, WORK, MARKER), text)
        yield
        return
    os.makedirs(os.path.join(output_dir, WORK), exist_ok=True)
    lock_path = os.path.join(output_dir, WORK, LOCK)
    lock = fasteners.InterProcessLock(lock_path)
    if not lock.acquire(blocking=False):
        raise OutputConflictError(
            f"another jacorpus run is writing to {output_dir} (it holds {lock_path}); wait for it to finish")
    try:
        text = json.dumps(recipe, sort_keys=True)
        _check(output_dir, text, overwrite, lock_path)
        atomic_write_text(os.path.join(output_dir, WORK, MARKER), text)
        yield
    finally:
        lock.release()


def check_output_dir(output_dir: str, recipe: dict[str, Any], overwrite: bool = False) -> None:
    """The checks of ``claim_output_dir`` without holding the lock afterwards (Slurm: the jobs run later)."""
    with claim_output_dir(output_dir, recipe, overwrite):
        pass
