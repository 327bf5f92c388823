"""The quality classifier on held-out human labels: fastText vs the linear model, and the reference-vs-web recipe.

    .venv/bin/python bench/quality_classifier.py [--seeds 5] [--out bench/results]

Labels: the 1,082 distinct mC4-ja paragraphs of ../shared/data (human good/bad). For each seed 1..N the stratified
80/20 split of `jacorpus quality train` (the same `split_examples`); the 20 % is never trained on.
Reference-vs-web (GPT-3 / CCNet / DCLM style): two corpora made with the project's recipe engine from shared data:
- reference (curated): the jawiki 2006 + 2022-07 samples, 吾輩は猫である (Aozora, CC-100 layout), the 30 versions of
  3 statutes, the 148 MedTxt-CR case reports; `normalize`, then MinHash dedup (the statute versions collapse);
- web (raw): the 99 ABEJA-CC-JA documents, the ClueWeb09-ja WARC pages and the Japanese web_html pages with the
  `basic` extractor (menus and footers kept), the legacy-encoding blog feeds, the toiro CC-blog lines; `normalize`,
  `language: ja`.
Both are cut into paragraph-size pieces (150-900 characters, `paragraph_chunks`) and capped at 5,000 a side.
Configurations: fastText on the human labels (the project default), the linear model on them, fastText and linear
on reference-vs-web only (scored on the held-out split), and linear on human labels + reference-vs-web.
Reported: balanced accuracy per seed, the mean, the 95 % bootstrap interval of seed 1, and a calibration plot of
seed 1. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, results_dir, shared_data_dir

sys.path.insert(0, str(REPO))

from jacorpus.corpus.quality_cli import corpus_chunks, held_out_scores, plot_calibration  # noqa: E402
from jacorpus.corpus.quality_labels import calibration, evaluate, read_labels, split_examples  # noqa: E402


def build_corpora(data: Path, work: Path) -> tuple[Path, Path]:
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import load_recipe

    abeja = json.loads((data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    with open(work / "abeja.jsonl", "w", encoding="utf-8") as fh:
        for items in abeja.values():
            for item in items:
                fh.write(json.dumps({"id": item["sample_id"], "text": item["text"]}, ensure_ascii=False) + "\n")
    d = data
    (work / "ref.yaml").write_text(f"""name: reference
sources:
  - {{name: wikipedia, type: wikipedia, paths: ["{d}/jawiki_xml/jawiki-2006-08-export-0.3-sample.xml.bz2", "{d}/jawiki_xml/jawiki-2022-07-pages-articles-sample.xml.bz2"]}}
  - {{name: aozora, type: cc100, paths: ["{d}/plain_text_ja_neko_aozora/neko.txt"]}}
  - {{name: laws, type: text, split: file, paths: ["{d}/neardup_ja_law_versions/*/*.txt"]}}
  - {{name: medtxt, type: medical, format: xml, record: article, id_attribute: id, title_attribute: title, paths: ["{d}/medical/medtxt_cr_ja/MedTxt-CR-JA-training.xml"]}}
steps:
  - normalize: {{}}
  - dedup: {{method: minhash, threshold: 0.8}}
output: {{dir: ref}}
""", encoding="utf-8")
    (work / "web.yaml").write_text(f"""name: web
sources:
  - {{name: abeja, type: jsonl, paths: [abeja.jsonl]}}
  - {{name: clueweb, type: warc, extractor: basic, paths: ["{d}/warc/clueweb09_ja_excerpt/*.warc.gz"]}}
  - {{name: pages, type: html, extractor: basic, paths: ["{d}/web_html/ja/*.html"]}}
  - {{name: feeds, type: feed, paths: ["{d}/legacy_encoding_ja_feeds/*/*"]}}
  - {{name: toiro, type: text, split: line, paths: ["{d}/textclass_ja_toiro_sample/sample.txt"]}}
steps:
  - normalize: {{}}
  - language: {{languages: [ja]}}
output: {{dir: web}}
""", encoding="utf-8")
    for name in ("ref", "web"):
        m = run_local(build_plan(load_recipe(str(work / f"{name}.yaml"))), workers=1, progress=False)
        print(f"{name}: {m['kept']} documents", file=sys.stderr)
    return work / "ref", work / "web"


def score(model: str, test: list[tuple[str, str]]) -> dict[str, Any]:
    scores = held_out_scores(model, [t for t, _ in test])
    truth = [label for _, label in test]
    metrics = evaluate(truth, [max(s.items(), key=lambda kv: kv[1])[0] for s in scores])
    metrics["calibration"] = calibration(truth, [s["good"] for s in scores], "good")
    return metrics


def main() -> None:
    from jacorpus.corpus.classifier import train_fasttext, train_linear

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-chunks", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 1,000 pieces a side")
    parser.add_argument("--out", default=str(results_dir()))
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.max_chunks = 2, 1000
    data = shared_data_dir()
    work = Path(tempfile.mkdtemp(prefix="qc-"))
    ref_dir, web_dir = build_corpora(data, work)
    positives = corpus_chunks([ref_dir], args.max_chunks, 1, "--reference")
    negatives = corpus_chunks([web_dir], args.max_chunks, 1, "--web")
    refweb = [(t, "good") for t in positives] + [(t, "bad") for t in negatives]
    human = read_labels(str(data / "mc4_ja_quality_labels" / "annotations_.txt")).examples
    rows: dict[str, list[dict[str, Any]]] = {}
    seconds: dict[str, float] = {}

    def run(name: str, train: list[tuple[str, str]], test: list[tuple[str, str]], kind: str, seed: int) -> None:
        path = str(work / f"{name.replace(' ', '_')}_{seed}.{'joblib' if kind == 'linear' else 'bin'}")
        start = time.perf_counter()
        if kind == "linear":
            train_linear(train, path)
        else:
            train_fasttext(train, path, seed=seed)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        rows.setdefault(name, []).append(score(path, test))
        print(name, seed, round(rows[name][-1]["balanced_accuracy"], 3), file=sys.stderr, flush=True)

    refweb_models: dict[str, str] = {}
    for seed in range(1, args.seeds + 1):
        train, test = split_examples(human, 0.2, seed)
        run("fastText, human labels", train, test, "fasttext", seed)
        run("linear, human labels", train, test, "linear", seed)
        run("linear, human labels + reference-vs-web", train + refweb, test, "linear", seed)
        for kind in ("fasttext", "linear"):  # trained once: they never see the human labels
            name = f"{'fastText' if kind == 'fasttext' else 'linear'}, reference-vs-web only"
            if kind not in refweb_models:
                refweb_models[kind] = str(work / f"refweb.{'joblib' if kind == 'linear' else 'bin'}")
                start = time.perf_counter()
                (train_linear if kind == "linear" else train_fasttext)(refweb, refweb_models[kind])
                seconds[name] = time.perf_counter() - start
            rows.setdefault(name, []).append(score(refweb_models[kind], test))
    refweb_all = {kind: score(path, human) for kind, path in refweb_models.items()}
    results = {"labels": len(human), "seeds": args.seeds, "reference_pieces": len(positives),
               "web_pieces": len(negatives), "train_seconds": seconds, "configs": {}, "refweb_on_all_labels": {
                   k: {"balanced_accuracy": v["balanced_accuracy"], "ci95": v["balanced_accuracy_ci95"]}
                   for k, v in refweb_all.items()}}
    for name, runs in rows.items():
        values = [r["balanced_accuracy"] for r in runs]
        results["configs"][name] = {"balanced_accuracy": values, "mean": sum(values) / len(values),
                                    "seed1_ci95": runs[0]["balanced_accuracy_ci95"],
                                    "seed1_ece": runs[0]["calibration"]["ece"], "n_test": runs[0]["n"]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    plot_calibration({name: runs[0]["calibration"] for name, runs in rows.items()},
                     out / f"quality_classifier_calibration{suffix}.png")
    (out / f"quality_classifier{suffix}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2),
                                                          encoding="utf-8")
    (out / f"quality_classifier{suffix}.md").write_text(render(results, args), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


def render(r: dict[str, Any], args: argparse.Namespace) -> str:
    lines = ["# Quality classifier: balanced accuracy on held-out human-labelled mC4-ja paragraphs", "",
             f"Command: `.venv/bin/python bench/quality_classifier.py --seeds {args.seeds} --max-chunks {args.max_chunks}` "
             "(see its docstring for the corpora and splits).", "",
             f"{r['labels']} labelled paragraphs; each seed holds out 20 % ({next(iter(r['configs'].values()))['n_test']} "
             f"texts), never trained on. Reference-vs-web: {r['reference_pieces']} reference and {r['web_pieces']} web "
             "pieces.", "",
             "| model | balanced accuracy per seed | mean | seed 1: 95 % bootstrap CI | seed 1: ECE | training s (all seeds) |",
             "|---|---|---:|---|---:|---:|"]
    for name, c in r["configs"].items():
        lines.append(f"| {name} | {' '.join(f'{v:.3f}' for v in c['balanced_accuracy'])} | {c['mean']:.3f} | "
                     f"{c['seed1_ci95'][0]:.3f}-{c['seed1_ci95'][1]:.3f} | {c['seed1_ece']:.3f} | "
                     f"{r['train_seconds'].get(name, 0):.0f} |")
    lines += ["", "The reference-vs-web models scored on all labelled paragraphs (none was trained on): " + "; ".join(
        f"{k} {v['balanced_accuracy']:.3f} (95 % CI {v['ci95'][0]:.3f}-{v['ci95'][1]:.3f})"
        for k, v in r["refweb_on_all_labels"].items()) + ".", "",
        "Calibration (seed 1): `quality_classifier_calibration.png`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
