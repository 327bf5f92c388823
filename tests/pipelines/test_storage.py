"""Inputs, output and work folders on an S3-compatible server (moto, started on 127.0.0.1 by the test session):
the local engine and the Spark engine give the output they give on local folders, a retried or duplicated Spark
task on S3 leaves no duplicate, and the credentials never reach an output, a log or the console."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from jacorpus.pipelines.faults import FailOnce
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.spark import commit, publish_commits, run_spark, run_stage_task, spark_session
from tests.conftest import S3_KEY_ID, S3_SECRET
from tests.pipelines.s3_inputs import build_inputs, comparable, recipe_text

COLUMNS = ("text", "source", "metadata", "dedup_cluster_size")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data, s3_server):
    """The same inputs in a local folder and in a bucket: (local folder, its s3:// URL)."""
    folder = tmp_path_factory.mktemp("storage")
    data = build_inputs(folder, shared_data)
    bucket = s3_server.new_bucket()
    s3_server.upload(data, f"{bucket}/data")
    return folder, f"{bucket}/data"


@pytest.fixture(scope="module")
def reference(inputs):
    """The local engine on local folders: what every S3 run must reproduce."""
    folder, _ = inputs
    recipe = parse_recipe(recipe_text("data", "ref"), "recipe.yaml", str(folder))
    manifest = run_local(build_plan(recipe), workers=2, progress=False)
    return manifest, datasets.load_from_disk(str(folder / "ref"))


def same_documents(a: datasets.Dataset, b: datasets.Dataset, b_prefix: str) -> None:
    assert len(a) == len(b) > 50
    for column in COLUMNS:
        assert a[column] == b[column], column
    assert a["origin"] == [o.replace(b_prefix.rstrip("/") + "/", "data/") for o in b["origin"]]


def no_secret_in(blobs: dict[str, bytes], *texts: str) -> None:
    for name, blob in blobs.items():
        assert S3_SECRET.encode() not in blob and S3_KEY_ID.encode() not in blob, name
    for text in texts:
        assert S3_SECRET not in text and S3_KEY_ID not in text


def test_local_engine_reads_and_writes_s3(inputs, reference, s3_server, tmp_path, capfd):
    folder, data_url = inputs
    ref_manifest, ref = reference
    out = data_url.rsplit("/", 1)[0] + "/out-local"
    recipe = parse_recipe(recipe_text(data_url, out), "recipe.yaml", str(tmp_path))
    manifest = run_local(build_plan(recipe), workers=2, progress=True)

    assert manifest["engine"] == "local" and manifest["tasks"] == 5  # 3 law versions, neko, cc
    assert comparable(manifest, data_url) == comparable(ref_manifest, "data")
    assert manifest["errors"][0]["file"] == f"{data_url}/cc.jsonl.gz"  # the URL names the input
    assert manifest["steps"]["dedup"]["dropped:near_duplicate"] >= 5 + 1  # the 5 planted copies, and law versions
    local = s3_server.download(out, tmp_path / "out-local")
    assert json.loads((local / "manifest.json").read_text()) == manifest
    same_documents(ref, datasets.load_from_disk(str(local)), data_url)
    assert sorted(p.name for p in local.glob("shard-*")) == sorted(s["file"] for s in manifest["shards"])
    dropped = datasets.load_from_disk(str(local / "dropped"))
    assert len(dropped) == manifest["dropped_total"]

    # the output's place changes no byte: the same S3 input written to a local folder gives the same shards
    on_disk = run_local(build_plan(recipe, str(tmp_path / "out-disk")), workers=1, progress=False)
    assert [s["sha256"] for s in on_disk["shards"]] == [s["sha256"] for s in manifest["shards"]]

    # a rerun on the finished S3 output skips every task and ends with the same manifest
    again = run_local(build_plan(recipe), workers=2, progress=False)
    assert again == manifest

    from typer.testing import CliRunner

    from jacorpus.commands import app

    shown = CliRunner().invoke(app, ["corpus", "stats", out])  # the funnel of a finished output on S3
    assert shown.exit_code == 0 and f"{manifest['kept']:,}" in shown.output and out in shown.output

    captured = capfd.readouterr()
    no_secret_in(s3_server.objects(out), captured.out, captured.err, shown.output)
    no_secret_in({str(p): p.read_bytes() for p in (tmp_path / "out-disk").rglob("*") if p.is_file()})


@pytest.fixture(scope="module")
def spark(s3_server):
    # local[2,3]: two cores, a failed task is retried; started after the S3 variables are set, so its Python
    # workers inherit them
    conf = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"}
    session = spark_session("local[2,3]", "jacorpus-storage-tests", conf)
    yield session
    session.stop()


def test_spark_on_s3_retried_task_leaves_no_duplicate(inputs, reference, s3_server, spark, tmp_path):
    _, data_url = inputs
    ref_manifest, ref = reference
    out = data_url.rsplit("/", 1)[0] + "/out-spark"
    recipe = parse_recipe(recipe_text(data_url, out), "recipe.yaml", str(tmp_path))
    # rank 1 of stage 0 and rank 2 of the stage after dedup fail after writing their attempt; Spark retries them
    faults = FailOnce(frozenset({"stage0:1", "stage1:2", "global:3"}), str(tmp_path / "faults"))
    manifest = run_spark(build_plan(recipe), spark=spark, faults=faults)
    for point in ("stage0:1", "stage1:2", "global:3"):
        assert Path(faults.marker(point)).exists(), point  # the first attempts really failed

    assert manifest["engine"] == "spark"
    assert comparable(manifest, data_url) == comparable(ref_manifest, "data")
    objects = s3_server.objects(out)
    shards = sorted(k for k in objects if k.startswith("shard-"))
    assert shards == sorted(s["file"] for s in manifest["shards"])  # nothing beside what the manifest lists
    assert not [k for k in objects if "/spark/" in k]  # no attempt is left behind
    local = s3_server.download(out, tmp_path / "out-spark")
    same_documents(ref, datasets.load_from_disk(str(local)), data_url)
    no_secret_in(objects)


def test_duplicate_attempts_on_s3_publish_one_copy(inputs, s3_server, tmp_path):
    """Two complete attempts of one rank (a speculative twin) on S3: the driver's commit record picks one, the
    other is discarded, and a rerun of a committed rank does nothing."""
    _, data_url = inputs
    out = data_url.rsplit("/", 1)[0] + "/out-twins"
    recipe = parse_recipe(recipe_text(data_url, out, dedup=False), "recipe.yaml", str(tmp_path))
    plan = build_plan(recipe)
    stage = plan.stages[0]
    for rank in range(plan.tasks):
        assert run_stage_task(stage, rank, plan.tasks, "a0") is True
    assert run_stage_task(stage, 3, plan.tasks, "twin") is True  # neko's task, again, complete
    attempts = {k.split("/")[3] for k in s3_server.objects(out) if "/attempts/" in k}
    assert "00003-a0" in attempts and "00003-twin" in attempts
    commit(stage, [(rank, "twin" if rank == 3 else "a0", True) for rank in range(plan.tasks)])
    assert run_stage_task(stage, 3, plan.tasks, "late") is False  # committed: a late attempt does nothing
    publish_commits(stage, plan.tasks)

    objects = s3_server.objects(out)
    assert not [k for k in objects if "/spark/" in k]
    neko_shards = [k for k in objects if k.startswith("shard-00003-")]
    assert neko_shards == ["shard-00003-00000.arrow"]
    part = json.loads(objects[".jacorpus/parts/00003.json"])
    assert part["rank"] == 3 and part["read"] > 10 and [s["file"] for s in part["shards"]] == neko_shards
