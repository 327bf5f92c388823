"""Where jacorpus reads and writes: a local path or any fsspec URL (``s3://``, ``gs://``, ``hf://``, ``hdfs://``).

Every place that lists, opens, writes or removes a corpus file (sources, shards, manifests, work files of the
engines and of global passes) goes through these functions. A local path takes exactly the ``os``/``glob`` call it
always took, so local runs (ids, origins, shard bytes) are unchanged; a URL goes through fsspec (datatrove's
``DataFolder`` wraps the same filesystems).

Object stores differ from a POSIX file system in two ways that matter here:
- there is no atomic rename, but an object appears whole or not at all (a PUT, or a multipart upload completed on
  close): ``atomic_output`` writes a local temporary file and uploads it under the final name, so nothing ever
  sees half an object; commit protocols that relied on renaming a directory (Spark attempts) use a commit record
  written by the driver instead (``pipelines/spark.py``);
- "directories" are key prefixes: ``makedirs`` is a no-op and an empty folder does not exist.

Credentials and endpoints come only from the environment the filesystem libraries already read
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``; fsspec's
``FSSPEC_S3_*`` / ``FSSPEC_GCS_*`` configuration), never from a recipe; nothing here prints or stores them.
"""

from __future__ import annotations

import atexit
import builtins
import glob as globlib
import hashlib
import os
import posixpath
import shutil
import tempfile
import uuid
from typing import IO, Any

LOCAL_PROTOCOLS = ("file", "local")


def is_url(path: str) -> bool:
    """True for ``scheme://...`` other than ``file://`` (those are handled as local paths)."""
    head, sep, _ = str(path).partition("://")
    return bool(sep) and head.isidentifier() and head.lower() not in LOCAL_PROTOCOLS


def local_path(path: str) -> str:
    """``file:///x`` -> ``/x``; other paths unchanged."""
    return path[len("file://"):] if str(path).startswith("file://") else path


def resolve(path: str, base_dir: str) -> str:
    """A recipe path: URLs and absolute paths as written, relative ones under the recipe folder."""
    path = local_path(path)
    return path if is_url(path) or os.path.isabs(path) else os.path.join(base_dir, path)


def join(base: str, *parts: str) -> str:
    return posixpath.join(base, *parts) if is_url(base) else os.path.join(base, *parts)


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a URL. fsspec's ``FSSPEC_<PROTOCOL>_<OPTION>`` environment variables
    are read again on each call (fsspec reads them once, at import), so a process configured after importing
    jacorpus is honoured too."""
    import fsspec
    from fsspec.config import conf, set_conf_env

    set_conf_env(conf)
    fs, inner = fsspec.core.url_to_fs(url)
    return fs, inner


def _fresh(url: str) -> tuple[Any, str]:
    """The filesystem with its listing cache dropped: other processes (executors, array tasks) write here, and a
    cached listing would hide their files."""
    fs, inner = filesystem(url)
    fs.invalidate_cache()
    return fs, inner


def exists(path: str) -> bool:
    if not is_url(path):
        return os.path.exists(local_path(path))
    fs, inner = _fresh(path)
    return fs.exists(inner)


def isdir(path: str) -> bool:
    if not is_url(path):
        return os.path.isdir(local_path(path))
    fs, inner = _fresh(path)
    return fs.isdir(inner)


def info(path: str, listed: bool = False) -> dict[str, Any]:
    """``{"type": "file"|"directory"|"other", "size": int}``; FileNotFoundError when absent. ``listed``: a URL may be
    answered from the listing this process just made of its folder (``glob``), without a request per object
    (planning the splits of 100,000 objects)."""
    if not is_url(path):
        st = os.stat(local_path(path))
        import stat

        kind = "directory" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
        return {"type": kind, "size": st.st_size, "mode": st.st_mode}
    fs, inner = filesystem(path) if listed else _fresh(path)
    found = fs.info(inner)
    return {"type": found.get("type", "file"), "size": int(found.get("size") or 0)}


def size(path: str) -> int:
    return os.path.getsize(local_path(path)) if not is_url(path) else info(path)["size"]


def glob(pattern: str) -> list[str]:
    """Sorted matches of a glob (``**`` crosses folders). For a URL pattern: full URLs of objects (the folders a
    listing implies are left out)."""
    if not is_url(pattern):
        return sorted(globlib.glob(local_path(pattern), recursive=True))
    fs, inner = _fresh(pattern)
    found = fs.glob(inner, detail=True)
    return sorted(fs.unstrip_protocol(p) for p, meta in found.items() if meta.get("type") != "directory")


def escape(path: str) -> str:
    """``path`` with glob characters made literal (for a pattern built from a folder name)."""
    if not is_url(path):
        return globlib.escape(path)
    head, sep, tail = path.partition("://")
    return head + sep + globlib.escape(tail)


def listdir(path: str) -> list[str]:
    """Names directly inside a folder; a missing folder (an absent prefix) is empty."""
    if not is_url(path):
        return os.listdir(local_path(path)) if os.path.isdir(local_path(path)) else []
    fs, inner = _fresh(path)
    try:
        return [posixpath.basename(p.rstrip("/")) for p in fs.ls(inner, detail=False)]
    except FileNotFoundError:
        return []


def makedirs(path: str) -> None:
    if not is_url(path):
        os.makedirs(local_path(path), exist_ok=True)
    # object stores have no folders: a key's prefix exists once an object is written under it


def remove(path: str) -> None:
    if not is_url(path):
        os.remove(local_path(path))
        return
    fs, inner = filesystem(path)
    fs.rm_file(inner)


def rmtree(path: str) -> None:
    """Remove a folder and everything under it; absent is fine."""
    if not is_url(path):
        shutil.rmtree(local_path(path), ignore_errors=True)
        return
    fs, inner = _fresh(path)
    try:
        fs.rm(inner, recursive=True)
    except FileNotFoundError:
        pass


def open(path: str, mode: str = "rb", **kwargs: Any) -> IO:  # noqa: A001 - the storage-wide open
    """A file object; for a URL, fsspec's (reads are ranged requests, seekable; writes upload on close)."""
    if not is_url(path):
        return builtins.open(local_path(path), mode, **kwargs)
    import fsspec

    filesystem(path)  # refresh fsspec's configuration from the environment
    return fsspec.open(path, mode, **kwargs).open()


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def upload(local: str, url: str) -> None:
    """Copy a local file to ``url`` as one object (visible whole or not at all)."""
    fs, inner = filesystem(url)
    fs.put_file(local, inner)


def copy(src: str, dst: str) -> None:
    """Copy one file (server-side on an object store)."""
    if not is_url(src) and not is_url(dst):
        shutil.copyfile(local_path(src), local_path(dst))
        return
    fs, inner = filesystem(src)
    if is_url(dst) and filesystem(dst)[0] is fs:
        fs.copy(inner, filesystem(dst)[1])
    else:
        with open(src, "rb") as a, open(dst, "wb") as b:
            shutil.copyfileobj(a, b, 1 << 20)


def local_temp_path(url: str) -> str:
    """A fresh local file name to stage an upload to ``url`` in (same suffix, so format sniffing still works); the
    caller removes it after the upload."""
    folder = os.path.join(tempfile.gettempdir(), f"jacorpus-staging-{os.getuid()}")
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="up-", suffix="-" + posixpath.basename(url)[-40:], dir=folder)
    os.close(fd)
    return tmp


def scratch_dir(prefix: str) -> str:
    """A new local folder for work that needs a POSIX file system (spill files of a pass whose work folder is a
    URL); removed when this process exits normally, or earlier by its user."""
    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, True)
    return folder


def cache_dir() -> str:
    """Where ``local_copy`` keeps downloads: ``$JACORPUS_CACHE_DIR``, else a per-user folder in the temporary
    folder. Shared by the processes of a machine (Spark's Python workers may end without running exit handlers, so
    a per-process cache could be left behind by each of them)."""
    return os.environ.get("JACORPUS_CACHE_DIR") or os.path.join(tempfile.gettempdir(), f"jacorpus-cache-{os.getuid()}")


def local_copy(path: str) -> str:
    """A local file with the content of ``path`` (the path itself when local), for readers that memory-map or
    ``np.load`` files. Downloads are cached (``cache_dir``), keyed by URL, size and the object's ETag or
    modification time, so a rewritten object is fetched again."""
    if not is_url(path):
        return local_path(path)
    fs, inner = _fresh(path)
    found = fs.info(inner)
    tag = f"{path}|{found.get('size')}|{found.get('ETag') or found.get('LastModified') or found.get('mtime')}"
    target = os.path.join(cache_dir(), hashlib.sha256(tag.encode()).hexdigest()[:32] + "-" + posixpath.basename(inner))
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part"  # two processes may fetch it at once
        fs.get_file(inner, tmp)
        os.replace(tmp, target)
    return target
