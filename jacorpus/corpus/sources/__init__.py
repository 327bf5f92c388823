"""Source types by recipe name. Each module registers its classes with ``register_source``."""

from jacorpus.corpus.sources import feed, jsonl, medical, text, web, wikipedia  # noqa: F401 - they register themselves
from jacorpus.corpus.sources.base import SOURCE_TYPES, Source, SourceError, SourceOptions, register_source, source_license

__all__ = ["SOURCE_TYPES", "Source", "SourceError", "SourceOptions", "register_source", "source_license"]
