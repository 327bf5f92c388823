"""Start-up bench: time from process start to the first document of `jacorpus corpus run`, against datatrove.

    .venv/bin/python bench/startup.py [--quick] [--rounds 9] [--cpus 1] [--against REV] [--out DIR]   # DIR: out/bench

Each round runs, in turn, a fresh process of (a) `jacorpus corpus run` on a one-document JSON-lines recipe
(normalize + quality) and (b) the same work as a datatrove pipeline (JsonlReader -> a filter -> JsonlWriter on its
LocalPipelineExecutor). A probe (bench/_startup_probe/sitecustomize.py, on PYTHONPATH, so loaded by every process of
the run: jacorpus builds its documents in task processes started from a forkserver) notes, when the first
``datatrove.data.Document`` is built in any of them, the CPU seconds of the run's processes so far (interpreter
starts included) and the wall seconds since the run's first process started; the whole run's wall time is the
parent's. (The whole run's CPU is not reported: exit rusage misses processes their parent never reaps, such as
jacorpus's forkserver.) ``--cpus 1`` (default) pins the runs to one CPU, ``--cpus 2`` lets them use two.
``--against REV`` adds the same command run from a copy of the repository at git revision REV (``git archive``, put
first on PYTHONPATH: same interpreter and libraries), so that a change is measured against what it changed in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def run(command: list[str], folder: Path, env_extra: dict[str, str] | None = None) -> dict:
    (folder / "first.json").unlink(missing_ok=True)
    for name in ("out", "dt_out", "dt_logs"):  # a finished output of the same recipe would be resumed: nothing to do
        shutil.rmtree(folder / name, ignore_errors=True)
    start = time.perf_counter()
    env = os.environ | {"PYTHONPATH": f"{REPO / 'bench' / '_startup_probe'}:{REPO}",
                        "FIRST_DOCUMENT_JSON": str(folder / "first.json")}
    env.pop("FIRST_DOCUMENT_ROOT", None)
    env.update(env_extra or {})
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command} failed:\n{done.stderr[-3000:]}")
    if not (folder / "first.json").exists():
        raise SystemExit(f"{command}: no document was built (the probe wrote no first.json)")
    first = json.loads(Path(folder / "first.json").read_text())
    return {"first_cpu_s": first["cpu_s"], "first_wall_s": first["wall_s"], "total_wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cpus", type=int, default=1, help="CPUs the runs may use (the last N of this process's)")
    parser.add_argument("--against", default="", help="also run the command from this git revision")
    parser.add_argument("--out", type=Path, default=results_dir())
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, set(cpus[-args.cpus:]))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        (folder / "data" / "doc.jsonl").write_text(json.dumps(DOC, ensure_ascii=False) + "\n", encoding="utf-8")
        (folder / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
        (folder / "datatrove_run.py").write_text(DATATROVE, encoding="utf-8")
        jacorpus = [sys.executable, "-m", "jacorpus.cli", "corpus", "run", "recipe.yaml", "--overwrite", "--no-progress"]
        contenders = {  # name -> (command, environment)
            "jacorpus corpus run": (jacorpus, {}),
            "jacorpus corpus run, forkserver started at the first task": (jacorpus, {"JACORPUS_FORKSERVER_EARLY": "0"}),
            "datatrove LocalPipelineExecutor": ([sys.executable, "datatrove_run.py"], {}),
        }
        if args.against:
            old = folder / "against"
            old.mkdir()
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.against], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
            rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.against], capture_output=True,
                                 text=True, check=True).stdout.strip()
            contenders[f"jacorpus corpus run at {rev}"] = (
                jacorpus, {"PYTHONPATH": f"{REPO / 'bench' / '_startup_probe'}:{old}"})
        rows: dict = {name: [] for name in contenders}
        names = list(contenders)
        for round_ in range(rounds):  # each round starts with the next contender: no one always runs first
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                command, env = contenders[name]
                rows[name].append(run(command, folder, env))
    result = {"bench": "startup", "rounds": rounds, "load": load, "cpu_count": os.cpu_count(),
              "cpus": args.cpus,
              "command": ".venv/bin/python bench/startup.py" + (" --quick" if args.quick else "")
                         + (f" --cpus {args.cpus}" if args.cpus != 1 else "")
                         + (f" --against {args.against}" if args.against else "")}
    for name, runs in rows.items():
        result[name] = {key: float(np.median([r[key] for r in runs])) for key in runs[0]} | {"runs": runs}
    lines = [f"# Start-up bench{' (--quick)' if args.quick else ''}", "",
             f"`{result['command']}`: {rounds} rounds, contenders in turn (each round starting with the next), "
             f"{args.cpus} CPU(s), load average at start {load} on a {result['cpu_count']}-core machine shared with "
             "other jobs. Medians; seconds from process start.", "",
             "| | CPU s to first document | wall s to first document | wall s whole run |",
             "|---|---:|---:|---:|"]
    for name in contenders:
        r = result[name]
        lines.append(f"| {name} | {r['first_cpu_s']:.2f} | {r['first_wall_s']:.2f} | {r['total_wall_s']:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    name = "startup" if args.cpus == 1 else f"startup_{args.cpus}cpus"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
