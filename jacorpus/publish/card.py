"""`jacorpus card DIR`: a Hugging Face dataset card (README.md) for a finished corpus output.

The YAML header is built with ``huggingface_hub.DatasetCardData`` and points ``configs`` at Parquet files under
``DIR/data/`` (converted from the Arrow shards, which the Hub's viewer and ``load_dataset`` read directly), so
``datasets.load_dataset(DIR)`` loads exactly the manifest's rows. The body is for people: sources and licenses, the
funnel, dedup statistics, distributions, samples, the exact recipe and library versions, and limitations.
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from jacorpus.foundation.atomic_files import atomic_output
from jacorpus.foundation.finished_corpus import load_manifest
from jacorpus.publish import plots
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


def export_parquet(directory: str, manifest: dict[str, Any]) -> list[str]:
    """Parquet copies of the Arrow shards under data/ (what the Hub serves); returns paths relative to DIR."""
    if manifest["format"] == "parquet":
        return [s["file"] for s in manifest["shards"]]
    out_dir = os.path.join(directory, "data")
    os.makedirs(out_dir, exist_ok=True)
    shards = [s for s in manifest["shards"] if s["rows"] or len(manifest["shards"]) == 1]
    names = []
    for i, shard in enumerate(shards):
        name = f"data/train-{i:05d}-of-{len(shards):05d}.parquet"
        target = os.path.join(directory, name)
        if not os.path.exists(target):
            with pa.memory_map(os.path.join(directory, shard["file"])) as source:
                table = pa.ipc.open_stream(source).read_all()
            with atomic_output(target) as tmp:
                pq.write_table(table, tmp)
        names.append(name)
    return names


def funnel_table(manifest: dict[str, Any]) -> str:
    read = manifest["read"] or 1
    rows = ["| stage | documents | share |", "|---|---:|---:|", f"| read | {manifest['read']:,} | 100% |"]
    for reason, count in sorted(manifest["dropped"].items(), key=lambda kv: -kv[1]):
        rows.append(f"| dropped: `{reason}` | {count:,} | {100 * count / read:.1f}% |")
    rows.append(f"| **kept** | **{manifest['kept']:,}** | {100 * manifest['kept'] / read:.1f}% |")
    rows += ["", "| source | read | kept | dropped |", "|---|---:|---:|---:|"]
    for name, c in manifest["sources"].items():
        rows.append(f"| {name} | {c.get('read', 0):,} | {c.get('kept', 0):,} | {c.get('dropped', 0):,} |")
    return "\n".join(rows)


def build_card(directory: str, pretty_name: str | None = None) -> tuple[str, list[str]]:
    from huggingface_hub import DatasetCard, DatasetCardData

    manifest = load_manifest(directory)
    stats = corpus_stats(directory)
    licenses = source_licenses(manifest)
    license_id, notes = card_license(licenses)
    data_files = export_parquet(directory, manifest)
    plot_dir = plots.plot_dir(directory)
    figures = [plots.funnel_plot(manifest, os.path.join(plot_dir, "funnel.png")),
               plots.length_histogram(stats.lengths, os.path.join(plot_dir, "lengths.png"))]
    if stats.cluster_sizes:
        figures.append(plots.cluster_size_plot(stats.cluster_sizes, os.path.join(plot_dir, "dedup_clusters.png")))
    sources = manifest["recipe"]["sources"]
    data = DatasetCardData(
        language=["ja"], license=license_id, size_categories=[size_category(manifest["kept"])],
        task_categories=["text-generation", "fill-mask"], source_datasets=sorted(licenses),
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
        *[f"| {name} | {s['type']} | {licenses[name] or 'unknown'} | {', '.join(os.path.basename(p) for p in s['paths'])} |"
          for name, s in zip(licenses, sources)], "",
        *([f"> **Warning:** {n}" for n in notes] + [""] if notes else []),
        "## Processing funnel", "", funnel_table(manifest), "", "![funnel](plots/funnel.png)", "",
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
        "## Reproduce", "", "Recipe:", "", "```yaml", yaml.safe_dump(manifest["recipe"], allow_unicode=True, sort_keys=False).strip(), "```", "",
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


def write_card(directory: str, pretty_name: str | None = None) -> tuple[str, list[str]]:
    from huggingface_hub import DatasetCard

    text, notes = build_card(directory, pretty_name)
    path = os.path.join(directory, "README.md")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    DatasetCard.load(path, ignore_metadata_errors=False)  # re-parse: the header must be valid card metadata
    return path, notes
