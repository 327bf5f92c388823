"""The foundation utilities: atomic writes and reading a finished corpus in either output format."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text
from jacorpus.foundation.finished_corpus import corpus_shard_files, iter_corpus_texts, load_manifest, open_corpus
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "marker.json"
    atomic_write_text(str(target), "old")
    with pytest.raises(RuntimeError):
        with atomic_output(str(target)) as tmp:
            with open(tmp, "w") as fh:
                fh.write("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["marker.json"]
    with atomic_output(str(target)) as tmp:
        with open(tmp, "w") as fh:
            fh.write("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["marker.json"]


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_both_output_formats_read_the_same(tmp_path, shared_data, fmt):
    text = f"""\
name: formats
sources: [{{type: text, split: file, paths: ["{shared_data}/neardup_ja_law_versions/417*/*.txt"]}}]
output: {{dir: out, format: {fmt}, max_shard_bytes: 20000}}
"""
    run_local(build_plan(parse_recipe(text, "r.yaml", str(tmp_path))), progress=False)
    out = str(tmp_path / "out")
    manifest = load_manifest(out)
    files = corpus_shard_files(out)
    assert [f.rsplit("/", 1)[1] for f in files] == [s["file"] for s in manifest["shards"]] and len(files) > 1
    dataset = open_corpus(out)
    assert len(dataset) == manifest["kept"] == 7
    if fmt == "parquet":  # an independent reader of the same files
        direct = [t for f in files for t in pq.read_table(f).column("text").to_pylist()]
        assert dataset["text"] == direct
    # round-robin over shards: every text once, whatever the order
    assert sorted(iter_corpus_texts(out)) == sorted(dataset["text"])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["kept"] == len(list(iter_corpus_texts(out)))
