"""Peak memory and time of MinHash dedup at growing corpus sizes (10k, 100k, 1M documents by default).

    .venv/bin/python bench/dedup_memory.py [--quick] [--sizes 10000,100000,1000000] [--out bench/results/dedup_memory.json]

Documents (~500 characters) are recombined from real sentences (neko.txt and the CC-ja pages); 10% are near-copies
of a recent document with a few characters changed (planted near-duplicates). For each size, in a fresh child
process each: (a) the whole recipe (jsonl -> dedup minhash -> shards) through run_local with one worker, and (b) the
dedup decision pass alone (``prepare``) over the stage-0 shards (a) left. Peak RSS is the child's ru_maxrss.
Writes the JSON, a short .md table and a PNG plot next to it; the last line printed is the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]  # see bench/dedup.py
DOCS_PER_FILE = 10_000
RECIPE = """
name: memory
sources: [{type: jsonl, paths: ["docs/*.jsonl"]}]
steps: [{dedup: {method: minhash, threshold: 0.8}}]
output: {dir: out, keep_dropped: false}
"""


def write_corpus(folder: Path, n: int, chars: int, dup_rate: float, seed: int) -> int:
    """Streams ``n`` documents to jsonl files; returns the number of planted near-duplicates."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dedup_bench", REPO / "bench" / "dedup.py")
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    pool = helpers.sentence_pool(helpers.shared_dir())
    rng = random.Random(seed)
    recent: list[str] = []  # copies come from the last few thousand documents: bounded memory here too
    planted = 0
    (folder / "docs").mkdir(parents=True)
    fh = None
    for i in range(n):
        if i % DOCS_PER_FILE == 0:
            if fh:
                fh.close()
            fh = open(folder / "docs" / f"part{i // DOCS_PER_FILE:05d}.jsonl", "wb")
        if recent and rng.random() < dup_rate:  # a near-copy: 1-6 characters changed (Jaccard ~0.88-0.98)
            text = list(rng.choice(recent))
            for _ in range(rng.randint(1, 6)):
                text[rng.randrange(len(text))] = rng.choice("のにはをたがでてとし")
            text = "".join(text)
            planted += 1
        else:
            doc, size = [], 0
            while size < chars:
                doc.append(rng.choice(pool))
                size += len(doc[-1])
            text = "".join(doc)[:chars]
        recent.append(text)
        if len(recent) > 5000:
            recent.pop(rng.randrange(len(recent)))
        fh.write(orjson.dumps({"id": f"d{i}", "text": text}) + b"\n")
    fh.close()
    return planted


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child_pipeline(folder: Path) -> dict:
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    plan = build_plan(parse_recipe(RECIPE, base_dir=str(folder)))
    baseline = peak_rss_mb()
    start = time.perf_counter()
    manifest = run_local(plan, workers=1, progress=False)
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline,
            "read": manifest["read"], "kept": manifest["kept"], "dropped": manifest["dropped"],
            "dedup": manifest["steps"].get("dedup", {})}


def child_prepare(folder: Path) -> dict:
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    plan = build_plan(parse_recipe(RECIPE, base_dir=str(folder)))
    step = plan.stages[0].global_step
    work = folder / "prepare-only"
    shutil.rmtree(work, ignore_errors=True)
    baseline = peak_rss_mb()
    start = time.perf_counter()
    stats = step.prepare(str(folder / "out" / ".jacorpus" / "stage0"), str(work), 1, progress=False)
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline, "stats": stats}


def in_child(kind: str, folder: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--folder", str(folder)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(n: int, chars: int, root: Path) -> dict:
    folder = root / f"n{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    planted = write_corpus(folder, n, chars, 0.1, seed=n)
    generated = time.perf_counter() - start
    (folder / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
    pipeline = in_child("pipeline", folder)
    prepare = in_child("prepare", folder)
    shutil.rmtree(folder, ignore_errors=True)
    out = {"docs": n, "chars_per_doc": chars, "planted": planted, "generate_s": generated,
           "pipeline": pipeline, "prepare": prepare}
    print(json.dumps(out), file=sys.stderr)
    return out


def write_reports(result: dict, out_json: Path) -> None:
    out_json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = result["runs"]
    lines = [
        "# Dedup memory curve (MinHash, threshold 0.8, 128 permutations, one worker)", "",
        f"Documents of ~{rows[0]['chars_per_doc']} characters recombined from real sentences, 10% planted near-copies (1-6 characters changed). "
        "Peak RSS of a fresh process; 'prepare' is the dedup decision pass alone.", "",
        "| documents | pipeline peak RSS (MB) | pipeline time (s) | prepare peak RSS (MB) | prepare time (s) | removed | planted |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        removed = sum(r["pipeline"]["dropped"].values())
        lines.append(f"| {r['docs']:,} | {r['pipeline']['peak_rss_mb']:.0f} | {r['pipeline']['seconds']:.0f} | "
                     f"{r['prepare']['peak_rss_mb']:.0f} | {r['prepare']['seconds']:.0f} | {removed:,} | {r['planted']:,} |")
    out_json.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["docs"] for r in rows]
    fig, (mem, sec) = plt.subplots(1, 2, figsize=(10, 4))
    mem.plot(sizes, [r["pipeline"]["peak_rss_mb"] for r in rows], "o-", label="whole recipe")
    mem.plot(sizes, [r["prepare"]["peak_rss_mb"] for r in rows], "s-", label="dedup prepare alone")
    mem.plot(sizes, [r["docs"] * r["chars_per_doc"] * 3 / 2**20 for r in rows], ":", color="grey", label="corpus UTF-8 size")
    mem.set(xscale="log", yscale="log", xlabel="documents", ylabel="peak RSS (MB)", title="Peak memory")
    mem.legend()
    sec.plot(sizes, [r["pipeline"]["seconds"] for r in rows], "o-", label="whole recipe")
    sec.plot(sizes, [r["prepare"]["seconds"] for r in rows], "s-", label="dedup prepare alone")
    sec.set(xscale="log", yscale="log", xlabel="documents", ylabel="seconds", title="Time (one worker)")
    sec.legend()
    fig.tight_layout()
    fig.savefig(out_json.with_suffix(".png"), dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 10,000 documents only")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--chars", type=int, default=500)
    parser.add_argument("--out", default=None, help="JSON path; .md and .png written beside it")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--child", choices=["pipeline", "prepare"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child_pipeline(Path(args.folder)) if args.child == "pipeline" else child_prepare(Path(args.folder))
        print(json.dumps(result))
        return
    sizes = [2000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="dedup-memory-"))
    result = {"bench": "dedup_memory", "quick": args.quick, "cpu_count": os.cpu_count(),
              "runs": [measure(n, args.chars, root) for n in sizes]}
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    if args.out:
        write_reports(result, Path(args.out))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
