"""Peak memory and time of MinHash dedup at growing corpus sizes (10k, 100k, 1M documents by default).

    .venv/bin/python bench/dedup_memory.py [--quick] [--sizes 10000,100000,1000000] [--out bench/results/dedup_memory.json]

Documents (~500 characters) are recombined from real sentences (the pool of bench/_neardup_set.py: neko.txt, CC-ja,
JSQuAD, jawiki, JSTS); 10% are near-copies of a recent document with a few characters changed (planted
near-duplicates). For each size, in a fresh child process each: (a) the whole recipe (jsonl -> dedup minhash ->
shards) through run_local with one worker, and (b) the dedup decision pass alone (``prepare``) over the stage-0
shards (a) left. Memory: peaks of the child's process tree (its engine workers included), RSS and anonymous.
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


def bench_module(name: str):
    """A helper module of bench/ loaded by path (bench/ is off sys.path here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def results_dir() -> Path:
    return bench_module("_common").results_dir()
DOCS_PER_FILE = 10_000
RECIPE = """
name: memory
sources: [{type: jsonl, paths: ["docs/*.jsonl"]}]
steps: [{dedup: {method: minhash, threshold: 0.8}}]
output: {dir: out, keep_dropped: false}
"""


def write_corpus(folder: Path, n: int, chars: int, dup_rate: float, seed: int) -> int:
    """Streams ``n`` documents to jsonl files; returns the number of planted near-duplicates."""
    pool = bench_module("_neardup_set").sentence_pool(bench_module("_common").shared_data_dir())
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


class TreeMemory:
    """Peaks of the whole process tree (this process and every descendant: the engine's forkserver workers run
    the dedup pass) sampled every 20 ms from /proc/<pid>/status: RSS and its anonymous part (RssAnon). Memory-
    mapped shard pages count in RSS but not in anonymous memory; Slurm and cgroup limits see RSS."""

    def __init__(self) -> None:
        import threading

        self.peak_rss = self.peak_anon = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil

        rss = anon = 0
        me = psutil.Process()
        for proc in [me, *me.children(recursive=True)]:
            try:
                with open(f"/proc/{proc.pid}/status") as fh:
                    fields = dict(line.split(":", 1) for line in fh if line.startswith(("VmRSS", "RssAnon")))
            except OSError:  # ended meanwhile
                continue
            rss += int(fields.get("VmRSS", "0 kB").split()[0])
            anon += int(fields.get("RssAnon", "0 kB").split()[0])
        self.peak_rss, self.peak_anon = max(self.peak_rss, rss / 1024), max(self.peak_anon, anon / 1024)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()


def child_pipeline(folder: Path) -> dict:
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    plan = build_plan(parse_recipe(RECIPE, base_dir=str(folder)))
    baseline = peak_rss_mb()
    start = time.perf_counter()
    with TreeMemory() as tree:
        manifest = run_local(plan, workers=1, progress=False)
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline,
            "tree_peak_rss_mb": tree.peak_rss, "tree_peak_anon_mb": tree.peak_anon,
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
    with TreeMemory() as tree:
        stats = step.prepare(str(folder / "out" / ".jacorpus" / "stage0"), str(work), 1, progress=False)
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline,
            "tree_peak_rss_mb": tree.peak_rss, "tree_peak_anon_mb": tree.peak_anon, "stats": stats}


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
        "Peaks of the whole process tree (the main process and the engine's workers, sampled every 20 ms): RSS and "
        "its anonymous part (memory-mapped shard pages count in RSS only; Slurm/cgroup limits see RSS); 'prepare' "
        f"is the dedup decision pass alone. `{result.get('command', '')}`; load average at start "
        f"{result.get('load', '?')} on {result['cpu_count']} shared cores.", "",
        "| documents | pipeline peak RSS / anon (MB) | pipeline time (s) | prepare peak RSS / anon (MB) | prepare time (s) "
        "| removed | planted |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        removed = sum(r["pipeline"]["dropped"].values())
        p, q = r["pipeline"], r["prepare"]
        lines.append(f"| {r['docs']:,} | {p['tree_peak_rss_mb']:.0f} / {p['tree_peak_anon_mb']:.0f} | "
                     f"{p['seconds']:.0f} | {q['tree_peak_rss_mb']:.0f} / {q['tree_peak_anon_mb']:.0f} | "
                     f"{q['seconds']:.0f} | {removed:,} | {r['planted']:,} |")
    if len(rows) >= 2 and rows[-1]["docs"] < 1_000_000:  # the slope between the two largest sizes, drawn to 1M
        a, b = rows[-2], rows[-1]
        slope = {part: (b[part]["tree_peak_anon_mb"] - a[part]["tree_peak_anon_mb"]) / (b["docs"] - a["docs"]) * 100_000
                 for part in ("pipeline", "prepare")}
        at_1m = {part: b[part]["tree_peak_anon_mb"] + slope[part] * (1_000_000 - b["docs"]) / 100_000 for part in slope}
        lines += ["", f"Scaling (not measured at 1,000,000: that run takes over 10 minutes on these shared cores): "
                  f"anonymous memory grows by {slope['pipeline']:.0f} MB (whole recipe) and {slope['prepare']:.0f} MB "
                  f"(prepare) per 100,000 documents between {a['docs']:,} and {b['docs']:,}; drawn linearly to "
                  f"1,000,000 documents: ~{at_1m['pipeline']:.0f} MB and ~{at_1m['prepare']:.0f} MB. Times are wall "
                  "seconds on a machine shared with other jobs (load above), so they do not scale cleanly."]
    if len(rows) >= 2 and rows[-1]["docs"] >= 1_000_000:
        a, b = rows[-2], rows[-1]
        per_doc = {part: (b[part]["tree_peak_anon_mb"] - a[part]["tree_peak_anon_mb"]) * 2**20 / (b["docs"] - a["docs"])
                   for part in ("pipeline", "prepare")}
        from jacorpus.corpus.dedup.spill import KEY_DOC, WORK_FACTOR

        bands = b["prepare"]["stats"]["bands"]
        keys = {r["docs"]: r["docs"] * bands / r["prepare"]["stats"]["partitions"] for r in rows}
        held = {n: k * KEY_DOC.itemsize * WORK_FACTOR / 2**20 for n, k in keys.items()}
        lines += ["", f"From {a['docs']:,} to {b['docs']:,} documents, peak anonymous memory grows by "
                  f"{per_doc['pipeline']:.0f} bytes per added document (whole recipe) and {per_doc['prepare']:.0f} "
                  "(prepare), and most of that is not per-document state. The decision pass holds one spill "
                  f"partition of band keys at a time ({KEY_DOC.itemsize}-byte records, {WORK_FACTOR}x room for "
                  "sorting), and the number of "
                  "partitions is the smallest that keeps one within the step's `memory_mb` (256 MB), so a partition "
                  "holds between half the budget and the budget: "
                  + ", ".join(f"{r['docs']:,} documents: {r['prepare']['stats']['partitions']} partition(s) of "
                              f"{keys[r['docs']] / 1e6:.1f} M keys, ~{held[r['docs']]:.0f} MB" for r in rows)
                  + f". The partition grew by ~{held[b['docs']] - held[a['docs']]:.0f} MB between the two largest "
                  f"sizes, of the {b['prepare']['tree_peak_anon_mb'] - a['prepare']['tree_peak_anon_mb']:.0f} MB "
                  "measured. It cannot grow past the budget; what grows without bound is a few arrays of one number "
                  "per document (union-find, priorities, keepers, cluster sizes: tens of bytes per document).", ""]
    out_json.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["docs"] for r in rows]
    fig, (mem, sec) = plt.subplots(1, 2, figsize=(10, 4))
    mem.plot(sizes, [r["pipeline"]["tree_peak_rss_mb"] for r in rows], "o-", label="whole recipe, RSS")
    mem.plot(sizes, [r["pipeline"]["tree_peak_anon_mb"] for r in rows], "o--", label="whole recipe, anonymous")
    mem.plot(sizes, [r["prepare"]["tree_peak_rss_mb"] for r in rows], "s-", label="dedup prepare alone, RSS")
    mem.plot(sizes, [r["prepare"]["tree_peak_anon_mb"] for r in rows], "s--", label="dedup prepare alone, anonymous")
    mem.plot(sizes, [r["docs"] * r["chars_per_doc"] * 3 / 2**20 for r in rows], ":", color="grey", label="corpus UTF-8 size")
    mem.set(xscale="log", yscale="log", xlabel="documents", ylabel="peak MB (process tree)", title="Peak memory")
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
    parser.add_argument("--out", default=None, help="JSON path (default: the results folder); .md and .png beside it")
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
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    command = "python bench/dedup_memory.py " + " ".join(sys.argv[1:])
    result = {"bench": "dedup_memory", "quick": args.quick, "cpu_count": os.cpu_count(), "load": load,
              "command": command,
              "runs": [measure(n, args.chars, root) for n in sizes]}
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    out = Path(args.out) if args.out else results_dir() / "dedup_memory.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_reports(result, out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
