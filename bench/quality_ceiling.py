"""Why the quality classifier stops near 0.76 balanced accuracy on the shared human labels: a learning curve and
the annotator's own consistency (issue 17's >= 0.80 target).

    .venv/bin/python bench/quality_ceiling.py [--seeds 5] [--quick] [--out bench/results]

1. Learning curve: the shipped linear model (`train_linear`, the default of `jacorpus quality train --out X.joblib`)
   trained on 1/8, 1/4, 1/2 and all of each seed's training split (stratified subsets, `split_examples`) and scored
   on the same held-out 20 % as bench/quality_classifier.py (seeds 1..N). Reported: mean balanced accuracy per
   training size, the gain per doubling of the labels between the last two sizes, and the doublings that gain would
   need to reach 0.80 (a straight line in log(labels): the usual shape of such curves, and an optimistic one).
2. Label consistency: pairs of labelled texts that are near-identical (character 5-gram Jaccard >= 0.9: the same
   page cut a little differently) plus the identical lines the label reader merges; the share of pairs labelled
   differently, and the per-label flip rate p it implies (2p(1-p) = disagreement, labels flipped independently).
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, results_dir, shared_data_dir

sys.path.insert(0, str(REPO))

from jacorpus.corpus.quality_cli import held_out_scores  # noqa: E402
from jacorpus.corpus.quality_labels import evaluate, read_labels, split_examples  # noqa: E402

TARGET = 0.80


def learning_curve(human: list[tuple[str, str]], seeds: int, fractions: list[float], work: Path) -> dict[str, Any]:
    from jacorpus.corpus.classifier import train_linear

    rows: dict[float, list[float]] = {f: [] for f in fractions}
    sizes: dict[float, int] = {}
    for seed in range(1, seeds + 1):
        train, test = split_examples(human, 0.2, seed)
        for fraction in fractions:
            subset = train if fraction == 1.0 else split_examples(train, fraction, 1000 + seed)[1]
            sizes[fraction] = len(subset)
            path = str(work / f"lc_{seed}_{fraction}.joblib")
            train_linear(subset, path)
            scores = held_out_scores(path, [t for t, _ in test])
            predicted = [max(s.items(), key=lambda kv: kv[1])[0] for s in scores]
            rows[fraction].append(evaluate([label for _, label in test], predicted, rounds=0)["balanced_accuracy"])
            print("learning curve", seed, sizes[fraction], round(rows[fraction][-1], 3), file=sys.stderr, flush=True)
    points = [{"train_labels": sizes[f], "balanced_accuracy": rows[f], "mean": sum(rows[f]) / len(rows[f])}
              for f in fractions]
    last, before = points[-1], points[-2]
    gain = (last["mean"] - before["mean"]) / math.log2(last["train_labels"] / before["train_labels"])
    doublings = (TARGET - last["mean"]) / gain if gain > 0 else None
    return {"points": points, "gain_per_doubling": gain, "doublings_to_target": doublings,
            "labels_for_target": round(last["train_labels"] * 2**doublings) if doublings is not None else None}


def shingles(text: str, n: int = 5) -> set[str]:
    return {text[i:i + n] for i in range(max(len(text) - n + 1, 1))}


def consistency(human: list[tuple[str, str]], merged_duplicates: int, conflicting_lines: int,
                threshold: float = 0.9) -> dict[str, Any]:
    sets = [shingles(t) for t, _ in human]
    pairs: list[dict[str, Any]] = []
    for i in range(len(human)):
        for j in range(i + 1, len(human)):
            inter = len(sets[i] & sets[j])
            if inter and inter / len(sets[i] | sets[j]) >= threshold:
                pairs.append({"labels": [human[i][1], human[j][1]], "a": human[i][0][:60], "b": human[j][0][:60]})
    near_disagree = sum(p["labels"][0] != p["labels"][1] for p in pairs)
    # identical lines: the reader keeps one per agreeing group (merged_duplicates extra lines) and drops a text whose
    # lines disagree (conflicting_lines lines); each such text counts as one disagreeing pair (all are pairs here)
    exact_pairs = merged_duplicates + conflicting_lines // 2
    exact_disagree = conflicting_lines // 2
    total, disagree = len(pairs) + exact_pairs, near_disagree + exact_disagree
    d = disagree / total if total else 0.0
    flip = (1 - math.sqrt(max(1 - 2 * d, 0.0))) / 2  # solves 2p(1-p) = d
    return {"jaccard_threshold": threshold, "near_pairs": len(pairs), "near_disagree": near_disagree,
            "exact_pairs": exact_pairs, "exact_disagree": exact_disagree, "disagreement": d, "flip_rate": flip,
            "disagreeing_examples": [p for p in pairs if p["labels"][0] != p["labels"][1]]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 seeds, two training sizes")
    parser.add_argument("--out", default=str(results_dir()))
    args = parser.parse_args()
    fractions = [0.25, 1.0] if args.quick else [0.125, 0.25, 0.5, 1.0]
    if args.quick:
        args.seeds = 2
    labels = read_labels(str(shared_data_dir() / "mc4_ja_quality_labels" / "annotations_.txt"))
    human = labels.examples
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qceil-") as work:
        curve = learning_curve(human, args.seeds, fractions, Path(work))
    results = {"labels": len(human), "seeds": args.seeds, "target": TARGET, "learning_curve": curve,
               "consistency": consistency(human, labels.skipped.get("duplicate_text", 0),
                                          labels.skipped.get("conflicting_labels", 0)),
               "seconds": time.perf_counter() - start, "load_average": os.getloadavg()[0]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    (out / f"quality_ceiling{suffix}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    (out / f"quality_ceiling{suffix}.md").write_text(render(results, args), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


def render(r: dict[str, Any], args: argparse.Namespace) -> str:
    c, lc = r["consistency"], r["learning_curve"]
    lines = ["# Quality classifier: learning curve and label consistency (mC4-ja human labels)", "",
             f"Command: `.venv/bin/python bench/quality_ceiling.py --seeds {args.seeds}{' --quick' if args.quick else ''}` "
             f"({r['seconds']:.0f} s at load average {r['load_average']:.1f}; see its docstring).", "",
             f"Linear model (`train_linear`, as shipped), held-out 20 % of {r['labels']} labels, seeds 1-{r['seeds']}.", "",
             "| training labels | balanced accuracy per seed | mean |", "|---:|---|---:|"]
    for p in lc["points"]:
        lines.append(f"| {p['train_labels']} | {' '.join(f'{v:.3f}' for v in p['balanced_accuracy'])} | {p['mean']:.3f} |")
    lines += ["", f"Gain per doubling of the labels (last two sizes): {lc['gain_per_doubling']:+.3f}. "
              + (f"Reaching {r['target']:.2f} on that line takes {lc['doublings_to_target']:.1f} more doublings, about "
                 f"{lc['labels_for_target']:,} training labels." if lc["doublings_to_target"] is not None
                 else "The curve is flat: more labels of this kind do not reach the target on this line."), "",
              f"Label consistency: {c['near_pairs']} near-identical pairs (character 5-gram Jaccard >= "
              f"{c['jaccard_threshold']}) and {c['exact_pairs']} identical ones; {c['near_disagree'] + c['exact_disagree']} "
              f"of {c['near_pairs'] + c['exact_pairs']} labelled differently ({c['disagreement']:.1%}), a flip rate of "
              f"about {c['flip_rate']:.1%} per label.", "", "Near-identical pairs labelled differently:", ""]
    lines += [f"- {p['labels'][0]} / {p['labels'][1]}: {p['a']}…" for p in c["disagreeing_examples"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
