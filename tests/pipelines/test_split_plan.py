"""Issue 13's proof on the engines: a recipe whose big inputs (a single-stream CC-100-layout .xz, a multi-block one,
a Common Crawl WARC of one gzip member per record, a jawiki multistream dump with its index) run as many tasks gives
the output of the one-task-per-file run: the same documents, ids, origins, order, drops and manifest counts, on the
local engine with one or two workers and on Spark; a fixed split size gives byte-identical shards on every engine
and worker count; a run killed during the split stage resumes to the same output."""

from __future__ import annotations

import bz2
import json
import lzma
import os
import signal
import subprocess
import sys
import time

import datasets
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.spark import run_spark, spark_session
from tests.corpus.split_inputs import cc100_layout, multi_block_xz, multistream_dump

SAME = ("read", "kept", "dropped", "dropped_total", "errors", "sources", "steps")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("split-plan")
    text = cc100_layout((shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_bytes())
    (d / "ja.txt.xz").write_bytes(lzma.compress(text))  # one stream, one block: CC-100's layout
    multi_block_xz(text[: len(text) // 2], d / "blocks.txt.xz", 50_000)
    (d / "cc.warc.gz").write_bytes(
        (shared_data / "warc" / "commoncrawl_CC-MAIN-2020-34_excerpt" / "warcfile.warc.gz").read_bytes())
    dump, index = multistream_dump(
        bz2.decompress((shared_data / "jawiki_xml" / "jawiki-2006-08-export-0.3-sample.xml.bz2").read_bytes()), 10)
    (d / "jawiki-20060801-pages-articles-multistream.xml.bz2").write_bytes(dump)
    (d / "jawiki-20060801-pages-articles-multistream-index.txt.bz2").write_bytes(index)
    return d


def recipe_text(split_bytes: int | None) -> str:
    split = f"split_bytes: {split_bytes}\n" if split_bytes else ""
    return f"""\
name: splits
{split}sources:
  - {{name: cc100, type: cc100, paths: [ja.txt.xz, blocks.txt.xz]}}
  - {{name: web, type: warc, extractor: basic, paths: [cc.warc.gz]}}
  - {{name: wiki, type: wikipedia, paths: [jawiki-*-multistream.xml.bz2]}}
steps:
  - normalize: {{}}
  - dedup: {{method: exact}}
  - quality: {{preset: none, min_chars: 20}}
output: {{dir: out, keep_dropped: true}}
"""


def plan_for(folder, split_bytes, out):
    return build_plan(parse_recipe(recipe_text(split_bytes), "splits.yaml", str(folder)), str(folder / out))


def rows(path):
    data = datasets.load_from_disk(str(path))
    return {column: data[column] for column in data.column_names}


def test_many_tasks_give_the_one_task_output_on_every_engine(folder):
    whole = run_local(plan_for(folder, None, "whole"), workers=1, progress=False)
    assert whole["tasks"] == 4 and all(e["methods"] == {"whole": e["files"]} for e in whole["splits"].values())

    plan = plan_for(folder, 250_000, "two")
    assert plan.stages[0].index == -1 and plan.tasks > 10
    two = run_local(plan, workers=2, progress=False)
    one = run_local(plan_for(folder, 250_000, "one"), workers=1, progress=False)
    spark = spark_session("local[2]", "jacorpus-splits", {"spark.ui.enabled": "false"})
    try:
        remote = run_spark(plan_for(folder, 250_000, "spark"), spark=spark)
    finally:
        spark.stop()

    methods = {name: entry["methods"] for name, entry in two["splits"].items()}
    assert methods == {"cc100": {"cut": 1, "seek": 1}, "web": {"members": 1}, "wiki": {"index": 1}}
    assert two["tasks"] == sum(entry["splits"] for entry in two["splits"].values()) > 10
    assert two["read"] > 500 and two["dropped_total"] > 0
    for manifest in (one, remote):
        assert {k: manifest[k] for k in SAME} == {k: two[k] for k in SAME}
    assert {k: whole[k] for k in SAME} == {k: two[k] for k in SAME}
    for sub in ("", "dropped"):
        reference = rows(folder / "whole" / sub)
        assert rows(folder / "two" / sub) == reference, sub  # documents, ids, origins, order
        assert rows(folder / "one" / sub) == reference
        assert rows(folder / "spark" / sub) == reference
    # with the same split size, shards are byte-identical whatever the engine and worker count
    shards = [(s["file"], s["sha256"]) for s in two["shards"]]
    assert shards == [(s["file"], s["sha256"]) for s in one["shards"]] == [(s["file"], s["sha256"]) for s in remote["shards"]]


def test_killed_during_the_split_stage_resumes_to_identical_output(folder, tmp_path):
    """SIGKILL a real run while the split stage cuts the single-stream file, rerun it, compare."""
    recipe = tmp_path / "splits.yaml"
    recipe.write_text(recipe_text(250_000).replace("paths: [", f"paths: [{folder}/").replace(", blocks", f", {folder}/blocks")
                      .replace("[cc.warc", f"[{folder}/cc.warc").replace("[jawiki", f"[{folder}/jawiki"), encoding="utf-8")
    reference_plan = build_plan(parse_recipe(recipe.read_text(), str(recipe), str(tmp_path)), str(tmp_path / "reference"))
    run_local(reference_plan, workers=1, progress=False)

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--no-progress", "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cut = out / ".jacorpus" / "split" / "cut"
    deadline = time.time() + 120
    while time.time() < deadline and not any(cut.glob("*/part-*")):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "the kill must land mid-run"
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert rows(out) == rows(tmp_path / "reference")
    assert rows(out / "dropped") == rows(tmp_path / "reference" / "dropped")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits"]["cc100"]["methods"] == {"cut": 1, "seek": 1}
