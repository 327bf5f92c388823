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
    plt = _pyplot()
    labels = ["read"] + [f"- {k}" for k in manifest["dropped"]] + ["kept"]
    values = [manifest["read"]] + list(manifest["dropped"].values()) + [manifest["kept"]]
    colors = ["#4c72b0"] + ["#c44e52"] * len(manifest["dropped"]) + ["#55a868"]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
    ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    for y, v in enumerate(values[::-1]):
        ax.text(v, y, f" {v:,}", va="center", fontsize=8)
    ax.set_xlabel("documents")
    ax.set_title(f"{manifest['name']}: funnel")
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
