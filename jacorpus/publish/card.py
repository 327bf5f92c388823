"""`jacorpus card DIR`: a Hugging Face dataset card (README.md) for a finished corpus output.

The YAML header is built with ``huggingface_hub.DatasetCardData`` and points ``configs`` at Parquet files under
``DIR/data/`` (the shards coalesced into size-bounded files, ``hub_parquet.py``, which the Hub's viewer and
``load_dataset`` read directly), so ``datasets.load_dataset(DIR)`` loads exactly the manifest's rows. The body is for
people: sources and licenses, the funnel in pipeline order (documents and characters), drops per source and reason,
dedup statistics, distributions, samples, the exact recipe and library versions, and limitations. Inputs are named
without machine paths (``public_paths.py``), in the Parquet ``origin`` column as in the recipe shown.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from jacorpus.foundation.finished_corpus import load_manifest
from jacorpus.publish import plots
from jacorpus.publish.funnel import drops_by_source, funnel_rows
from jacorpus.publish.hub_parquet import DEFAULT_MAX_FILE_BYTES, export_parquet
from jacorpus.publish.public_paths import PublicNames
from jacorpus.publish.stats import corpus_stats

SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def size_category(n: int) -> str:
    return next((label for bound, label in SIZE_CATEGORIES if n < bound), "n>1B")


def source_licenses(manifest: dict[str, Any]) -> dict[str, str | None]:
    from jacorpus.corpus.sources import source_license

    # a source's name is its recipe `name`, else its type (as in the recipe model)
    return {spec.get("name") or spec["type"]: source_license(spec) for spec in manifest["recipe"]["sources"]}


def card_license(licenses: dict[str, str | None]) -> tuple[str, list[str]]:
    """One license id for the YAML header, and warnings for a person to read (unknown or mixed licenses)."""
    notes = []
    unknown = sorted(name for name, lic in licenses.items() if not lic)
    if unknown:
        notes.append(f"license unknown for source(s) {', '.join(unknown)}: set `license:` in the recipe's source entry")
    distinct = sorted({lic for lic in licenses.values() if lic})
    if len(distinct) > 1:
        notes.append(f"sources carry different licenses ({', '.join(distinct)}): check they can be combined")
    if unknown:
        return "unknown", notes
    return (distinct[0] if len(distinct) == 1 else "other"), notes


def card_metadata_license(manifest: dict[str, Any], license_id: str) -> tuple[dict[str, str], list[str]]:
    """``license: other`` needs ``license_name`` and ``license_link`` (the recipe's keys of those names) for the Hub
    to show people what the license is."""
    if license_id != "other":
        return {}, []
    recipe = manifest["recipe"]
    fields = {k: recipe[k] for k in ("license_name", "license_link") if recipe.get(k)}
    missing = [k for k in ("license_name", "license_link") if k not in fields]
    notes = [f"the card's license is `other`: set {' and '.join(f'`{k}:`' for k in missing)} in the recipe"] if missing else []
    return fields, notes


def hub_datasets(manifest: dict[str, Any]) -> list[str] | None:
    """Hub dataset ids the recipe's sources name (``hub_dataset:``); local files are not Hub datasets."""
    ids = sorted({s["hub_dataset"] for s in manifest["recipe"]["sources"] if s.get("hub_dataset")})
    return ids or None


def funnel_table(manifest: dict[str, Any]) -> str:
    rows = funnel_rows(manifest)
    read_docs, read_chars = rows[0][1] or 1, rows[0][2] or 1
    lines = ["| stage | documents | share | characters | share |", "|---|---:|---:|---:|---:|"]
    for k, (stage, docs, chars) in enumerate(rows):
        bold = "**" if k in (0, len(rows) - 1) else ""
        lines.append(f"| {bold}{stage}{bold} | {docs:,} | {100 * docs / read_docs:.1f}% | "
                     + (f"{chars:,} | {100 * chars / read_chars:.1f}% |" if chars is not None else "| |"))
    return "\n".join(lines)


def source_table(manifest: dict[str, Any]) -> str:
    rows = ["| source | read | kept | dropped | drops by reason |", "|---|---:|---:|---:|---|"]
    for name, c in manifest["sources"].items():
        reasons = sorted(drops_by_source(manifest)[name].items(), key=lambda kv: (-kv[1], kv[0]))
        detail = ", ".join(f"`{reason}` {count:,}" for reason, count in reasons) or "-"
        rows.append(f"| {name} | {c.get('read', 0):,} | {c.get('kept', 0):,} | {c.get('dropped', 0):,} | {detail} |")
    return "\n".join(rows)


def build_card(directory: str, pretty_name: str | None = None,
               max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str, list[str]]:
    from huggingface_hub import DatasetCard, DatasetCardData

    manifest = load_manifest(directory)
    stats = corpus_stats(directory)
    licenses = source_licenses(manifest)
    license_id, notes = card_license(licenses)
    license_fields, license_notes = card_metadata_license(manifest, license_id)
    notes += license_notes
    names = PublicNames.of_manifest(manifest)  # the card names inputs without machine paths
    notes += names.notes()
    recipe = names.public_recipe()
    data_files = export_parquet(directory, manifest, max_file_bytes)
    plot_dir = plots.plot_dir(directory)
    plots.funnel_plot(manifest, os.path.join(plot_dir, "funnel.png"))
    plots.source_drops_plot(manifest, os.path.join(plot_dir, "drops.png"))
    plots.length_histogram(stats.lengths, os.path.join(plot_dir, "lengths.png"))
    if stats.cluster_sizes:
        plots.cluster_size_plot(stats.cluster_sizes, os.path.join(plot_dir, "dedup_clusters.png"))
    sources = recipe["sources"]
    data = DatasetCardData(
        language=["ja"], license=license_id, **license_fields, size_categories=[size_category(manifest["kept"])],
        task_categories=["text-generation", "fill-mask"], source_datasets=hub_datasets(manifest),
        pretty_name=pretty_name or manifest["name"], multilinguality=["monolingual"],
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": data_files}]}],
    )
    summary = stats.length_summary()
    body = [
        f"# {pretty_name or manifest['name']}", "",
        f"Japanese text corpus built with [jacorpus](https://pypi.org/project/jacorpus/) ({manifest['engine']} engine): "
        f"{manifest['kept']:,} documents, {summary.get('total_chars', 0):,} characters.", "",
        "```python", "from datasets import load_dataset", 'ds = load_dataset("<this repo>", split="train")', "```", "",
        "## Sources and licenses", "", "| source | type | license | inputs |", "|---|---|---|---|",
        *[f"| {name} | {s['type']} | {licenses[name] or 'unknown'} | {', '.join(f'`{p}`' for p in s['paths'])} |"
          for name, s in zip(licenses, sources)], "",
        *([f"> **Warning:** {n}" for n in notes] + [""] if notes else []),
        "## Processing funnel", "",
        "Documents and characters left after each stage, in pipeline order (a step that edits text changes the "
        "characters without dropping documents):", "", funnel_table(manifest), "", "![funnel](plots/funnel.png)", "",
        "Per source, with the documents dropped by each step and reason (`step:reason`):", "", source_table(manifest), "",
        "![drops per source](plots/drops.png)", "",
        "## Deduplication", "", dedup_section(manifest, stats), "",
        "## Distributions", "",
        "| length (chars) | mean | p5 | median | p95 | max |", "|---|---:|---:|---:|---:|---:|",
        f"| documents | {summary.get('mean', 0):,.0f} | {summary.get('p5', 0):,.0f} | {summary.get('median', 0):,.0f} | "
        f"{summary.get('p95', 0):,.0f} | {summary.get('max', 0):,} |", "",
        "| character type | " + " | ".join(stats.char_shares) + " |", "|---|" + "---:|" * len(stats.char_shares),
        "| share | " + " | ".join(f"{v:.1%}" for v in stats.char_shares.values()) + " |", "",
        "![lengths](plots/lengths.png)", "", "## Sample documents", "",
        *[f"- `{s['id']}` ({s['source']}): {s['text'][:200].replace(chr(10), ' ')}…" for s in stats.samples], "",
        "## Personal information and limitations", "", limitations(manifest), "",
        "## Reproduce", "", "Recipe:", "", "```yaml", yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False).strip(), "```", "",
        "Library versions:", "", "| library | version |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in manifest["versions"].items()], "",
    ]
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body))
    return str(card), notes


def dedup_section(manifest: dict[str, Any], stats) -> str:
    dedup = {k: v for k, v in manifest["steps"].items() if k.startswith("dedup")}
    if not dedup:
        return "No deduplication step in the recipe."
    lines = [f"- `{step}`: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) for step, counts in dedup.items()]
    if stats.cluster_sizes:
        multi = sum(1 for s in stats.cluster_sizes if s > 1)
        lines.append(f"- {multi:,} of {len(stats.cluster_sizes):,} sampled kept documents stand for a near-duplicate "
                     "cluster (`dedup_cluster_size` > 1; use it to upsample).")
        lines += ["", "![dedup clusters](plots/dedup_clusters.png)"]
    return "\n".join(lines)


def limitations(manifest: dict[str, Any]) -> str:
    pii = manifest["steps"].get("pii")
    if pii:
        masked = ", ".join(f"{k.split(':', 1)[1]} {v:,}" for k, v in pii.items() if k.startswith("masked:"))
        first = f"A PII step masked typed placeholders in the text ({masked or 'none found'}); rule-based masking misses " \
                "names and free-form addresses."
    else:
        first = "No PII masking step ran: the text may contain names, e-mail addresses, phone numbers and addresses."
    return (f"{first} Web text carries the biases and errors of its sites; language and quality filters are heuristic. "
            f"{len(manifest['errors'])} input fault(s) were recorded in manifest.json.")


def write_card(directory: str, pretty_name: str | None = None,
               max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str, list[str]]:
    from huggingface_hub import DatasetCard

    text, notes = build_card(directory, pretty_name, max_file_bytes)
    path = os.path.join(directory, "README.md")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    DatasetCard.load(path, ignore_metadata_errors=False)  # re-parse: the header must be valid card metadata
    return path, notes
