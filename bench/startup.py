"""Start-up bench: time from process start to the first document of `jacorpus corpus run`, against datatrove.

    taskset -c 0 .venv/bin/python bench/startup.py [--quick] [--rounds 5] [--out DIR]   # DIR default out/bench

Each round runs, in turn, a fresh process of (a) `jacorpus corpus run` on a one-document JSON-lines recipe
(normalize + quality) and (b) the same work as a datatrove pipeline (JsonlReader -> a filter -> JsonlWriter on its
LocalPipelineExecutor). A tiny wrapper (bench/_first_document.py) notes, when the first ``datatrove.data.Document``
is built, the CPU seconds of the process so far (``time.process_time``: interpreter start included) and the wall
seconds since the kernel started the process (/proc/self/stat); the totals come from the exit rusage. One CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _common import results_dir  # noqa: E402
DOC = {"id": "a", "text": "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で"
       "ニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。"}
RECIPE = """name: startup
sources: [{type: jsonl, paths: [data/doc.jsonl]}]
steps:
  - normalize: {}
  - quality: {preset: none, min_chars: 5}
output: {dir: out}
"""
DATATROVE = """
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.filters import LambdaFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

LocalPipelineExecutor(pipeline=[JsonlReader("data"), LambdaFilter(lambda d: len(d.text) >= 5), JsonlWriter("dt_out")],
                      logging_dir="dt_logs", skip_completed=False).run()
"""


def run(command: list[str], folder: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command} failed:\n{done.stderr[-3000:]}")
    first = json.loads(Path(folder / "first.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"first_cpu_s": first["cpu_s"], "first_wall_s": first["wall_s"], "total_cpu_s": cpu, "total_wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=results_dir())
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    wrapper = str(REPO / "bench" / "_first_document.py")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        (folder / "data" / "doc.jsonl").write_text(json.dumps(DOC, ensure_ascii=False) + "\n", encoding="utf-8")
        (folder / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
        (folder / "datatrove_run.py").write_text(DATATROVE, encoding="utf-8")
        contenders = {
            "jacorpus corpus run": [sys.executable, wrapper, "-m", "jacorpus.cli", "corpus", "run", "recipe.yaml",
                                    "--overwrite", "--no-progress"],
            "datatrove LocalPipelineExecutor": [sys.executable, wrapper, "datatrove_run.py"],
        }
        rows: dict = {name: [] for name in contenders}
        for _ in range(rounds):
            for name, command in contenders.items():
                rows[name].append(run(command, folder))
    result = {"bench": "startup", "rounds": rounds, "load": load, "cpu_count": os.cpu_count(),
              "command": "taskset -c 0 .venv/bin/python bench/startup.py" + (" --quick" if args.quick else "")}
    for name, runs in rows.items():
        result[name] = {key: float(np.median([r[key] for r in runs])) for key in runs[0]} | {"runs": runs}
    lines = [f"# Start-up bench{' (--quick)' if args.quick else ''}", "",
             f"`{result['command']}`: {rounds} rounds, contenders in turn, one CPU, load average at start {load} on "
             f"a {result['cpu_count']}-core machine shared with other jobs. Medians; seconds from process start.", "",
             "| | CPU s to first document | wall s to first document | CPU s whole run | wall s whole run |",
             "|---|---:|---:|---:|---:|"]
    for name in contenders:
        r = result[name]
        lines.append(f"| {name} | {r['first_cpu_s']:.2f} | {r['first_wall_s']:.2f} | {r['total_cpu_s']:.2f} | "
                     f"{r['total_wall_s']:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "startup.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "startup.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
