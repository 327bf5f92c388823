"""The funnel of a finished corpus as cards and plots show it: in pipeline order (read, what the sources pass on,
each recipe step, kept) with documents and characters (``manifest.json``'s ``flow``), and drops per source x reason."""

from __future__ import annotations

from typing import Any


def step_label(row: dict[str, Any]) -> str:
    scope = (f" ({', '.join(row['sources'])})" if row.get("sources") else
             f" (all but {', '.join(row['skip_sources'])})" if row.get("skip_sources") else "")
    return f"{row['step'] + 1}. {row['stage']}{scope}"


def funnel_rows(manifest: dict[str, Any]) -> list[tuple[str, int, int | None]]:
    """(stage, documents, characters) in pipeline order: read, what the sources pass on, each step, kept. Outputs
    of older runs (no ``flow`` in the manifest) give read, drops by reason, kept, without characters."""
    if "flow" in manifest:
        return [(step_label(r) if "step" in r else r["stage"], r["documents"], r["characters"]) for r in manifest["flow"]]
    rows = [("read", manifest["read"], None)]
    rows += [(f"dropped: `{reason}`", count, None) for reason, count in manifest["dropped"].items()]
    return rows + [("kept", manifest["kept"], None)]


def drops_by_source(manifest: dict[str, Any]) -> dict[str, dict[str, int]]:
    """source -> {step:reason -> documents dropped} from the manifest's per-source counters."""
    return {name: {k.removeprefix("dropped:"): v for k, v in counts.items() if k.startswith("dropped:")}
            for name, counts in manifest["sources"].items()}
