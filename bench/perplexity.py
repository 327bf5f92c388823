"""How well cc_net-style perplexity separates good from bad Japanese text: the figures of docs/filters.md, "perplexity".

    .venv/bin/python bench/perplexity.py [--order 5] [--vocab-size 4000] [--out bench/results]

1. The jawiki 2006 and 2022-07 sample pages (the `wikipedia` source; one page per title) are split by a hash of
   the title; the training 80 % become a corpus through the project's recipe engine (jsonl source + `normalize`),
   and `jacorpus lm train --corpus <it> --out <lm>` trains the model on it.
2. Held-out reference text: 20 % of the pages (by a hash of the title), never trained on.
3. AUC (Mann-Whitney: the chance that a random "good" text has lower perplexity than a random "bad" one), with a
   95 % bootstrap interval (1,000 resamples of each class), for: the mC4-ja human labels good vs bad (1,078
   distinct paragraphs); held-out Wikipedia pages vs the mC4 paragraphs labelled bad (web spam and boilerplate);
   held-out Wikipedia vs the 99 ABEJA-CC-JA web documents; mC4 good vs ABEJA web (no separation expected: both
   are ordinary web prose).
4. Bucket shares: `jacorpus lm cutoffs` over the mC4 paragraphs (the web text to be filtered) gives the 30th/60th
   percentiles; the share of good and bad labels in head/middle/tail is reported.
Also the training and scoring speed. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import REPO, cc_ja_texts, results_dir, shared_data_dir

sys.path.insert(0, str(REPO))

from jacorpus.corpus.quality_labels import read_labels  # noqa: E402


def auc(good: list[float], bad: list[float]) -> float:
    """P(perplexity of good < perplexity of bad), ties counted half: the ROC AUC of -perplexity for "good"."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(good) + [0] * len(bad), [-p for p in good + bad]))


def auc_with_interval(good: list[float], bad: list[float], rounds: int = 1000, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    g, b = np.asarray(good), np.asarray(bad)
    boot = [auc(rng.choice(g, len(g)).tolist(), rng.choice(b, len(b)).tolist()) for _ in range(rounds)]
    return {"auc": auc(good, bad), "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "n_good": len(good), "n_bad": len(bad),
            "median_good": float(np.median(g)), "median_bad": float(np.median(b))}


def wiki_pages(data: Path) -> list[tuple[str, str]]:
    """(title, text) of the jawiki 2006 and 2022-07 sample pages, one per title (the newer page wins)."""
    from jacorpus.corpus.sources.wikipedia import WikipediaOptions, WikipediaSource

    pages: dict[str, str] = {}
    for name in ("jawiki-2006-08-export-0.3-sample.xml.bz2", "jawiki-2022-07-pages-articles-sample.xml.bz2"):
        source = WikipediaSource("wiki", [str(data / "jawiki_xml" / name)], WikipediaOptions())
        for f in source.files():
            for doc in source.read_file_safely(f):  # a truncated stream keeps its complete pages
                if doc.text.strip():
                    pages[doc.metadata["meta"].get("title") or doc.id] = doc.text
    return sorted(pages.items())


def held_out(title: str, fraction: float) -> bool:
    return int(hashlib.blake2b(title.encode(), digest_size=8).hexdigest(), 16) / 2**64 < fraction


def build_corpus(pages: list[tuple[str, str]], folder: Path) -> Path:
    """The training pages through the project's recipe engine (jsonl source + normalize): a finished corpus folder,
    which is what `jacorpus lm train --corpus` takes."""
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import load_recipe

    with open(folder / "train.jsonl", "w", encoding="utf-8") as fh:
        for title, text in pages:
            fh.write(json.dumps({"id": title, "text": text}, ensure_ascii=False) + "\n")
    recipe = folder / "wiki.yaml"
    recipe.write_text("name: wiki-lm\nsources: [{name: wikipedia, type: jsonl, paths: [train.jsonl]}]\n"
                      "steps:\n  - normalize: {}\noutput: {dir: wiki}\n", encoding="utf-8")
    manifest = run_local(build_plan(load_recipe(str(recipe))), workers=1, progress=False)
    print(f"wiki corpus: {manifest['kept']} pages kept of {manifest['read']}", file=sys.stderr)
    return folder / "wiki"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--held-out", type=float, default=0.2, help="share of Wikipedia pages not trained on")
    parser.add_argument("--quick", action="store_true", help="order 3, 4,000 pieces")
    parser.add_argument("--out", default=str(results_dir()))
    args = parser.parse_args()
    if args.quick:
        args.order, args.vocab_size = 3, 4000
    data = shared_data_dir()
    work = Path(tempfile.mkdtemp(prefix="ppl-"))
    print(f"work folder: {work}", file=sys.stderr)
    pages = wiki_pages(data)
    train_pages = [p for p in pages if not held_out(p[0], args.held_out)]
    held = [text for title, text in pages if held_out(title, args.held_out)]
    corpus = build_corpus(train_pages, work)
    lm_dir = work / "lm"
    command = [sys.executable, "-m", "jacorpus.cli", "lm", "train", "--corpus", str(corpus), "--out", str(lm_dir),
               "--order", str(args.order), "--vocab-size", str(args.vocab_size)]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    train_seconds = time.perf_counter() - start
    meta = json.loads((lm_dir / "lm.json").read_text(encoding="utf-8"))

    from jacorpus.corpus.lm import LanguageModel, corpus_percentiles

    lm = LanguageModel(str(lm_dir))
    labels = read_labels(str(data / "mc4_ja_quality_labels" / "annotations_.txt")).examples
    web = cc_ja_texts(data)

    start = time.perf_counter()
    score = lambda texts: [p for p in (lm.perplexity(t) for t in texts) if p is not None]  # noqa: E731
    good = score([t for t, label in labels if label == "good"])
    bad = score([t for t, label in labels if label == "bad"])
    wiki = score(held)
    abeja = score(web)
    scored_chars = sum(len(t) for t, _ in labels) + sum(map(len, held)) + sum(map(len, web))
    score_seconds = time.perf_counter() - start

    cut = corpus_percentiles(lm, [t for t, _ in labels], "mc4 labelled paragraphs")["percentiles"]
    head, tail = cut["30"], cut["60"]
    bucket = lambda p: "head" if p <= head else "middle" if p <= tail else "tail"  # noqa: E731
    shares = {name: {b: sum(bucket(p) == b for p in values) / len(values) for b in ("head", "middle", "tail")}
              for name, values in (("good", good), ("bad", bad))}
    results = {
        "model": {"order": args.order, "vocab_size": args.vocab_size, "tokens": meta["tokens"],
                  "documents": meta["documents"], "ngrams": meta["ngrams"], "train_seconds": train_seconds},
        "command": " ".join(["jacorpus"] + command[3:]).replace(str(work), "$WORK"),
        "auc": {
            "mc4 good vs bad (human labels)": auc_with_interval(good, bad),
            "held-out Wikipedia vs mc4 bad (web spam)": auc_with_interval(wiki, bad),
            "held-out Wikipedia vs ABEJA-CC web": auc_with_interval(wiki, abeja),
            "mc4 good vs ABEJA-CC web": auc_with_interval(good, abeja),
        },
        "buckets": {"cutoffs_p30_p60_over_mc4": [head, tail], "shares": shares},
        "speed": {"chars": scored_chars, "seconds": score_seconds, "chars_per_s": scored_chars / score_seconds},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    (out / f"perplexity{suffix}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / f"perplexity{suffix}.md").write_text(render(results, args), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


def render(r: dict[str, Any], args: argparse.Namespace) -> str:
    m = r["model"]
    lines = ["# Perplexity (cc_net style): how well it separates good from bad Japanese text", "",
             f"Command: `.venv/bin/python bench/perplexity.py --order {args.order} --vocab-size {args.vocab_size}` "
             "(see its docstring). The model was trained with", "", f"    {r['command']}", "",
             f"on 80 % of the jawiki 2006 + 2022-07 sample pages made into a corpus (jsonl source + `normalize`) "
             f"({m['documents']} pages, {m['tokens']:,} SentencePiece tokens; n-grams by order {m['ngrams']}; "
             f"{m['train_seconds']:.0f} s including SentencePiece).", "",
             "AUC = P(a random text of the first group has lower perplexity than one of the second), 95 % bootstrap "
             "interval:", "",
             "| groups | AUC | 95 % CI | n | median perplexity |", "|---|---:|---|---|---|"]
    for name, a in r["auc"].items():
        lines.append(f"| {name} | {a['auc']:.3f} | {a['ci95'][0]:.3f}-{a['ci95'][1]:.3f} | "
                     f"{a['n_good']} / {a['n_bad']} | {a['median_good']:.0f} / {a['median_bad']:.0f} |")
    b = r["buckets"]
    lines += ["", f"cc_net buckets with cutoffs at the 30th/60th percentiles over the mC4 paragraphs "
              f"({b['cutoffs_p30_p60_over_mc4'][0]:.0f} / {b['cutoffs_p30_p60_over_mc4'][1]:.0f}):", "",
              "| label | head | middle | tail |", "|---|---:|---:|---:|"]
    for label, s in b["shares"].items():
        lines.append(f"| {label} | {s['head']:.0%} | {s['middle']:.0%} | {s['tail']:.0%} |")
    s = r["speed"]
    lines += ["", f"Scoring: {s['chars']:,} characters in {s['seconds']:.1f} s ({s['chars_per_s'] / 1e3:.0f} k chars/s, "
              "one process, shared 2-core machine)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
