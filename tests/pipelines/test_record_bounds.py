"""Bounded records: a decompression bomb inflating to one huge record, in every line/record source, is skipped
with an error entry naming file, offset and size seen; the records before and after it are kept; the peak RSS of
the process that ran it (measured there, with getrusage, and saved in the task's part) stays within a bound of a run over ordinary files.

Tests inflate 128 MiB against ``max_record_bytes: 1 MiB`` (seconds); bench/record_bounds.py inflates 10 GB against
the default 64 MiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipelines.bombs import bomb_sources

INFLATE = 128 << 20
LIMIT = 1 << 20
# peak RSS over the warm-up run: an unbounded reader holds the record (>= 128 MiB, 2-3x that once decoded)
RSS_MARGIN = 64 << 20
REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, resource, sys
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import load_recipe
from jacorpus.corpus.shards import task_peak_rss
for recipe in sys.argv[1:]:
    plan = build_plan(load_recipe(recipe))
    manifest = run_local(plan, workers=1, progress=False)
    # each task runs in a process of its own (pipelines/supervise.py), which records its peak in its part
    peak = max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, *task_peak_rss(plan.output_dir).values()])
    print(json.dumps({"recipe": recipe, "peak_rss": peak, "manifest": manifest}), flush=True)
"""

def source_files(root: Path, neko: list[str], bomb: bool) -> dict[str, dict]:
    """The bomb (or a small record where it would be) between two ordinary records, in every source type."""
    return bomb_sources(root, "bomb" if bomb else "plain", neko, INFLATE if bomb else 4 * len(neko[2].encode()))


def recipe(root: Path, name: str, source: dict) -> str:
    path = root / f"{name}.yaml"
    spec = {"name": name, "sources": [{"name": name, **source, "max_record_bytes": LIMIT}],
            "output": {"dir": f"out/{name}"}}
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return str(path)


@pytest.fixture(scope="module")
def bombed(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("bombs")
    neko = [line for line in (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text("utf-8").splitlines()
            if len(line) > 40][:3]
    plain = source_files(root, neko, bomb=False)
    bombs = source_files(root, neko, bomb=True)
    recipes = [recipe(root, f"plain_{k}", v) for k, v in plain.items()]
    recipes += [recipe(root, k, v) for k, v in bombs.items()]
    done = subprocess.run([sys.executable, "-c", CHILD, *recipes], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    baseline = max(r["peak_rss"] for r in results[: len(plain)])
    by_name = {Path(r["recipe"]).stem: r for r in results[len(plain):]}
    return baseline, by_name, neko


@pytest.mark.parametrize("name", ["text", "cc100", "paragraphs", "jsonl", "wikipedia", "medical_xml", "medical_csv"])
def test_a_bomb_is_skipped_with_bounded_memory(bombed, name):
    baseline, by_name, neko = bombed
    result = by_name[name]
    manifest = result["manifest"]
    assert result["peak_rss"] < baseline + RSS_MARGIN, (result["peak_rss"] >> 20, baseline >> 20)
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())
    kept = manifest["kept"]
    (error,) = [e for e in manifest["errors"] if "max_record_bytes" in e["message"]]
    assert error["file"].endswith((".gz", ".bz2", ".xz", ".zst"))
    assert error["position"]["size"] > LIMIT
    assert "byte" in error["position"]
    # the record before the bomb is always kept; where the format has a boundary after it, the one after too
    expected = 1 if name == "medical_xml" else 2
    assert kept == expected, manifest
