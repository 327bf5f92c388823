"""No silent empty sources: checks the plan builder runs before any work, and the driver runs on the manifest.

A source whose paths match no file is a recipe error at plan time (``sources[2] (feeds): no file matches ...``),
and so is a literal path that does not exist. After the run, a source that read no record (a wrong ``record:``
element, feeds read under the wrong type) fails the run, as does a source whose records all had no text (wrong
``text_fields``) and a run in which no source read anything. A source
that may legitimately be empty says ``allow_empty: true`` in its recipe entry (it silences the first two checks,
never a missing literal path, and never a run in which every source is empty).
"""

from __future__ import annotations

import glob
import os
from typing import Any

from jacorpus.corpus.sources import Source
from jacorpus.foundation import storage
from jacorpus.pipelines.recipe import Recipe, RecipeError


# a source's own drop reasons for a record with no text in it
TEXTLESS = ("no_text", "empty_text")


class EmptySourceError(RuntimeError):
    """A source (or the whole run) produced no record: the manifest is written, the run fails."""


def check_source_files(recipe: Recipe, sources: list[Source]) -> None:
    """Every source matches at least one file (unless ``allow_empty``); every literal path exists."""
    problems = []
    for i, (spec, source) in enumerate(zip(recipe.sources, sources)):
        where = f"sources[{i}] ({source.source_name})"
        for pattern in spec.paths:
            full = storage.resolve(pattern, recipe.base_dir)
            if not glob.has_magic(full) and not storage.exists(full):
                shown = full if storage.is_url(full) else os.path.normpath(full)
                problems.append(f"{where}: {pattern} does not exist (looked for {shown})")
        if source.files() or spec.allow_empty:
            continue
        if not any(p.startswith(where + ":") for p in problems):
            problems.append(f"{where}: no file matches {', '.join(spec.paths)}{why_nothing_matched(source)}; "
                            "set `allow_empty: true` on the source if that is expected")
    if problems:
        raise RecipeError("\n".join(problems))


def why_nothing_matched(source: Source) -> str:
    """A hint when files are there but the source's ``extensions`` leave them out (feeds under ``html``)."""
    extensions = getattr(source.options, "extensions", None)
    if not extensions:
        return ""
    seen: set[str] = set()
    for pattern in source.paths:
        full = storage.resolve(pattern, source.base_dir)
        if storage.is_url(full):
            continue  # the hint looks at local folders only
        for match in glob.glob(full, recursive=True) if glob.has_magic(full) else [full]:
            if os.path.isdir(match):
                match = os.path.join(match, "**", "*")
            seen.update(os.path.splitext(p)[1].lower() or "(none)" for p in glob.glob(match, recursive=True)[:1000]
                        if os.path.isfile(p))
    if not seen:
        return ""
    return (f" with extensions {', '.join(extensions)} (found files ending {', '.join(sorted(seen))}; "
            "set `extensions:`, or use the `feed` type for RSS/Atom)")


def check_sources_read(manifest: dict[str, Any], recipe: Recipe) -> None:
    """After the run: each source read a record (unless ``allow_empty``) and the run read something at all."""
    names = [recipe.source_name(i) for i in range(len(recipe.sources))]
    errors_by_source: dict[str, list[dict[str, Any]]] = {}
    for err in manifest.get("errors", []):
        errors_by_source.setdefault(err["step"], []).append(err)
    empty = [(i, name) for i, name in enumerate(names) if not manifest["sources"].get(name, {}).get("read", 0)]
    problems = []
    for i, name in empty:
        if recipe.sources[i].allow_empty and len(empty) < len(names):
            continue
        faults = errors_by_source.get(name, [])
        first = faults[0] if faults else None  # the reason, on the one line the CLI prints
        problems.append(f"sources[{i}] ({name}): its files yielded no record"
                        + (f" ({len(faults)} input error(s) in manifest.json, first: {first['file']} @ "
                           f"{first['position']}: {first['message']})" if first else
                           " (check `type:` and options such as `record:` or `text_field:`)"))
    for i, name in enumerate(names):  # records read, every one without text: wrong `text_fields` / `text_field`
        counts = manifest["sources"].get(name, {})
        textless = sum(counts.get(f"dropped:{name}:{reason}", 0) for reason in TEXTLESS)
        if counts.get("read", 0) and textless == counts["read"] and not recipe.sources[i].allow_empty:
            problems.append(f"sources[{i}] ({name}): all {textless} record(s) had no text (check options such as "
                            "`text_fields:` or `text_field:`)")
    if len(empty) == len(names) == 1:  # one line: what the CLI prints
        problems[-1] += "; no source produced any record"
    elif len(empty) == len(names):
        problems.append("no source produced any record")
    if problems:
        raise EmptySourceError("\n".join(problems))
