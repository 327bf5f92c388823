"""Source types by recipe name. Each module registers its classes with ``register_source``."""

import importlib

from jacorpus.corpus.sources.base import SOURCE_TYPES, Source, SourceError, SourceOptions, register_source

for _module in ("text", "jsonl", "wikipedia", "web", "medical"):
    try:
        importlib.import_module(f"jacorpus.corpus.sources.{_module}")
    except ModuleNotFoundError as _exc:  # an area still being built must not break the others
        if not f"jacorpus.corpus.sources.{_module}".startswith(_exc.name or "\0"):
            raise

__all__ = ["SOURCE_TYPES", "Source", "SourceError", "SourceOptions", "register_source"]
