"""Source base class: a datatrove-compatible reader that streams one file at a time in constant memory.

A source turns the files of one recipe entry into documents. ``read_file`` yields documents and may call
``self.drop`` (a record read but not worth keeping, e.g. a redirect page) or ``self.error`` (a recoverable fault,
e.g. one malformed record). An exception escaping ``read_file`` ends that file only: the documents yielded
before it are kept and the fault is recorded with its position (``SourceError.position`` when given).
"""

from __future__ import annotations

import glob
import os
import stat
from typing import Any, ClassVar, Iterator

from datatrove.data import Document, DocumentsPipeline
from pydantic import BaseModel, ConfigDict, Field

from jacorpus.corpus.document import make_document
from jacorpus.corpus.limits import DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORD_SECONDS
from jacorpus.corpus.steps import JaStep
from jacorpus.foundation import storage
from jacorpus.foundation.registry import Registry


class SourceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # bounds every source keeps (docs/engines.md): a record (line, paragraph, page, JSON object, row, body) over
    # max_record_bytes is skipped with an error entry; expensive parsing of one record (wikitext, HTML) over
    # max_record_seconds falls back to the regex cleaner or is dropped with reason "timeout"
    max_record_bytes: int = Field(DEFAULT_MAX_RECORD_BYTES, gt=0)
    max_record_seconds: float = Field(DEFAULT_MAX_RECORD_SECONDS, gt=0)


class SourceError(Exception):
    def __init__(self, message: str, position: Any = None) -> None:
        super().__init__(message)
        self.position = position


class Source(JaStep):
    type = "📖 - READER"
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    # the license this source type's text carries when the recipe names none (Wikipedia: CC BY-SA); most vary by input
    default_license: ClassVar[str | None] = None
    # where a big file of this type may be cut into splits read by separate tasks (splits.py): "line", "blank_line",
    # "warc" or "page"; None: each file is read whole by one task
    split_rule: ClassVar[str | None] = None

    def record_rule(self) -> str | None:
        """The split rule for this source's options (a type whose records' shape depends on options overrides)."""
        return self.split_rule

    def record_scan(self) -> dict[str, Any] | None:
        """For the ``csv`` rule: the options the split stage parses rows with (split_rows.py), as the reader does."""
        return None

    def __init__(self, name: str, paths: list[str], options: SourceOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        self.source_name = name
        self.paths = list(paths)
        self._position: Any = None  # last known position in the current file, for error reports
        self._display: dict[str, str] = {}

    # -- files -------------------------------------------------------------------------------------------------
    def files(self) -> list[str]:
        """Resolved input files, sorted, relative patterns taken from the recipe directory."""
        found: list[str] = []
        for pattern in self.paths:
            full = storage.resolve(pattern, self.base_dir)  # a URL (s3://...) or a path
            absolute = full == storage.local_path(pattern)
            if storage.is_url(full):  # object stores list only objects: no folder comes back from a glob
                matches = storage.glob(full) if glob.has_magic(full) else [full]
                for match in matches:
                    found.append(match)
                    self._display[match] = match  # origin and id name the URL as listed
                continue
            matches = sorted(glob.glob(full, recursive=True)) if glob.has_magic(full) else [full]
            for match in matches:
                if match == full or not os.path.isdir(match):  # a folder named as such is an error, below
                    found.append(match)
                    self._display[match] = self._shown(match, absolute)
        return list(dict.fromkeys(found))

    def _shown(self, path: str, absolute_pattern: bool) -> str:
        """How ``origin`` (and so the id) names a file: relative to the recipe folder when the file is inside it, so
        ids survive moving recipe and data together; as the recipe wrote it (absolute) when it lies elsewhere, so
        ids do not depend on where the recipe file sits."""
        relative = os.path.relpath(path, self.base_dir)
        inside = not relative.startswith(os.pardir + os.sep) and relative != os.pardir
        shown = relative if inside or not absolute_pattern else os.path.normpath(path)
        return shown.replace(os.sep, "/")

    def display_path(self, path: str) -> str:
        """Path as written into ``origin`` and ids (see ``_shown``)."""
        if path not in self._display:
            self._display[path] = path if storage.is_url(path) else self._shown(path, os.path.isabs(path))
        return self._display[path]

    # -- building documents --------------------------------------------------------------------------------------
    def document(self, text: str, path: str, locator: Any, /, doc_id: str | None = None, **meta: Any) -> Document:
        origin = f"{self.display_path(path)}#{locator}"
        return make_document(text, source=self.source_name, origin=origin, doc_id=doc_id, meta=meta)

    def drop(self, doc: Document, reason: str, **extra: Any) -> None:
        """A record that was read but is not kept counts as read, then dropped under this source's name."""
        self.ledger.read(doc)
        self.ledger.drop(doc, self.source_name, reason, **extra)

    def error(self, path: str, position: Any, message: str) -> None:
        self.ledger.error(self.display_path(path), position, message, step=self.source_name)

    # -- reading -------------------------------------------------------------------------------------------------
    def read_file(self, path: str) -> Iterator[Document]:
        raise NotImplementedError

    def read_file_safely(self, path: str) -> Iterator[Document]:
        self._position = None
        try:
            self.check_input_file(path)
            for doc in self.read_file(path):
                self.ledger.read(doc)
                yield doc
        except SourceError as exc:
            self.error(path, exc.position if exc.position is not None else self._position, str(exc))
        except Exception as exc:  # noqa: BLE001 - any fault ends this file only, and is recorded
            self.error(path, self._position, f"{type(exc).__name__}: {exc}")

    @staticmethod
    def check_input_file(path: str) -> None:
        """A readable, non-empty regular file (an object, for a URL); else SourceError."""
        if storage.is_url(path):
            try:
                found = storage.info(path)
            except FileNotFoundError:
                raise SourceError("file not found", 0) from None
            if found["type"] == "directory":
                raise SourceError("a directory, not a file (name its files or use a glob such as dir/*.txt)", 0)
            if found["size"] == 0:
                raise SourceError("empty file", 0)
            return
        if not os.path.exists(path):
            raise SourceError("file not found", 0)
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise SourceError("a directory, not a file (name its files or use a glob such as dir/*.txt)", 0)
        if not stat.S_ISREG(mode):  # reading a FIFO or a device could block forever or never end
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
            raise SourceError(f"{kind}, not a regular file: not read", 0)
        if os.path.getsize(path) == 0:
            raise SourceError("empty file", 0)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        for path in self.files()[rank::world_size]:
            yield from self.read_file_safely(path)


# source type names: jacorpus' own (the module that registers each name, imported on its first lookup), entry
# points of the group "jacorpus.sources", or `module:Class` in a recipe
BUILTIN_SOURCE_NAMES = {
    "cc100": "jacorpus.corpus.sources.text",
    "feed": "jacorpus.corpus.sources.feed",
    "html": "jacorpus.corpus.sources.web",
    "jsonl": "jacorpus.corpus.sources.jsonl",
    "medical": "jacorpus.corpus.sources.medical",
    "text": "jacorpus.corpus.sources.text",
    "warc": "jacorpus.corpus.sources.web",
    "wet": "jacorpus.corpus.sources.web",
    "wikipedia": "jacorpus.corpus.sources.wikipedia",
}
SOURCES: Registry[Source] = Registry("source type", "jacorpus.sources", Source, builtin_names=BUILTIN_SOURCE_NAMES)
SOURCE_TYPES = SOURCES.types


def find_source_type(name: str) -> type[Source] | None:
    return SOURCES.find(name)


def source_license(spec: dict[str, Any]) -> str | None:
    """The license of one recipe ``sources`` entry (as a dict: a manifest's recipe): its own, else its type's."""
    try:
        cls = find_source_type(spec.get("type", ""))
    except LookupError:  # a plugin that is not installed where the card is made
        cls = None
    return spec.get("license") or (cls.default_license if cls is not None else None)


def register_source(type_name: str):
    """Class decorator: the source is known to recipes as ``type: <type_name>``."""

    def wrap(cls: type[Source]) -> type[Source]:
        cls.name = type_name
        return SOURCES.register(type_name)(cls)

    return wrap
