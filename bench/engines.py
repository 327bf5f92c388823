"""Engines bench: one recipe on the local engine (1 and 2 workers) and on Spark local[1] / local[2].

    .venv/bin/python bench/engines.py [--quick] [--repeats N] [--out bench/results/engines.json]

Inputs are corpora of increasing size recombined from real Japanese text (neko.txt paragraphs, CC-ja pages, law
texts), written as ``--files`` plain-text files (one plan task, i.e. one local or Spark task, per file). Two recipe
variants: no steps (read + write shards only) and every per-document step that is registered and builds with
default options (others are listed as skipped with the reason). Every run's output is compared with the local
1-worker output of the same configuration: manifest (less engine/versions), every column of the saved dataset,
and the shard sha256s; a difference aborts the bench.

Timing: a job is ``build_plan`` + ``run_local``/``run_spark`` on an existing session. Two phases, one Spark session
each: local[1] beside local-1 runs, then local[2] beside local-2 runs, interleaved per configuration so that peers
see the same machine load. Spark session start-up is timed apart (the first start launches the JVM; the second, in
the same process, reuses it), and so is a warm-up job per engine on a 50 KB corpus (Spark: Python workers started
and jacorpus imported there; local-1: the bench process's own imports and model loads). Each figure is the minimum
of ``--repeats`` runs (the machine is shared; the minimum is the least disturbed run).
The last line printed is one JSON object with every figure; --out also writes it to a file, and the plot (time
vs input size per engine) beside it as .png. Engine output paths avoid glob metacharacters ("[1]"): see slug().
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

ENGINES = ["local-1", "local-2", "spark-local[1]", "spark-local[2]"]
STEP_ORDER = ["normalize", "language", "quality", "pii", "ngwords", "classifier"]  # a sensible pipeline order
SIZES_MB = {"quick": [0.25, 1.0], "full": [1.0, 4.0, 16.0]}


# -- inputs ------------------------------------------------------------------------------------------------------
def paragraph_pools(shared: Path) -> dict[str, list[str]]:
    """Paragraphs (one or more non-blank lines) of three real text families."""
    neko = (shared / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")  # CRLF -> \n
    cc = json.loads((shared / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    laws = sorted((shared / "neardup_ja_law_versions").glob("*/*.txt"))

    def blocks(text: str) -> list[str]:
        return [b.strip("\n") for b in re.split(r"\n[ \t\u3000]*\n", text) if b.strip()]

    return {
        "neko": blocks(neko),
        "cc": [line for group in cc.values() for d in group for line in d["text"].split("\n") if line.strip()],
        "law": [b for path in laws for b in blocks(path.read_text(encoding="utf-8"))],
    }


def build_corpus(pools: dict[str, list[str]], folder: Path, target_bytes: int, files: int, seed: int) -> dict[str, int]:
    """Documents of 300-4,000 characters, each a run of consecutive paragraphs of one family from a random start;
    written round-robin into ``files`` files, blank line between documents (the ``text`` source's blank_line)."""
    rng = random.Random(seed)
    families, weights = ["neko", "cc", "law"], [0.4, 0.4, 0.2]
    outs: list[list[str]] = [[] for _ in range(files)]
    total = docs = chars = 0
    while total < target_bytes:
        pool = pools[rng.choices(families, weights)[0]]
        length, start, parts, size = rng.randint(300, 4000), rng.randrange(len(pool)), [], 0
        for k in range(len(pool)):
            paragraph = pool[(start + k) % len(pool)]
            parts.append(paragraph)
            size += len(paragraph)
            if size >= length:
                break
        text = "\n".join(parts)
        outs[docs % files].append(text)
        total += len(text.encode("utf-8"))
        chars += len(text)
        docs += 1
    folder.mkdir(parents=True, exist_ok=True)
    for i, texts in enumerate(outs):
        (folder / f"part-{i:03d}.txt").write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    return {"docs": docs, "chars": chars, "bytes": sum(p.stat().st_size for p in folder.glob("*.txt")), "files": files}


# -- recipes -----------------------------------------------------------------------------------------------------
def usable_steps() -> tuple[list[str], dict[str, str]]:
    """Registered per-document steps that build with default options, in pipeline order; the rest with why not."""
    from jacorpus.corpus.steps import load_builtin_steps

    used, skipped = [], {}
    types = load_builtin_steps()
    for name in sorted(types, key=lambda n: (STEP_ORDER.index(n) if n in STEP_ORDER else len(STEP_ORDER), n)):
        cls = types[name]
        if cls.is_global:
            skipped[name] = "global step (runs between stages, not per document): outside this bench"
            continue
        try:
            cls(cls.Options(), base_dir=".")
        except Exception as exc:  # e.g. a required model or word list
            skipped[name] = f"needs options: {str(exc).splitlines()[0]} ({str(exc).splitlines()[1].strip()})"
            continue
        used.append(name)
    return used, skipped


def make_recipe(corpus: Path, steps: list[str], name: str):
    from jacorpus.pipelines.recipe import parse_recipe

    spec = {
        "name": name,
        "sources": [{"name": "mix", "type": "text", "split": "blank_line", "paths": [f"{corpus}/*.txt"]}],
        "steps": [{s: {}} for s in steps],
        "output": {"dir": "out", "keep_dropped": True},
    }
    return parse_recipe(json.dumps(spec, ensure_ascii=False), f"{name}.yaml", str(corpus))


# -- running and checking ----------------------------------------------------------------------------------------
def slug(engine: str) -> str:
    """A directory name: an output path with glob metacharacters breaks the engines (bench/results/engines.md)."""
    return re.sub(r"[^A-Za-z0-9.-]", "", engine)


def run_job(engine: str, recipe, out: Path, spark=None) -> tuple[dict[str, Any], float]:
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.spark import run_spark

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    plan = build_plan(recipe, str(out))
    if engine.startswith("local"):
        manifest = run_local(plan, workers=int(engine[-1]), progress=False)
    else:
        manifest = run_spark(plan, spark=spark)
    return manifest, time.perf_counter() - start


def step_seconds(out: Path) -> dict[str, float]:
    """Seconds spent in each step of stage 0, summed over tasks (datatrove's stats of a local run)."""
    stats = json.loads((out / ".jacorpus" / "logs" / "stage0" / "stats.json").read_text(encoding="utf-8"))
    return {s["name"].split(": ")[-1]: s["time_stats"]["total"] for s in stats if s.get("time_stats")}


def assert_same_output(reference: tuple[dict, Path], other: tuple[dict, Path], what: str) -> None:
    import datasets

    def comparable(m: dict) -> dict:
        return {k: v for k, v in m.items() if k not in ("engine", "versions", "shards", "dropped_shards")}

    (m_ref, d_ref), (m_oth, d_oth) = reference, other
    if comparable(m_ref) != comparable(m_oth):
        raise AssertionError(f"{what}: manifests differ")
    if [s["sha256"] for s in m_ref["shards"]] != [s["sha256"] for s in m_oth["shards"]]:
        raise AssertionError(f"{what}: shard bytes differ")
    a, b = datasets.load_from_disk(str(d_ref)), datasets.load_from_disk(str(d_oth))
    if a.column_names != b.column_names or len(a) != len(b):
        raise AssertionError(f"{what}: columns or row counts differ")
    for column in a.column_names:  # ids and texts included
        if a[column] != b[column]:
            raise AssertionError(f"{what}: column {column!r} differs")


# -- the schedule ------------------------------------------------------------------------------------------------
class Bench:
    """Runs the matrix phase by phase (one Spark session per phase) and checks every output against local-1."""

    def __init__(self, sizes: list[float], variants: dict[str, list[str]], files: int, repeats: int, tmp: Path):
        self.tmp, self.repeats, self.sizes, self.variants = tmp, repeats, sizes, variants
        pools = paragraph_pools(shared_dir())
        self.corpora = {mb: build_corpus(pools, tmp / "in" / f"{mb}MB", int(mb * 1e6), files, seed=5) for mb in sizes}
        self.recipes = {
            (mb, v): make_recipe(tmp / "in" / f"{mb}MB", steps, f"bench-{v}") for mb in sizes for v, steps in variants.items()
        }
        build_corpus(pools, tmp / "in" / "warmup", 50_000, files, seed=6)
        self.warmup_recipe = make_recipe(tmp / "in" / "warmup", variants["steps"], "bench-warmup")
        self.times: dict[tuple[float, str, str], list[float]] = {}
        self.manifests: dict[tuple[float, str], dict] = {}
        self.step_seconds: dict[tuple[float, str], dict[str, float]] = {}
        self.references: dict[tuple[float, str], tuple[dict, Path]] = {}
        self.checks = self.count = 0

    def run(self, engine: str, mb: float, variant: str, spark=None) -> None:
        key = (mb, variant)
        for rep in range(self.repeats):
            self.count += 1  # a fresh directory per run: a later run must not replace the reference output
            out = self.tmp / "out" / f"{mb}MB" / variant / f"{slug(engine)}-{self.count}"
            manifest, seconds = run_job(engine, self.recipes[key], out, spark)
            self.times.setdefault((mb, variant, engine), []).append(seconds)
            if key not in self.references:  # the schedule runs local-1 first
                self.references[key] = (manifest, out)
                self.manifests[key] = manifest
                self.step_seconds[key] = step_seconds(out)
                continue
            assert_same_output(self.references[key], (manifest, out), f"{mb} MB, {variant}, {engine} run {rep}")
            self.checks += 1
            shutil.rmtree(out)

    def warmup(self, engine: str, spark=None) -> float:
        return run_job(engine, self.warmup_recipe, self.tmp / "out" / "warmup" / slug(engine), spark)[1]


def shared_dir() -> Path:
    from conftest import shared_data_dir

    return shared_data_dir()


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from jacorpus.pipelines.local import stderr_to_file
    from jacorpus.pipelines.spark import spark_session

    started, load_start = time.perf_counter(), os.getloadavg()
    used, skipped = usable_steps()
    variants = {"none": [], "steps": used}
    sizes = SIZES_MB["quick" if args.quick else "full"]
    tmp = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    sessions: dict[str, dict[str, Any]] = {}
    local_warmup: dict[str, float] = {}
    # datatrove's per-task INFO logs and Spark's JVM log go to a file (the JVM inherits fd 2 when it starts)
    with stderr_to_file(str(tmp / "stderr.log"), enabled=True):
        bench = Bench(sizes, variants, args.files, args.repeats, tmp)
        runs_per_phase = len(sizes) * len(variants) * 2 * args.repeats
        with Progress(TextColumn("{task.description:<42}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
            task = bar.add_task("warm-up", total=2 * runs_per_phase)
            local_warmup["local-1"] = bench.warmup("local-1")  # imports and model loads of the bench process
            for n, master in ((1, "local[1]"), (2, "local[2]")):
                engine = f"spark-{master}"
                bar.update(task, description=f"{engine}: session start")
                t0 = time.perf_counter()
                spark = spark_session(master, "bench-engines", {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"})
                spark.sparkContext.setLogLevel("ERROR")
                info = {"start_s": time.perf_counter() - t0, "jvm_launched": not sessions, "loadavg_before": os.getloadavg()}
                info["warmup_job_s"] = bench.warmup(engine, spark)
                for mb in sizes:
                    for variant in variants:
                        for peer in (f"local-{n}", engine):  # local-1 first: it is the reference output
                            bar.update(task, description=f"{mb} MB, {variant}, {peer}")
                            bench.run(peer, mb, variant, spark if peer == engine else None)
                            bar.advance(task, args.repeats)
                t0 = time.perf_counter()
                spark.stop()
                info["stop_s"] = time.perf_counter() - t0
                info["loadavg_after"] = os.getloadavg()
                sessions[master] = info
    result = summarize(bench, sizes, variants, sessions, local_warmup)
    result |= {
        "quick": args.quick, "files": args.files, "repeats": args.repeats, "steps_used": used, "steps_skipped": skipped,
        "machine": {"cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
        "total_s": time.perf_counter() - started,
    }
    shutil.rmtree(tmp, ignore_errors=True)
    return result


# -- figures -----------------------------------------------------------------------------------------------------
def summarize(bench: Bench, sizes, variants, sessions, local_warmup) -> dict[str, Any]:
    import numpy as np

    cold_start = next(s["start_s"] for s in sessions.values() if s["jvm_launched"])
    rows, ratios, fits = [], [], {}
    for mb in sizes:
        for variant in variants:
            best = {e: min(bench.times[(mb, variant, e)]) for e in ENGINES}
            manifest, megabytes = bench.manifests[(mb, variant)], bench.corpora[mb]["bytes"] / 1e6
            for engine in ENGINES:
                rows.append({
                    "size_mb": mb, "input_mb": megabytes, "variant": variant, "engine": engine, "job_s": best[engine],
                    "all_s": bench.times[(mb, variant, engine)], "mb_per_s": megabytes / best[engine],
                })
            ratios.append({
                "size_mb": mb, "variant": variant, "read": manifest["read"], "kept": manifest["kept"],
                "local1_step_seconds": bench.step_seconds[(mb, variant)],
                "spark1_over_local1": best["spark-local[1]"] / best["local-1"],
                "spark2_over_local2": best["spark-local[2]"] / best["local-2"],
                "spark2_with_cold_start_over_local2": (cold_start + best["spark-local[2]"]) / best["local-2"],
                "spark2_extra_s": best["spark-local[2]"] - best["local-2"],
                "local_2_workers_speedup": best["local-1"] / best["local-2"],
                "spark_2_cores_speedup": best["spark-local[1]"] / best["spark-local[2]"],
            })
    for variant in variants:
        fits[variant] = {}
        for engine in ENGINES:
            xs = [r["input_mb"] for r in rows if r["variant"] == variant and r["engine"] == engine]
            ys = [r["job_s"] for r in rows if r["variant"] == variant and r["engine"] == engine]
            slope, fixed = np.polyfit(xs, ys, 1)
            fits[variant][engine] = {"fixed_s": float(fixed), "s_per_mb": float(slope)}
        for n in (1, 2):  # where the two fitted lines cross, if they do at a positive size
            s, loc = fits[variant][f"spark-local[{n}]"], fits[variant][f"local-{n}"]
            slopes = loc["s_per_mb"] - s["s_per_mb"]
            cross = (s["fixed_s"] - loc["fixed_s"]) / slopes if slopes else -1.0
            fits[variant][f"crossover_{n}"] = {
                "mb": cross if cross > 0 else None,
                "faster_above": f"spark-local[{n}]" if slopes > 0 else f"local-{n}",
            }
    return {
        "bench": "engines", "corpora": {str(mb): bench.corpora[mb] for mb in sizes},
        "spark_sessions": sessions, "local_warmup_s": local_warmup, "rows": rows, "ratios": ratios, "fits": fits,
        "identical_output_checks": bench.checks,
    }


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="job seconds (min of repeats; Spark session excluded) and ratios at equal parallelism")
    for column in ["MB", "steps", "local-1", "local-2", "spark[1]", "spark[2]", "s1/l1", "s2/l2", "+start", "l1/l2"]:
        table.add_column(column, justify="right")
    for ratio in result["ratios"]:
        cells = {r["engine"]: r for r in result["rows"] if r["size_mb"] == ratio["size_mb"] and r["variant"] == ratio["variant"]}
        table.add_row(
            f"{cells['local-1']['input_mb']:.2f}", ratio["variant"], *[f"{cells[e]['job_s']:.2f}" for e in ENGINES],
            f"{ratio['spark1_over_local1']:.2f}", f"{ratio['spark2_over_local2']:.2f}",
            f"{ratio['spark2_with_cold_start_over_local2']:.2f}", f"{ratio['local_2_workers_speedup']:.2f}",
        )
    console = Console(width=max(100, Console().width))
    console.print(table)
    console.print("s1/l1 = spark local[1] / local 1 worker; s2/l2 = spark local[2] / local 2 workers; +start = (cold "
                  "Spark session start + spark[2] job) / local-2; l1/l2 = speed-up of the local engine from 2 workers")
    for master, info in result["spark_sessions"].items():
        console.print(f"Spark {master}: session start {info['start_s']:.1f}s ({'JVM launched' if info['jvm_launched'] else 'JVM already up'}),"
                      f" warm-up job {info['warmup_job_s']:.1f}s, stop {info['stop_s']:.1f}s")
    for variant, fit in result["fits"].items():
        console.print(f"fit ({variant}): " + ", ".join(
            f"{e} {fit[e]['fixed_s']:.2f}s + {fit[e]['s_per_mb']:.2f}s/MB" for e in ENGINES))
        for n in (1, 2):
            cross = fit[f"crossover_{n}"]
            where = f"lines cross at {cross['mb']:.1f} MB" if cross["mb"] else "lines do not cross at a positive size"
            console.print(f"  {where}; {cross['faster_above']} is faster above it (fit of {len(result['corpora'])} sizes)")
    console.print(f"outputs identical across engines: {result['identical_output_checks']} comparisons; "
                  f"steps used: {', '.join(result['steps_used'])}; load average {result['machine']['loadavg_start'][0]:.1f}"
                  f" -> {result['machine']['loadavg_end'][0]:.1f} on {result['machine']['cpus']} cores")


def write_plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    variants = list(result["fits"])
    cold = next(s["start_s"] for s in result["spark_sessions"].values() if s["jvm_launched"])
    fig, axes = plt.subplots(1, len(variants), figsize=(6 * len(variants), 4.5), squeeze=False)
    for ax, variant in zip(axes[0], variants):
        for engine, style in zip(ENGINES, ["o-", "s-", "o--", "s--"]):
            rows = [r for r in result["rows"] if r["variant"] == variant and r["engine"] == engine]
            ax.plot([r["input_mb"] for r in rows], [r["job_s"] for r in rows], style, label=engine)
        steps = ", ".join(result["steps_used"]) if variant == "steps" else "no steps"
        ax.set(title=f"{variant}: {steps}", xlabel="input size (MB of UTF-8 text)", ylabel="job seconds (session excluded)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([r["input_mb"] for r in rows], [f"{r['input_mb']:.2g}" for r in rows])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle(f"jacorpus engines, {result['files']} input files, {result['machine']['cpus']} shared cores; "
                 f"not shown: cold Spark session start {cold:.0f}s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small sizes, one repeat: under 2 minutes")
    parser.add_argument("--files", type=int, default=None, help="input files per corpus (= tasks; default 4 quick, 8 full)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per engine and phase (default 1 quick, 2 full)")
    parser.add_argument("--out", default=None, help="write the JSON here, and the plot (.png) beside it")
    args = parser.parse_args()
    args.repeats = args.repeats or (1 if args.quick else 2)
    args.files = args.files or (4 if args.quick else 8)
    result = run_all(args)
    result["command"] = "python " + " ".join([f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    print_table(result)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        write_plot(result, out.with_suffix(".png"))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
