"""Source types by recipe name. Each module registers its classes with ``register_source``; other packages add
theirs through entry points of the group ``jacorpus.sources`` (``foundation/registry.py``)."""

from jacorpus.corpus.sources import feed, jsonl, medical, text, web, wikipedia  # noqa: F401 - they register themselves
from jacorpus.corpus.sources.base import (
    SOURCE_TYPES, SOURCES, Source, SourceError, SourceOptions, find_source_type, register_source, source_license,
)

__all__ = ["SOURCE_TYPES", "SOURCES", "Source", "SourceError", "SourceOptions", "find_source_type", "register_source",
           "source_license"]
