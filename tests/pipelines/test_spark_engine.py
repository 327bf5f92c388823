"""The Spark engine (real PySpark, local mode) gives the local engine's output, and survives task retries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.faults import FailOnce
from jacorpus.pipelines.spark import run_stage_task, spark_session

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spark():
    # local[2,3]: two cores, and a failed task is retried (local mode does not retry by default)
    session = spark_session("local[2,3]", "jacorpus-tests", {"spark.ui.enabled": "false"})
    yield session
    session.stop()


def recipe_text(shared_data: Path) -> str:
    return f"""\
name: engines
sources:
  - {{name: laws, type: text, split: file, paths: ["{shared_data}/neardup_ja_law_versions/3*/*.txt"]}}
  - {{name: neko, type: cc100, paths: ["{shared_data}/plain_text_ja_neko_aozora/neko.txt"]}}
  - {{name: cc, type: jsonl, text_field: text, id_field: null, paths: ["{{tmp}}/cc.jsonl"]}}
output: {{dir: out, keep_dropped: true}}
"""


@pytest.fixture()
def recipe(tmp_path, shared_data):
    cc = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    with open(tmp_path / "cc.jsonl", "w", encoding="utf-8") as fh:
        for item in cc["length_2000"]:
            fh.write(json.dumps({"text": item["text"], "url": item["url"]}, ensure_ascii=False) + "\n")
        fh.write("{not json\n")  # an input fault: both engines must record it the same way
    return parse_recipe(recipe_text(shared_data).replace("{tmp}", str(tmp_path)), "recipe.yaml", str(tmp_path))


def comparable(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in ("engine", "versions", "shards", "dropped_shards")}


def test_spark_output_equals_local(recipe, tmp_path, spark):
    local = run_local(build_plan(recipe, str(tmp_path / "local")), workers=2, progress=False)
    from jacorpus.pipelines.spark import run_spark

    remote = run_spark(build_plan(recipe, str(tmp_path / "spark")), spark=spark)
    assert comparable(local) == comparable(remote)
    assert remote["engine"] == "spark" and remote["errors"] and remote["errors"][0]["file"] == "cc.jsonl"
    a = datasets.load_from_disk(str(tmp_path / "local"))
    b = datasets.load_from_disk(str(tmp_path / "spark"))
    assert len(a) == len(b) == local["kept"] > 700
    for column in a.column_names:
        assert a[column] == b[column], column
    assert [s["sha256"] for s in local["shards"]] == [s["sha256"] for s in remote["shards"]]


def test_failed_task_attempt_is_retried_without_duplicates(recipe, tmp_path, spark, monkeypatch):
    from jacorpus.pipelines.spark import run_spark

    reference = run_local(build_plan(recipe, str(tmp_path / "local")), progress=False)
    faults = FailOnce(frozenset({"stage0:1"}), str(tmp_path / "faults"))  # rank 1 fails after writing, is retried
    manifest = run_spark(build_plan(recipe, str(tmp_path / "spark")), spark=spark, faults=faults)
    assert comparable(manifest) == comparable(reference)
    out = tmp_path / "spark"
    assert os.path.exists(faults.marker("stage0:1"))  # the first attempt really failed
    assert sorted(p.name for p in out.glob("shard-*")) == sorted(s["file"] for s in manifest["shards"])
    assert datasets.load_from_disk(str(out))["id"] == datasets.load_from_disk(str(tmp_path / "local"))["id"]


def test_duplicate_attempt_of_a_rank_is_discarded(recipe, tmp_path):
    plan = build_plan(recipe, str(tmp_path / "out"))
    stage = plan.stages[0]
    assert run_stage_task(stage, 0, plan.tasks, "a0") is True
    assert run_stage_task(stage, 0, plan.tasks, "a1") is False  # speculative twin: its output is thrown away
    root = tmp_path / "out" / ".jacorpus" / "spark"
    assert os.listdir(root / "committed") == ["00000"]
    assert not (root / "attempts").exists() or not os.listdir(root / "attempts")


def test_spark_submit_entry(tmp_path, shared_data):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"""\
name: submit
sources: [{{type: text, split: file, paths: ["{shared_data}/neardup_ja_law_versions/417*/*.txt"]}}]
output: {{dir: out}}
""",
        encoding="utf-8",
    )
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    entry = REPO / "jacorpus" / "pipelines" / "spark_submit.py"
    proc = subprocess.run(
        [str(bin_dir / "spark-submit"), "--master", "local[1]", str(entry), str(recipe)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["engine"] == "spark" and manifest["kept"] == 7


def test_killed_python_worker_fails_the_job_naming_task_and_input(recipe, tmp_path, spark):
    """A task whose Python worker is SIGKILLed on every attempt (a file that kills its worker): after Spark's retries
    the job fails with the task, its input file and the cause named; a rerun without the kill completes."""
    from jacorpus.pipelines.faults import KillWorker
    from jacorpus.pipelines.spark import run_spark
    from jacorpus.pipelines.supervise import WorkerDiedError

    plan = build_plan(recipe, str(tmp_path / "spark"))
    victim = plan.stages[0].steps[0].describe(1)
    with pytest.raises(WorkerDiedError) as failure:
        run_spark(plan, spark=spark, faults=KillWorker(frozenset({"stage0:1"})))
    message = str(failure.value)
    assert message.startswith(f"stage 0 task 1 (input {victim})") and "failed 3 times on Spark" in message
    assert "Python worker died" in message
    reference = run_local(build_plan(recipe, str(tmp_path / "local")), progress=False)
    manifest = run_spark(build_plan(recipe, str(tmp_path / "spark")), spark=spark)
    assert comparable(manifest) == comparable(reference)
    assert [s["sha256"] for s in manifest["shards"]] == [s["sha256"] for s in reference["shards"]]
