"""The funnel as a terminal table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_funnel(manifest: dict[str, Any], directory: str, console: Console | None = None) -> None:
    console = console or Console()
    read = manifest["read"] or 1
    table = Table(title=f"{manifest['name']}: funnel", show_lines=False)
    table.add_column("stage")
    table.add_column("documents", justify="right")
    table.add_column("share", justify="right")
    table.add_row("read", f"{manifest['read']:,}", "100.0%")
    for reason, count in sorted(manifest["dropped"].items(), key=lambda kv: -kv[1]):
        table.add_row(f"  dropped {reason}", f"{count:,}", f"{100 * count / read:.1f}%")
    table.add_row("kept", f"{manifest['kept']:,}", f"{100 * manifest['kept'] / read:.1f}%", style="bold")
    console.print(table)
    if manifest.get("flow"):  # the same funnel in pipeline order, with characters (what the dataset card shows)
        flow = Table(title="pipeline")
        for col in ("after", "documents", "characters"):
            flow.add_column(col, justify="left" if col == "after" else "right")
        for row in manifest["flow"]:
            label = f"{row['step'] + 1}. {row['stage']}" if "step" in row else row["stage"]
            flow.add_row(label, f"{row['documents']:,}", f"{row['characters']:,}")
        console.print(flow)
    sources = Table(title="per source")
    for col in ("source", "read", "kept", "dropped"):
        sources.add_column(col, justify="left" if col == "source" else "right")
    for name, counts in manifest["sources"].items():
        sources.add_row(name, *(f"{counts.get(k, 0):,}" for k in ("read", "kept", "dropped")))
    console.print(sources)
    if manifest["errors"]:
        console.print(f"[yellow]{len(manifest['errors'])} input errors[/yellow] (see manifest.json), first:")
        for err in manifest["errors"][:5]:  # one line each, never wrapped; a file name is no markup
            console.print(f"  {err['file']} @ {err['position']}: {err['message']}", soft_wrap=True, markup=False,
                          highlight=False)
    for name, entry in (manifest.get("splits") or {}).items():  # big files read as several tasks
        if entry["splits"] > entry["files"]:
            how = ", ".join(f"{method} {count}" for method, count in sorted(entry["methods"].items()))
            console.print(f"{name}: {entry['files']} file(s) read as {entry['splits']} splits ({how})")
    rows = sum(s["rows"] for s in manifest["shards"])
    console.print(f"{rows:,} documents in {len(manifest['shards'])} shard(s) at [bold]{directory}[/bold]")
