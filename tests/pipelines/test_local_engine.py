"""The local engine end to end on real text: determinism, manifest, resume after a killed run, formats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe


def write_recipe(tmp: Path, laws: Path, neko: Path, extra_output: str = "") -> Path:
    recipe = tmp / "recipe.yaml"
    recipe.write_text(
        f"""\
name: engine-test
sources:
  - {{name: laws, type: text, split: file, paths: ["{laws}/*/*.txt"]}}
  - {{name: neko, type: cc100, paths: ["{neko}"]}}
output: {{dir: out{extra_output}}}
""",
        encoding="utf-8",
    )
    return recipe


def run(recipe: Path, workers: int = 1, output: str | None = None) -> dict:
    plan = build_plan(parse_recipe(recipe.read_text(), str(recipe), str(recipe.parent)), output)
    return run_local(plan, workers=workers, progress=False)


@pytest.fixture()
def recipe(tmp_path, shared_data):
    return write_recipe(
        tmp_path, shared_data / "neardup_ja_law_versions", shared_data / "plain_text_ja_neko_aozora" / "neko.txt"
    )


def test_output_is_a_saved_dataset_with_a_complete_manifest(recipe, shared_data):
    manifest = run(recipe)
    out = recipe.parent / "out"
    ds = datasets.load_from_disk(str(out))
    n_laws = len(list((shared_data / "neardup_ja_law_versions").glob("*/*.txt")))
    neko_paragraphs = sum(
        1 for block in (shared_data / "plain_text_ja_neko_aozora/neko.txt").read_text().split("\n\n") if block.strip()
    )
    assert manifest["sources"]["laws"]["read"] == n_laws == 30
    assert manifest["sources"]["neko"]["read"] == neko_paragraphs
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())
    assert len(ds) == manifest["kept"] == sum(s["rows"] for s in manifest["shards"])
    assert set(ds.column_names) >= {"id", "text", "source", "origin", "metadata"}
    assert len(set(ds["id"])) == len(ds)
    assert manifest["tasks"] == n_laws + 1
    assert manifest["recipe"]["name"] == "engine-test" and "datatrove" in manifest["versions"]
    # a law file is one document with the file's text
    first_law = sorted((shared_data / "neardup_ja_law_versions").glob("*/*.txt"))[0]
    row = ds[0]
    assert row["source"] == "laws" and row["origin"].endswith(first_law.name + "#file")
    assert row["text"] == first_law.read_text(encoding="utf-8").strip("\n")
    for shard in manifest["shards"]:
        assert (out / shard["file"]).stat().st_size == shard["bytes"]
        assert not list(out.glob("*.tmp"))


def test_same_output_for_one_or_two_workers(recipe):
    run(recipe, workers=1, output="out1")
    run(recipe, workers=2, output="out2")
    one = datasets.load_from_disk(str(recipe.parent / "out1"))
    two = datasets.load_from_disk(str(recipe.parent / "out2"))
    assert one["id"] == two["id"] and one["text"] == two["text"] and one["origin"] == two["origin"]


def test_size_bounded_shards(tmp_path, shared_data):
    recipe = write_recipe(
        tmp_path,
        shared_data / "neardup_ja_law_versions",
        shared_data / "plain_text_ja_neko_aozora" / "neko.txt",
        extra_output=", max_shard_bytes: 200000",
    )
    manifest = run(recipe)
    neko_shards = [s for s in manifest["shards"] if s["file"].startswith(f"shard-{manifest['tasks'] - 1:05d}-")]
    assert len(neko_shards) >= 4  # ~1 MB of text at ~200 kB per shard
    assert len(datasets.load_from_disk(str(tmp_path / "out"))) == manifest["kept"]


def test_parquet_output(tmp_path, shared_data):
    recipe = write_recipe(
        tmp_path,
        shared_data / "neardup_ja_law_versions",
        shared_data / "plain_text_ja_neko_aozora" / "neko.txt",
        extra_output=", format: parquet",
    )
    manifest = run(recipe)
    files = [tmp_path / "out" / s["file"] for s in manifest["shards"]]
    assert all(f.suffix == ".parquet" for f in files)
    assert sum(pq.read_metadata(f).num_rows for f in files) == manifest["kept"]
    ds = datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train")
    assert len(ds) == manifest["kept"]


def test_different_recipe_in_same_dir_is_refused(recipe):
    run(recipe)
    recipe.write_text(recipe.read_text().replace("engine-test", "other"), encoding="utf-8")
    with pytest.raises(RuntimeError, match="different recipe"):
        run(recipe)


def test_killed_run_resumes_to_identical_output(recipe, tmp_path):
    """Kill a real run mid-way (SIGKILL), rerun it, and compare with an uninterrupted run."""
    run(recipe, output="reference")
    reference = datasets.load_from_disk(str(tmp_path / "reference"))

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    parts = out / ".jacorpus" / "parts"
    deadline = time.time() + 120
    while time.time() < deadline and (not parts.is_dir() or len(os.listdir(parts)) < 5):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(os.listdir(parts))
    assert 5 <= finished < 31, "the kill must land mid-run"
    assert not (out / "manifest.json").exists()
    # a crashed task may leave a half-written shard and a stale whole one: neither may survive the rerun
    (out / "shard-00029-00000.arrow.tmp").write_bytes(b"partial")
    (out / "shard-00030-00007.arrow").write_bytes(b"stale")

    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resumed = datasets.load_from_disk(str(out))
    assert resumed["id"] == reference["id"] and resumed["text"] == reference["text"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["read"] == len(reference) == manifest["kept"]
    listed = {s["file"] for s in manifest["shards"]}
    assert {p.name for p in out.glob("shard-*")} == listed


def test_output_dir_with_glob_characters(recipe, tmp_path):
    """A directory named like `out[1]` must not be read as a glob pattern (it would match `out1`)."""
    (tmp_path / "out1").mkdir()
    (tmp_path / "out1" / "shard-00000-00000.arrow").write_bytes(b"not ours")
    manifest = run(recipe, output=str(tmp_path / "out[1]"))
    ds = datasets.load_from_disk(str(tmp_path / "out[1]"))
    assert len(ds) == manifest["kept"] == sum(s["rows"] for s in manifest["shards"]) > 0
    assert (tmp_path / "out1" / "shard-00000-00000.arrow").read_bytes() == b"not ours"  # untouched


def test_ids_do_not_depend_on_where_the_recipe_lives(tmp_path, shared_data):
    """Absolute input paths give the same origin and id from any recipe folder."""
    ids = []
    for sub in ("a", "b/c/d"):
        folder = tmp_path / sub
        folder.mkdir(parents=True)
        recipe = write_recipe(folder, shared_data / "neardup_ja_law_versions", shared_data / "plain_text_ja_neko_aozora" / "neko.txt")
        run(recipe)
        ids.append(datasets.load_from_disk(str(folder / "out"))["id"])
    assert ids[0] == ids[1]
