"""Atomic file writing: the content goes to a temporary name next to the target, then ``os.replace`` renames it.

A crash leaves at most a ``*.tmp`` file (publish/hub.py ignores those), never a half-written file under the final
name. Temporary names are unique per process and call, so two attempts of one task (a retry, a speculative Spark
twin, two ranks on a shared file system) never write the same temporary file.

A URL target (``s3://...``, see ``foundation/storage.py``) is written to a local temporary file and uploaded under
its final name when complete: an object store shows an object whole or not at all, which is what the rename gives
on a file system.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from typing import Iterator

from jacorpus.foundation import storage


def temporary_path(path: str) -> str:
    """A name next to ``path`` that no other process or call uses; ends in ``.tmp``."""
    return f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"


class DiskError(OSError):
    """A write that failed (full disk, read-only folder), restated with the file it hit."""


def disk_error(exc: OSError, what: str) -> OSError:
    """``exc`` (a full disk, a read-only folder) restated with the file it hit: ``what: No space left on device``."""
    reason = exc.strerror or str(exc)
    return DiskError(exc.errno, f"{what}: {reason}") if exc.errno is not None else DiskError(f"{what}: {reason}")


def first_disk_error(exc: BaseException) -> BaseException:
    """The ``DiskError`` in ``exc``'s chain, else ``exc``: on a full disk, writes that follow the failed one (logs,
    stats in the same folder) fail too, and their errors, which name no file, must not hide the first."""
    seen, current = set(), exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DiskError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return exc


@contextlib.contextmanager
def atomic_output(path: str, fsync: bool = False) -> Iterator[str]:
    """Yields a temporary path to write; on success it replaces ``path``, on failure it is removed.

    ``fsync`` flushes the file to disk before the rename (small marker files whose presence means "done")."""
    if storage.is_url(path):
        tmp = storage.local_temp_path(path)
        try:
            yield tmp
            storage.upload(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return
    tmp = temporary_path(path)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise disk_error(exc, f"cannot write {path}") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path: str, data: bytes, fsync: bool = True) -> None:
    with atomic_output(path, fsync=fsync) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def atomic_write_text(path: str, text: str, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with storage.open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
