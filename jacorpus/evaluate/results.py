"""results.json, per-example predictions, the model card's evaluation table, and side-by-side comparison."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from jacorpus.foundation.atomic_files import atomic_write_text

CARD_BEGIN, CARD_END = "<!-- jacorpus-eval:begin -->", "<!-- jacorpus-eval:end -->"


def write_results(output: str, task: str, metrics: dict[str, float], predictions: list[dict[str, Any]]) -> str:
    """Merge ``{task: metrics}`` into OUTPUT/results.json (other tasks kept) and write OUTPUT/<task>.predictions.jsonl."""
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, "results.json")
    results = json.load(open(path, encoding="utf-8")) if os.path.exists(path) else {}
    results[task] = metrics
    # read-modify-write of a file that holds earlier runs' tasks: atomic, so an interrupted run cannot lose them
    atomic_write_text(path, json.dumps(results, ensure_ascii=False, indent=2, default=float))
    with open(os.path.join(output, f"{task}.predictions.jsonl"), "w", encoding="utf-8") as fh:
        for row in predictions:
            fh.write(json.dumps(row, ensure_ascii=False, default=float) + "\n")
    return path


def _rows(task: str, metrics: dict[str, Any]):
    for metric, value in metrics.items():
        if isinstance(value, dict):  # a breakdown (mcqa by exam year): one row per group and scalar
            for group, sub in value.items():
                if isinstance(sub, dict):
                    yield from _rows(f"{task} {group}", {k: v for k, v in sub.items() if not isinstance(v, dict)})
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            yield task, metric, value


def results_table(results: dict[str, dict[str, Any]]) -> str:
    rows = ["| task | metric | value |", "|---|---|---:|"]
    for task, metrics in sorted(results.items()):
        for name, metric, value in _rows(task, metrics):
            rows.append(f"| {name} | {metric} | {value:.4f} |" if isinstance(value, float) else f"| {name} | {metric} | {value} |")
    return "\n".join(rows)


CARD_DATA = re.compile(r"<!-- jacorpus-eval-data (.*?) -->", re.S)


def card_results(model_dir: str) -> dict[str, dict[str, Any]]:
    """The evaluation results the model card holds already (every task evaluated so far, whatever --output was)."""
    path = os.path.join(model_dir, "README.md")
    if not os.path.exists(path):
        return {}
    match = CARD_DATA.search(open(path, encoding="utf-8").read())
    return json.loads(match.group(1).replace("-\\->", "-->")) if match else {}


def update_model_card(model_dir: str, task: str, metrics: dict[str, Any]) -> str:
    """Put the evaluation table into MODEL_DIR/README.md between markers: the tasks evaluated before stay, the
    re-run task's rows are replaced. The results ride along as JSON in an HTML comment (not rendered)."""
    path = os.path.join(model_dir, "README.md")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else f"# {os.path.basename(model_dir)}\n"
    results = card_results(model_dir) | {task: metrics}
    data = json.dumps(results, ensure_ascii=False, sort_keys=True, default=float).replace("-->", "-\\->")
    section = (f"{CARD_BEGIN}\n## Evaluation\n\n{results_table(results)}\n\n"
               f"<!-- jacorpus-eval-data {data} -->\n{CARD_END}")
    pattern = re.compile(re.escape(CARD_BEGIN) + ".*?" + re.escape(CARD_END), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
    atomic_write_text(path, text)  # the card holds every earlier run's rows: never leave it half written
    return path


def compare(result_files: dict[str, str], png: str | None = None) -> str:
    """Markdown table of several models' results.json side by side, and optionally a grouped bar chart."""
    loaded = {name: json.load(open(p, encoding="utf-8")) for name, p in result_files.items()}
    keys = sorted({(t, m) for r in loaded.values() for t, ms in r.items() for m, v in ms.items() if isinstance(v, (int, float))})
    rows = ["| task | metric | " + " | ".join(loaded) + " |", "|---|---|" + "---:|" * len(loaded)]
    for task, metric in keys:
        cells = [loaded[n].get(task, {}).get(metric) for n in loaded]
        rows.append(f"| {task} | {metric} | " + " | ".join("" if c is None else f"{c:.4f}" for c in cells) + " |")
    if png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(keys)), 3.5))
        width = 0.8 / max(len(loaded), 1)
        for i, name in enumerate(loaded):
            vals = [loaded[name].get(t, {}).get(m) or 0 for t, m in keys]
            ax.bar(np.arange(len(keys)) + i * width, vals, width, label=name)
        ax.set_xticks(np.arange(len(keys)) + width * (len(loaded) - 1) / 2, [f"{t}\n{m}" for t, m in keys], fontsize=7)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(png, dpi=110)
        plt.close(fig)
    return "\n".join(rows)
