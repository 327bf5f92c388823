"""Source types by recipe name. Each module registers its classes with ``register_source``; other packages add
theirs through entry points of the group ``jacorpus.sources`` (``foundation/registry.py``). The built-in modules load
when a recipe names one of their types (``BUILTIN_SOURCE_NAMES``) or when every type is listed (``SOURCES.load()``),
not on import: a JSON-lines run does not load the WARC, feed and Wikipedia readers (~40 ms before its first task)."""

from jacorpus.corpus.sources.base import (
    SOURCE_TYPES, SOURCES, Source, SourceError, SourceOptions, find_source_type, register_source, source_license,
)

__all__ = ["SOURCE_TYPES", "SOURCES", "Source", "SourceError", "SourceOptions", "find_source_type", "register_source",
           "source_license"]
