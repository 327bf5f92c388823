"""Record bounds at size (issue 19): a decompression bomb whose middle inflates to ``--gb`` GB of one record, read
with the default ``max_record_bytes`` (64 MiB), against the same files without the bomb.

    .venv/bin/python bench/record_bounds.py [--gb 10] [--quick]     # --quick: 1 GB

Files (built in milliseconds by tests/pipelines/bombs.py: one compressed member written again and again): a
`text` source with `split: line` in gzip and a `jsonl` source in zstd, each an ordinary record (a line of neko.txt),
the bomb (the same line repeated without a newline: one record of ``--gb`` GB), another ordinary record. Each
recipe runs through ``run_local`` with one worker in a child process; the figures are the task's peak RSS (measured
in the task's own process and saved in its part), the wall time, what the manifest says about the skipped record,
and the documents kept. The reference run has the same files with an empty record where the bomb is (a jsonl
record with empty text, dropped as empty; nothing in the line file).
Writes record_bounds.{json,md} to the results folder ($JACORPUS_BENCH_RESULTS, default out/bench).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _common import results_dir, shared_data_dir  # noqa: E402

CHILD = r"""
import json, sys
from jacorpus.corpus.shards import task_peak_rss
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import load_recipe
plan = build_plan(load_recipe(sys.argv[1]))
manifest = run_local(plan, workers=1, progress=False)
print(json.dumps({"peak_rss": max(task_peak_rss(plan.output_dir).values()), "manifest": manifest}))
"""


def bomb_sources():
    spec = importlib.util.spec_from_file_location("bench_bombs", REPO / "tests" / "pipelines" / "bombs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bomb_sources


SOURCES = ("text", "jsonl")  # of the test's seven source types: a gzip line file and a zstd jsonl file


def build(folder: Path, name: str, inflate: int, neko: list[str]) -> dict[str, dict]:
    """The test's bomb files (tests/pipelines/bombs.py), the sources this bench reads."""
    entries = bomb_sources()(folder, name, neko, inflate)
    return {source: entries[source] for source in SOURCES}


def file_sizes(folder: Path, entries: dict[str, dict]) -> dict[str, int]:
    return {path: (folder / path).stat().st_size for entry in entries.values() for path in entry["paths"]}


def run(folder: Path, name: str, entries: dict[str, dict]) -> dict:
    recipe = folder / f"{name}.yaml"
    spec = {"name": name, "sources": [{"name": source, **entry} for source, entry in entries.items()],
            "output": {"dir": f"out-{name}"}}
    recipe.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(recipe)], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name} run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    manifest = result["manifest"]
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(result["peak_rss"] / 2**20, 1),
            "read": manifest["read"], "kept": manifest["kept"], "errors": manifest.get("errors", [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="1 GB")
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    gb = 1.0 if args.quick else args.gb
    neko_text = (shared_data_dir() / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    neko = [line.strip() for line in neko_text.splitlines() if len(line.strip()) > 40]
    result: dict = {"gb": gb, "max_record_bytes": "64 MiB (default)", "load_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="jacorpus-bounds-", dir=args.work) as tmp:
        folder = Path(tmp)
        bomb = build(folder, "bomb", int(gb * 1e9), neko)
        plain = build(folder, "plain", 4 * len(neko[2].encode()), neko)
        result["files_bytes"] = {"bomb": file_sizes(folder, bomb), "plain": file_sizes(folder, plain)}
        result["plain"] = run(folder, "plain", plain)
        result["bomb"] = run(folder, "bomb", bomb)
    result["load_at_end"] = os.getloadavg()
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / "record_bounds.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    b, p = result["bomb"], result["plain"]
    lines = ["# Record bounds at size (bench/record_bounds.py)", "",
             f"`.venv/bin/python bench/record_bounds.py {' '.join(sys.argv[1:])}`; load average "
             f"{result['load_at_start'][0]:.1f} at the start, {result['load_at_end'][0]:.1f} at the end, "
             f"{os.cpu_count()} cores.", "",
             f"Two sources (`text` with `split: line` in gzip, `jsonl` in zstd), each holding an ordinary record, one "
             f"record of {gb:g} GB decompressed (a decompression bomb: "
             f"{', '.join(f'{k} {v:,} bytes' for k, v in result['files_bytes']['bomb'].items())} compressed), "
             "and another ordinary record; default `max_record_bytes` (64 MiB). Reference: the same files with "
             "nothing where the bomb is (the jsonl file then holds a record with empty text, read and dropped as "
             "empty).", "",
             "| run | task peak RSS (MB) | wall (s) | read | kept | error entries |", "|---|---:|---:|---:|---:|---:|",
             f"| reference | {p['peak_rss_mb']} | {p['seconds']} | {p['read']} | {p['kept']} | {len(p['errors'])} |",
             f"| {gb:g} GB records | {b['peak_rss_mb']} | {b['seconds']} | {b['read']} | {b['kept']} | "
             f"{len(b['errors'])} |", "", "Error entries of the bomb run (the manifest's words):", ""]
    lines += [f"- `{json.dumps(e, ensure_ascii=False)[:300]}`" for e in b["errors"]]
    (out / "record_bounds.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
