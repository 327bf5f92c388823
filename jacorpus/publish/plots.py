"""PNG plots referenced by the cards (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def funnel_plot(manifest: dict[str, Any], path: str) -> str:
    """Documents and characters after each stage, top to bottom in pipeline order (read ... kept)."""
    from jacorpus.publish.funnel import funnel_rows

    plt = _pyplot()
    name, rows = manifest["name"], funnel_rows(manifest)
    labels = [stage for stage, _, _ in rows]
    with_chars = all(chars is not None for _, _, chars in rows)
    panels = [("documents", [docs for _, docs, _ in rows])]
    if with_chars:
        panels.append(("characters", [chars for _, _, chars in rows]))
    colors = ["#4c72b0"] + ["#8c8c8c"] * (len(rows) - 2) + ["#55a868"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 0.42 * len(rows) + 1.4), sharey=True,
                             squeeze=False)
    for ax, (unit, values) in zip(axes[0], panels):
        y = list(range(len(rows)))[::-1]  # first stage on top
        ax.barh(y, values, color=colors)
        for yy, v in zip(y, values):
            ax.text(v, yy, f" {v:,}", va="center", fontsize=7)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel(unit)
        ax.set_xlim(0, max(values + [1]) * 1.25)
    fig.suptitle(f"{name}: funnel in pipeline order")
    return _save(plt, fig, path)


def source_drops_plot(manifest: dict[str, Any], path: str) -> str:
    """One bar per source: kept, then its drops stacked by step:reason."""
    from jacorpus.publish.funnel import drops_by_source

    plt = _pyplot()
    sources, drops = manifest["sources"], drops_by_source(manifest)
    names = list(sources)
    reasons = sorted({r for per in drops.values() for r in per}, key=lambda r: -sum(d.get(r, 0) for d in drops.values()))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.6 + 0.18 * len(reasons)))
    y = list(range(len(names)))[::-1]
    left = [sources[n].get("kept", 0) for n in names]
    ax.barh(y, left, color="#3a3a3a", label="kept")
    palette = [plt.get_cmap("tab20")(k) for k in range(20) if k not in (4, 5, 14, 15)]  # no green, no grey
    for k, reason in enumerate(reasons):
        values = [drops[n].get(reason, 0) for n in names]
        ax.barh(y, values, left=left, color=palette[k % len(palette)], label=reason)
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("documents read")
    ax.set_title("kept and dropped per source (step:reason)")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, frameon=False)
    return _save(plt, fig, path)


def length_histogram(lengths: np.ndarray, path: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if len(lengths):
        bins = np.logspace(0, np.log10(max(lengths.max(), 10)), 40)
        ax.hist(np.maximum(lengths, 1), bins=bins, color="#4c72b0")
        ax.set_xscale("log")
    ax.set_xlabel("characters per document (log scale)")
    ax.set_ylabel("documents")
    ax.set_title("document length")
    return _save(plt, fig, path)


def cluster_size_plot(sizes: list[int], path: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    values, counts = np.unique(np.array(sizes or [1]), return_counts=True)
    ax.bar([str(v) for v in values], counts, color="#8172b2")
    ax.set_yscale("log")
    ax.set_xlabel("near-duplicate cluster size of the kept document")
    ax.set_ylabel("documents")
    ax.set_title("dedup clusters")
    return _save(plt, fig, path)


def plot_dir(directory: str) -> str:
    path = os.path.join(directory, "plots")
    os.makedirs(path, exist_ok=True)
    return path
