"""Scale bench (issue 13): one big CC-100-layout file read as many tasks.

    .venv/bin/python bench/scale.py [--mb 48] [--quick]   # --quick: 4 MB, writes bench/results/scale_quick.*

Input: a CC-100-layout text (one paragraph per line, documents separated by blank lines) built from real Japanese
text in ../shared/data (Soseki's novel, the ABEJA CC-ja pages, statutes; paragraphs shuffled with a fixed seed and
repeated to ``--mb``), written as plain text, multi-block xz (``xz -T1 --block-size``) and single-stream xz (one
block: how CC-100's ja.txt.xz is made). ``split_bytes`` is a eighth of the text, so each form runs as 8 splits.

Measured, each form, recipe ``normalize`` + ``quality: swallow``:
- tasks of the plan, wall time of ``run_local`` with 1 and 2 workers (the two runs alternate, so load from other
  processes on this shared machine hits both alike), and that the outputs are identical (ids, texts, shards' sha256);
- peak RSS of one task reading one split, each in a fresh process, for the file at a quarter of its size and at
  full size (flat: a task holds a record and buffers, never a file);
- the single-stream cutting stage (``splits.prepare`` on the file's first split: decompress once, cut into zstd
  parts) against ``xz -dc > /dev/null`` on the same file, alternating;
- driver-side cost of planning a simulated 70 GB plain input (sparse file: 280 splits at 256 MiB) and of planning
  100,000 small .warc.gz files (one task each, as a Common Crawl snapshot's file list), and of merging 100,000 task
  ledgers into a manifest (``read_parts`` + ``merge_ledgers``).
The last line printed is a JSON object of every figure; it is also written to bench/results/scale.json and
summarised in scale.md (quick runs write scale_quick.* instead, never the recorded results).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _common import cc_ja_texts, shared_data_dir  # noqa: E402

STEPS = "  - normalize: {}\n  - quality: {preset: swallow}\n"


def paragraphs(data: Path) -> list[list[str]]:
    """Documents as lists of paragraph lines, from three real text families."""
    neko = (data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    docs = [[line.strip() for line in block.splitlines() if line.strip()]
            for block in re.split(r"\n[ \t\u3000]*\n", neko) if block.strip()]
    docs += [[line for line in text.split("\n") if line.strip()] for text in cc_ja_texts(data)]
    for path in sorted((data / "neardup_ja_law_versions").glob("*/*.txt")):
        docs += [[line.strip() for line in block.splitlines() if line.strip()]
                 for block in re.split(r"\n[ \t\u3000]*\n", path.read_text(encoding="utf-8")) if block.strip()]
    return [d for d in docs if d]


def build_text(data: Path, target: int, out: Path) -> int:
    docs = paragraphs(data)
    rng = random.Random(13)
    written = 0
    with open(out, "wb") as fh:
        while written < target:
            rng.shuffle(docs)
            for doc in docs:
                chunk = ("\n".join(doc) + "\n\n").encode("utf-8")
                fh.write(chunk)
                written += len(chunk)
                if written >= target:
                    break
    return written


# The bench text repeats ~5.4 MB of real text (shuffled each round). xz -6's 8 MiB window would find those repeats
# and compress the text ~28x, which makes decompression unrealistically cheap (CC-100's ja.txt.xz is ~4.6x); with a
# 1 MiB window the repeats fall outside it and the file compresses like unique Japanese text (~6x, measured).
XZ_FILTER = "--lzma2=preset=6,dict=1MiB"


def xz(src: Path, dst: Path, block: int | None) -> None:
    args = ["xz", "-T2" if block else "-T1", XZ_FILTER, "-c"] + ([f"--block-size={block}"] if block else []) + [str(src)]
    with open(dst, "wb") as fh:
        subprocess.run(args, check=True, stdout=fh)


def recipe(folder: Path, path: Path, split_bytes: int) -> str:
    return (f"name: scale\nsplit_bytes: {split_bytes}\nsources:\n  - {{name: cc100, type: cc100, paths: [\"{path}\"]}}\n"
            f"steps:\n{STEPS}output: {{dir: out}}\n")


def run_once(folder: Path, path: Path, split_bytes: int, workers: int, out: Path) -> tuple[float, dict]:
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    plan = build_plan(parse_recipe(recipe(folder, path, split_bytes), "scale.yaml", str(folder)), str(out))
    manifest = run_local(plan, workers=workers, progress=False)
    return time.perf_counter() - start, manifest


_PLANS: dict = {}


def _plan(text: str, folder: str, out: str):
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    key = (text, out)
    if key not in _PLANS:
        _PLANS[key] = build_plan(parse_recipe(text, "scale.yaml", folder), out)
    return _PLANS[key]


def _run_rank(args: tuple) -> tuple[float, float]:
    """One task of one stage in a pool worker (plan built once per worker, outside the timed part)."""
    text, folder, out, stage_position, rank = args
    plan = _plan(text, folder, out)
    if rank < 0:
        return 0.0, 0.0
    stage = plan.stages[stage_position]
    t, cpu = time.perf_counter(), time.process_time()
    stage.run_task(stage.task_context(rank, plan.tasks))
    return time.perf_counter() - t, time.process_time() - cpu


def warm_pool_scaling(folder: Path, path: Path, split_bytes: int, rounds: int) -> dict:
    """The split stage and stage 0 of the plan run task by task on a pool of 1 or 2 worker processes whose imports
    and plan are done before the clock starts: the scaling of the split stages themselves, without the executor's
    process start-up (which dominates ``run_local`` at these sizes on this loaded machine)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    text = recipe(folder, path, split_bytes)
    result: dict = {}
    for workers in (1, 2) * rounds:
        out = folder / f"pool-{workers}"
        shutil.rmtree(out, ignore_errors=True)
        plan = _plan(text, str(folder), str(out))
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            list(pool.map(_run_rank, [(text, str(folder), str(out), 0, -1)] * (workers * 4)))  # warm every worker
            stages = {}
            for position, stage in enumerate(plan.stages):
                t = time.perf_counter()
                done = list(pool.map(_run_rank, [(text, str(folder), str(out), position, r)
                                                 for r in range(plan.tasks)]))
                stages[stage.label] = {"wall_s": time.perf_counter() - t, "task_s_sum": sum(d[0] for d in done),
                                       "task_cpu_s_sum": sum(d[1] for d in done)}
        result.setdefault(str(workers), []).append(stages)
    best = {w: min(sum(s["wall_s"] for s in run.values()) for run in runs) for w, runs in result.items()}
    result["speedup_best"] = best["1"] / best["2"]
    result["tasks"] = plan.tasks
    return result


def same_output(a: Path, b: Path) -> bool:
    import datasets

    x, y = datasets.load_from_disk(str(a)), datasets.load_from_disk(str(b))
    return x["id"] == y["id"] and x["text"] == y["text"]


TASK_RSS = """
import json, resource, sys
from jacorpus.corpus.ledger import Ledger
from jacorpus.corpus.steps import TaskContext
from jacorpus.corpus.sources.splits import prepare, read_split
from jacorpus.pipelines.plan import build_sources, plan_splits
from jacorpus.pipelines.recipe import parse_recipe
folder, path, split_bytes, work, which = sys.argv[1:6]
recipe = parse_recipe(json.loads(sys.argv[6]), "scale.yaml", folder)
source = build_sources(recipe)[0]
splits = plan_splits(recipe, [source])
split = splits[len(splits) // 2] if which == "middle" else splits[0]
source.bind(TaskContext(0, 1, Ledger(0), None, None, None, None))
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith(("VmHWM", "VmRSS")):
            yield line.split(":")[0], int(line.split()[1]) / 1024
before = dict(hwm())["VmRSS"]
with open("/proc/self/clear_refs", "w") as fh:  # resets VmHWM: the peak from here on is the task's, not the imports'
    fh.write("5")
if which == "cut":
    prepare(split, work)
else:
    n = sum(len(d.text) for d in read_split(source, split, work))
print(json.dumps({"splits": len(splits), "rss_after_imports_mb": before, "peak_rss_of_task_mb": dict(hwm())["VmHWM"],
                  "maxrss_with_imports_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def task_rss(folder: Path, path: Path, split_bytes: int, work: Path, which: str) -> dict:
    """Peak RSS of one task in a fresh process: 'cut' (the cutting stage) or 'middle' (reading a middle split)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    text = recipe(folder, path, split_bytes)
    done = subprocess.run([sys.executable, "-c", TASK_RSS, str(folder), str(path), str(split_bytes), str(work), which,
                           json.dumps(text)], check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare_all(folder: Path, path: Path, split_bytes: int, work: Path) -> None:
    from jacorpus.corpus.sources.splits import prepare
    from jacorpus.pipelines.plan import build_sources, plan_splits
    from jacorpus.pipelines.recipe import parse_recipe

    r = parse_recipe(recipe(folder, path, split_bytes), "scale.yaml", str(folder))
    for split in plan_splits(r, build_sources(r)):
        prepare(split, str(work))


def cutting_vs_xz(folder: Path, path: Path, split_bytes: int, rounds: int) -> dict:
    from jacorpus.corpus.sources.splits import prepare
    from jacorpus.pipelines.plan import build_sources, plan_splits
    from jacorpus.pipelines.recipe import parse_recipe

    r = parse_recipe(recipe(folder, path, split_bytes), "scale.yaml", str(folder))
    first = plan_splits(r, build_sources(r))[0]
    assert first.method == "cut", first
    cut, plain = [], []
    for k in range(rounds):
        work = Path(tempfile.mkdtemp(dir=folder))
        t = time.perf_counter()
        prepare(first, str(work))
        cut.append(time.perf_counter() - t)
        shutil.rmtree(work)
        t = time.perf_counter()
        subprocess.run(["xz", "-dc", str(path)], check=True, stdout=subprocess.DEVNULL)
        plain.append(time.perf_counter() - t)
    ratios = [c / p for c, p in zip(cut, plain)]
    return {"cut_s": cut, "xz_dc_s": plain, "ratio_per_round": ratios, "ratio_median": statistics.median(ratios)}


def cut_only(args) -> None:
    """The single-stream cutting stage alone (``--cut-only``): ``splits.prepare`` on the first split of a
    single-stream .xz with zstd compressing the parts inline (``CUT_THREADS`` 0, before) and on one worker thread
    (1, now), against ``xz -dc > /dev/null``, alternating, wall and CPU seconds (CPU: this process's, with zstd's
    threads, for the cut; the child's for xz). Writes bench/results/scale_cut.{md,json}."""
    from jacorpus.corpus.sources import splits
    from jacorpus.pipelines.plan import build_sources, plan_splits
    from jacorpus.pipelines.recipe import parse_recipe

    assert args.mb <= 1000, "keep this machine-friendly: --mb 1000 at most (the text, its xz and the parts sit in --work)"
    folder = Path(tempfile.mkdtemp(prefix="jacorpus-cut-", dir=args.work))
    result: dict = {"mb": args.mb, "rounds": args.rounds, "cpus": os.cpu_count(), "load_at_start": os.getloadavg()}
    try:
        size = build_text(shared_data_dir(), int(args.mb * 1e6), folder / "ja.txt")
        xz(folder / "ja.txt", folder / "ja.txt.xz", None)
        result.update(text_bytes=size, xz_bytes=os.path.getsize(folder / "ja.txt.xz"))
        r = parse_recipe(recipe(folder, folder / "ja.txt.xz", size // 8), "scale.yaml", str(folder))
        first = plan_splits(r, build_sources(r))[0]
        assert first.method == "cut", first
        names = ("cut_inline", "cut_thread", "decompress_only", "xz_dc")
        runs: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in names}
        for _ in range(args.rounds):
            for name in runs:
                before = resource.getrusage(resource.RUSAGE_CHILDREN if name == "xz_dc" else resource.RUSAGE_SELF)
                t = time.perf_counter()
                if name == "xz_dc":
                    subprocess.run(["xz", "-dc", str(folder / "ja.txt.xz")], check=True, stdout=subprocess.DEVNULL)
                elif name == "decompress_only":  # the cut's own read loop without cutting, counting or writing
                    from jacorpus.corpus.sources.compression import open_binary

                    with open_binary(str(folder / "ja.txt.xz")) as stream:
                        while stream.read1(1 << 20):
                            pass
                else:
                    splits.CUT_THREADS = 0 if name == "cut_inline" else 1
                    work = Path(tempfile.mkdtemp(dir=folder))
                    splits.prepare(first, str(work))
                wall = time.perf_counter() - t
                after = resource.getrusage(resource.RUSAGE_CHILDREN if name == "xz_dc" else resource.RUSAGE_SELF)
                if name.startswith("cut"):
                    shutil.rmtree(work)
                runs[name]["wall"].append(wall)
                runs[name]["cpu"].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        result["runs"] = runs
        result["load_at_end"] = os.getloadavg()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    med = {k: {m: statistics.median(v[m]) for m in ("wall", "cpu")} for k, v in runs.items()}
    command = "nice -n 5 .venv/bin/python bench/scale.py " + " ".join(sys.argv[1:])
    lines = ["# Cutting a single-stream .xz vs `xz -dc > /dev/null` (issue 13)", "",
             f"Command: `{command}`. Machine: {os.cpu_count()} cores shared with other work; load average "
             f"{result['load_at_start'][0]:.1f} at the start, {result['load_at_end'][0]:.1f} at the end.", "",
             f"Input: {size:,} bytes of CC-100-layout text built by this bench (real Japanese text, shuffled and "
             f"repeated), one xz stream of {result['xz_bytes']:,} bytes (`{XZ_FILTER}`, ratio {size / result['xz_bytes']:.1f}), "
             "cut into 8 zstd level-1 parts.", "",
             "| run | wall s (each round) | median wall s | median CPU s | wall / xz -dc | CPU / xz -dc |",
             "|---|---|---|---|---|---|"]
    for name, label in (("cut_inline", "cut, zstd inline (before)"), ("cut_thread", "cut, zstd on 1 worker thread (now)"),
                        ("decompress_only", "the cut's decompression alone (Python lzma, no parts)"),
                        ("xz_dc", "`xz -dc`")):
        lines.append(f"| {label} | {', '.join(f'{x:.2f}' for x in runs[name]['wall'])} | {med[name]['wall']:.2f} | "
                     f"{med[name]['cpu']:.2f} | {med[name]['wall'] / med['xz_dc']['wall']:.2f} | "
                     f"{med[name]['cpu'] / med['xz_dc']['cpu']:.2f} |")
    extra = med["cut_thread"]["cpu"] - med["decompress_only"]["cpu"]
    lines += ["", f"CPU beyond decompression: {extra:.2f} s of the cut's {med['cut_thread']['cpu']:.2f} s (counting "
              "newlines, zstd level-1 compression of every decompressed byte, writing the parts). The wall ratio "
              "depends on the load: on a loaded machine the compression thread competes for the same cores; on a "
              f"free one it runs beside decompression. The xz file is written with `{XZ_FILTER}` and compresses "
              f"{size / result['xz_bytes']:.1f}x, like unique Japanese text (CC-100's ja.txt.xz: ~4.6x), so "
              "decompression costs what it costs on real data."]
    result["median"] = med
    (REPO / "bench" / "results" / "scale_cut.json").write_text(json.dumps(result, indent=2))
    (REPO / "bench" / "results" / "scale_cut.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def planning_costs(folder: Path, files: int, tasks_for_merge: int) -> dict:
    from jacorpus.corpus.ledger import merge_ledgers
    from jacorpus.corpus.shards import read_parts
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    out: dict = {}
    big = folder / "sim70g.txt"
    with open(big, "wb") as fh:  # sparse: 70 GB of size, no disk
        fh.truncate(70 * 10**9)
    text = (f"name: sim\nsources:\n  - {{type: cc100, paths: [\"{big}\"]}}\noutput: {{dir: out}}\n")
    t = time.perf_counter()
    plan = build_plan(parse_recipe(text, "sim.yaml", str(folder)), str(folder / "sim-out"))
    out["plan_70gb_plain"] = {"seconds": time.perf_counter() - t, "tasks": plan.tasks}
    big.unlink()

    crawl = folder / "crawl"
    crawl.mkdir()
    member = gzip.compress(b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n\r\n", mtime=0)
    for k in range(files):
        (crawl / f"CC-MAIN-{k:06d}.warc.gz").write_bytes(member * 2)
    text = (f"name: sim\nsources:\n  - {{type: warc, paths: [\"{crawl}/*.warc.gz\"]}}\noutput: {{dir: out}}\n")
    t = time.perf_counter()
    plan = build_plan(parse_recipe(text, "sim.yaml", str(folder)), str(folder / "sim-out"))
    out["plan_files"] = {"files": files, "seconds": time.perf_counter() - t, "tasks": plan.tasks}
    shutil.rmtree(crawl)

    parts = folder / "merge" / ".jacorpus" / "parts"
    parts.mkdir(parents=True)
    ledger = {"read": 431, "kept": 402, "dropped": {"quality:too_short": 17, "quality:hiragana_ratio": 12},
              "errors": [], "errors_omitted": 0,
              "sources": {"cc": {"read": 431, "kept": 402, "dropped": 29}},
              "steps": {"quality": {"checked": 431}}, "shards": [{"file": "x", "rows": 402, "bytes": 1, "sha256": "0"}]}
    for rank in range(tasks_for_merge):
        (parts / f"{rank:05d}.json").write_text(json.dumps(ledger | {"rank": rank}))
    t = time.perf_counter()
    merged = merge_ledgers(read_parts(str(folder / "merge")))
    out["merge"] = {"tasks": tasks_for_merge, "seconds": time.perf_counter() - t, "read": merged["read"]}
    shutil.rmtree(folder / "merge")
    return out


def markdown(r: dict, command: str) -> str:
    """scale.md: the figures of one run, and an extrapolation that says it is one."""
    mb = r["text_bytes"] / 1e6
    lines = [
        "# Scale: one big CC-100-layout file as many tasks (issue 13)", "",
        f"Command: `{command}` ({'quick run' if r['quick'] else 'recorded run'}). Machine: {r['cpus']} cores shared "
        f"with other work; load average {r['load_at_start'][0]:.1f} at the start, {r['load_at_end'][0]:.1f} at the "
        "end, the bench at `nice 5`.",
        "",
        (f"**Smaller than the issue asks** (>= 1 GB): the text is {mb:.0f} MB. " if mb < 1000 else
         f"Input: {mb:,.0f} MB of CC-100-layout text ") +
        "(built from real Japanese text: Soseki, ABEJA CC-ja pages, statutes; shuffled, repeated) with "
        f"`split_bytes` = {r['split_bytes']:,} (an eighth of the text). xz files are written with `{XZ_FILTER}`: "
        f"the single-stream file compresses {r['text_bytes'] / r['files']['xz single-stream']:.1f}x, like unique "
        "Japanese text (CC-100's ja.txt.xz: ~4.6x); with xz's default 8 MiB window the bench's repetition would "
        "compress ~28x and make decompression unrealistically cheap.",
        "", f"Recipe steps: {', '.join(s.strip('- ') for s in r['steps'])}.", "",
        "## Tasks and wall time (`run_local`, whole runs, 1 vs 2 workers alternating)", "",
        "| form | file bytes | tasks | how split | 1 worker (s, each round) | 2 workers (s) | output identical |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in r["runs"].items():
        if "seconds_2_workers" not in run:
            continue
        how = ", ".join(f"{m} {c}" for e in run["splits"].values() for m, c in e["methods"].items())
        lines.append(f"| {name} | {r['files'][name]:,} | {run['tasks']} | {how} | "
                     f"{', '.join(f'{s:.1f}' for s in run['seconds_1_worker'])} | "
                     f"{', '.join(f'{s:.1f}' for s in run['seconds_2_workers'])} | yes (ids, texts, shard sha256) |")
    for name, run in r["runs"].items():
        if "seconds_2_workers" not in run:
            lines += ["", f"{name}: {run['seconds_1_worker'][0]:.1f} s, {run['tasks']} task (`split_bytes` above the "
                          "file's size: the plan before splits); its output equals every split run's (checked). "
                          "Against it, the split run at 1 worker pays the split stage (here the cut) and a task "
                          "start per split."]
    speedups = {name: run["speedup_best"] for name, run in r["runs"].items() if "speedup_best" in run}
    lines += ["", "Speed-up at 2 workers (best 1-worker run / best 2-worker run, whole `run_local` runs including "
              "process start-up and the manifest): " + ", ".join(f"{n} {x:.2f}x" for n, x in speedups.items()) +
              (" (target >= 1.8x: met)." if min(speedups.values()) >= 1.8 else " (target >= 1.8x: not met).")
              + (" The machine was shared (load average at the start above 1): two processes got less than two "
                 "cores." if r["load_at_start"][0] > 1 else ""), "",
              "## The split stages alone (warm pool: imports and plan done before the clock)", "",
              "| form | workers | split stage wall (s) | stage 0 wall (s) | stage 0 summed task time (s) | stage 0 summed task CPU (s) |",
              "|---|---|---|---|---|---|"]
    for name, w in r["warm_pool"].items():
        for workers in ("1", "2"):
            for run in w[workers]:
                s, s0 = run.get("split", {}), run["stage 0"]
                lines.append(f"| {name} ({w['tasks']} tasks) | {workers} | {s.get('wall_s', 0):.2f} | "
                             f"{s0['wall_s']:.1f} | {s0['task_s_sum']:.1f} | {s0['task_cpu_s_sum']:.1f} |")
        lines.append(f"| | speed-up (best 1 / best 2, both stages) | {w['speedup_best']:.2f}x | | | |")
    stage0 = {name: min(run["stage 0"]["wall_s"] for run in w["1"]) / min(run["stage 0"]["wall_s"] for run in w["2"])
              for name, w in r["warm_pool"].items()}
    lines += ["", "Stage 0 alone (the recipe's steps over the splits): " +
              ", ".join(f"{n} {x:.2f}x" for n, x in stage0.items()) + ". A single-stream file's split stage is one "
              "sequential task (the cut: it reads the one stream), so it takes the same time at any worker count."]
    lines += ["", "Summed task CPU seconds show whether 2 workers did the same work (they should, within noise); wall "
              "time per task rises when the two processes do not each get a core.", "",
              "## Peak memory of one task (fresh process; peak after imports, `VmHWM` reset)", "",
              "| task | file at 1/4 size: splits, peak MB | full size: splits, peak MB | RSS after imports MB |",
              "|---|---|---|---|"]
    for label, e in r["peak_rss_per_task"].items():
        q, f = e["quarter"], e["full"]
        lines.append(f"| {label} | {q['splits']}, {q['peak_rss_of_task_mb']:.1f} | {f['splits']}, "
                     f"{f['peak_rss_of_task_mb']:.1f} | {f['rss_after_imports_mb']:.1f} |")
    c = r["cutting_vs_xz_dc"]
    lines += ["", "Flat in file size: a task holds buffers (1 MiB reads) and a record, never a file.", "",
              "## Cutting a single-stream .xz vs `xz -dc > /dev/null` (alternating rounds)", "",
              f"cut (decompress once, write zstd level-1 parts): {', '.join(f'{s:.2f}' for s in c['cut_s'])} s; "
              f"`xz -dc`: {', '.join(f'{s:.2f}' for s in c['xz_dc_s'])} s; ratio per round "
              f"{', '.join(f'{x:.2f}' for x in c['ratio_per_round'])} (median {c['ratio_median']:.2f}x; target "
              "<= 1.2x: " + ("met" if c["ratio_median"] <= 1.2 else "not met") + "). The cut decompresses with "
              "the same liblzma, counts lines, and compresses the parts with zstd level 1 on a worker thread "
              "(`--cut-only` breaks the cost down: bench/results/scale_cut.md).", "",
              "## Driver-side costs", ""]
    d = r["driver"]
    lines += [f"- Planning a simulated 70 GB plain CC-100 file (sparse file, default split_bytes): "
              f"{d['plan_70gb_plain']['tasks']} splits in {d['plan_70gb_plain']['seconds']:.3f} s.",
              f"- Planning {d['plan_files']['files']:,} small `.warc.gz` files (a Common Crawl snapshot's file "
              f"list): {d['plan_files']['tasks']:,} tasks in {d['plan_files']['seconds']:.1f} s (glob, stat, one "
              "size check per file; files over split_bytes/4 compressed are also opened to see whether they are "
              "multi-member).",
              f"- Merging {d['merge']['tasks']:,} task ledgers into the manifest (`read_parts` + `merge_ledgers`): "
              f"{d['merge']['seconds']:.1f} s (per stage; a plan with a split stage and one dedup has 3).", ""]
    rate = None
    for name, w in r["warm_pool"].items():
        cpu = min(run["stage 0"]["task_cpu_s_sum"] for run in w["1"])
        rate = (r["text_bytes"] / 1e6) / cpu if cpu else None
        if name == "xz single-stream":
            break
    cut_rate = (r["text_bytes"] / 1e6) / min(c["cut_s"])
    lines += ["## Extrapolation (not measured: arithmetic on the figures above)", ""]
    if rate:
        cc100 = 69_000  # MB of text, CC-100 ja (the issue's figure)
        for cores, label in ((64, "one 64-core node"), (512, "8 such nodes")):
            hours = (cc100 / rate / cores + cc100 / cut_rate) / 3600
            lines.append(f"- CC-100 ja (69 GB text, one single-stream `ja.txt.xz`) on {label}: cutting stage "
                         f"{cc100 / cut_rate / 3600:.2f} h (sequential, at this run's cutting speed, "
                         f"{cut_rate:.0f} MB/s), then {cc100 / rate / cores / 3600:.2f} h of split tasks at "
                         f"{rate:.2f} MB/s per core (this run's CPU rate for the recipe's steps) = about "
                         f"{hours:.1f} h. As one task (no splits): {cc100 / rate / 3600:.0f} h.")
        snapshot = 90_000 * 400  # MB: ~90,000 WET files of ~400 MB of text each (assumed)
        for cores, label in ((64, "one 64-core node"), (512, "8 such nodes")):
            lines.append(f"- One Common Crawl snapshot's WET text (assumed 90,000 files x ~400 MB = ~36 TB; "
                         f"before language filtering) on {label}: {snapshot / rate / cores / 3600:.0f} h at the "
                         "same per-core rate; WET .gz files split at members, no cutting stage. Real steps would "
                         "drop non-Japanese text first (language ID is cheaper per MB than quality rules).")
    lines += ["", "Assumptions: per-core throughput scales linearly with cores (the split tasks share nothing); "
              "I/O keeps up; the cutting stage is one sequential pass per single-stream file (a multi-block .xz "
              "avoids it entirely: `xz -T0` writes one)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=48.0)
    parser.add_argument("--quick", action="store_true", help="4 MB, 2,000 simulated files; writes scale_quick.*")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--cut-only", action="store_true", help="only the cutting stage vs xz -dc (scale_cut.md)")
    args = parser.parse_args()
    if args.cut_only:
        cut_only(args)
        return
    mb = 4.0 if args.quick else args.mb
    files, merge_tasks = (2000, 2000) if args.quick else (100_000, 100_000)
    rounds = 1 if args.quick else args.rounds
    data = shared_data_dir()
    folder = Path(tempfile.mkdtemp(prefix="jacorpus-scale-", dir=args.work))
    result: dict = {"mb": mb, "quick": args.quick, "rounds": rounds, "steps": STEPS.strip().splitlines(),
                    "cpus": os.cpu_count(), "load_at_start": os.getloadavg()}
    try:
        size = build_text(data, int(mb * 1e6), folder / "ja.txt")
        split_bytes = size // 8
        xz(folder / "ja.txt", folder / "ja.blocks.txt.xz", max(1 << 20, split_bytes // 4))
        xz(folder / "ja.txt", folder / "ja.txt.xz", None)
        result["text_bytes"] = size
        result["split_bytes"] = split_bytes
        forms = {"plain": folder / "ja.txt", "xz multi-block": folder / "ja.blocks.txt.xz",
                 "xz single-stream": folder / "ja.txt.xz"}
        result["files"] = {name: os.path.getsize(path) for name, path in forms.items()}
        runs: dict = {}
        for name, path in forms.items():
            times: dict[str, list[float]] = {"1": [], "2": []}
            for k in range(rounds):
                for workers in (1, 2):
                    seconds, manifest = run_once(folder, path, split_bytes, workers, folder / f"out-{workers}")
                    times[str(workers)].append(seconds)
                    print(f"{name}: {workers} worker(s) {seconds:.1f} s", file=sys.stderr)
                assert same_output(folder / "out-1", folder / "out-2"), name
                one = json.loads((folder / "out-1" / "manifest.json").read_text())
                assert [s["sha256"] for s in one["shards"]] == [s["sha256"] for s in manifest["shards"]], name
            runs[name] = {"tasks": manifest["tasks"], "splits": manifest["splits"], "read": manifest["read"],
                          "kept": manifest["kept"], "seconds_1_worker": times["1"], "seconds_2_workers": times["2"],
                          "speedup_best": min(times["1"]) / min(times["2"]),
                          "mb_per_s_1_worker": size / 1e6 / min(times["1"])}
        # one-task reference: the single-stream file (the last form run) with split_bytes above its size
        seconds, whole = run_once(folder, forms["xz single-stream"], size * 2, 1, folder / "out-whole")
        assert same_output(folder / "out-whole", folder / "out-1"), "split output differs from the one-task read"
        runs["xz single-stream, one task for the whole file"] = {"tasks": whole["tasks"], "seconds_1_worker": [seconds]}
        result["runs"] = runs
        result["warm_pool"] = {name: warm_pool_scaling(folder, forms[name], split_bytes, rounds)
                               for name in ("xz multi-block", "xz single-stream")}

        rss: dict = {}
        quarter = folder / "quarter.txt"
        with open(folder / "ja.txt", "rb") as src, open(quarter, "wb") as dst:
            dst.write(src.read(size // 4).rsplit(b"\n\n", 1)[0] + b"\n\n")
        xz(quarter, folder / "quarter.blocks.txt.xz", max(1 << 20, split_bytes // 4))
        xz(quarter, folder / "quarter.txt.xz", None)
        for label, big, small in (("xz multi-block, read a middle split", "ja.blocks.txt.xz", "quarter.blocks.txt.xz"),
                                  ("xz single-stream, cutting stage", "ja.txt.xz", "quarter.txt.xz"),
                                  ("xz single-stream, read a middle part", "ja.txt.xz", "quarter.txt.xz")):
            which = "cut" if "cutting" in label else "middle"
            entry = {}
            for size_name, file in (("quarter", small), ("full", big)):
                work = folder / f"rss-{size_name}"
                shutil.rmtree(work, ignore_errors=True)
                if which == "middle":
                    prepare_all(folder, folder / file, split_bytes, work)
                entry[size_name] = task_rss(folder, folder / file, split_bytes, work, which)
            rss[label] = entry
        result["peak_rss_per_task"] = rss
        result["cutting_vs_xz_dc"] = cutting_vs_xz(folder, forms["xz single-stream"], split_bytes, rounds + 1)
        result["driver"] = planning_costs(folder, files, merge_tasks)
        result["load_at_end"] = os.getloadavg()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["maxrss_bench_process_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = "scale_quick" if args.quick else "scale"  # a quick run never replaces the recorded results
    (REPO / "bench" / "results" / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    command = "nice -n 5 .venv/bin/python bench/scale.py " + " ".join(sys.argv[1:])
    (REPO / "bench" / "results" / f"{name}.md").write_text(markdown(result, command), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
