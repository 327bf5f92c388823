"""Local paths that must not reach the Hub (a dataset card, a model card, an uploaded manifest): one test and one
scrubber, used by ``publish`` and by the trainer's model card."""

from __future__ import annotations

from typing import Any, Callable


def looks_like_a_local_path(value: str) -> bool:
    """An absolute path or one that climbs (``..``): what must not reach the Hub. URLs and patterns are not paths."""
    return (value.startswith("/") and len(value) > 1) or value == ".." or value.startswith("../") or "/../" in value


def scrub_paths(value: Any, name: Callable[[str], str]) -> Any:
    """Every string in ``value`` (nested lists and dicts) that is a local path, named by ``name`` instead."""
    if isinstance(value, str):
        return name(value) if looks_like_a_local_path(value) else value
    if isinstance(value, list):
        return [scrub_paths(v, name) for v in value]
    if isinstance(value, dict):
        return {k: scrub_paths(v, name) for k, v in value.items()}
    return value
