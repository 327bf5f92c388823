"""Big inputs in an object store (the test's moto S3 server on 127.0.0.1) run as many tasks, as local files do:
plain text, multi-block xz (python-xz reads the xz index with ranged requests), multi-frame zstd (frame
starts found and verified like gzip members: indexed_zstd seeks only in local files), WET with one gzip member per
record, a jawiki multistream dump with its index beside it, and a single-stream xz (cut by the split stage). Each
split read gives the documents of the one-task read of the same object (ids, origins, texts, order, counts) and the
texts and record locators of the one-task read of the local copy. A recipe whose output is on S3 splits its local
inputs (the split stage's work files go to the output's work folder on S3) and gives the local run's output."""

from __future__ import annotations

import bz2

import datasets
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan, build_sources, plan_splits
from jacorpus.pipelines.recipe import parse_recipe
from tests.corpus.split_inputs import cc100_layout, documents, multistream_dump, read_both, text_forms, wet_members


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data, s3_server):
    """(local folder, the same files in a bucket)."""
    d = tmp_path_factory.mktemp("split-s3")
    text = cc100_layout((shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_bytes())[:400_000]
    text = text[: text.rindex(b"\n\n") + 2]
    text_forms(d, text, 30_000)
    raw = (shared_data / "warc" / "commoncrawl_whirlwind_CC-MAIN-2024-22" / "whirlwind.warc.wet").read_bytes() * 10
    wet_members(raw, d / "members.warc.wet.gz")
    dump, index = multistream_dump(
        bz2.decompress((shared_data / "jawiki_xml" / "jawiki-2006-08-export-0.3-sample.xml.bz2").read_bytes()), 10)
    (d / "jawiki-20060801-pages-articles-multistream.xml.bz2").write_bytes(dump)
    (d / "jawiki-20060801-pages-articles-multistream-index.txt.bz2").write_bytes(index)
    bucket = s3_server.new_bucket()
    s3_server.upload(d, f"{bucket}/in")
    return d, f"{bucket}/in"


CASES = [
    ("{type: cc100, paths: ['%s/neko.txt']}", "seek", 100_000),
    ("{type: cc100, paths: ['%s/neko.blocks.txt.xz']}", "seek", 100_000),
    ("{type: cc100, paths: ['%s/neko.frames.txt.zst']}", "members", 100_000),
    ("{type: cc100, paths: ['%s/neko.single.txt.xz']}", "cut", 100_000),
    ("{type: wet, paths: ['%s/members.warc.wet.gz']}", "members", 30_000),
    ("{type: wikipedia, paths: ['%s/jawiki-*-multistream.xml.bz2']}", "index", 40_000),
]


def locators(docs):
    return [(origin.split("#", 1)[1], text) for _, origin, text in docs]


@pytest.mark.parametrize("source_yaml,method,split_bytes", CASES, ids=[c[0].split("/")[1][:-3] for c in CASES])
def test_an_object_splits_like_a_local_file(inputs, tmp_path, source_yaml, method, split_bytes):
    folder, url = inputs
    splits, got, expected, ledger, expected_ledger = read_both(url, source_yaml % url, split_bytes, tmp_path)
    assert {s.method for s in splits} == {method} and len(splits) >= 3
    assert len(expected) >= 10
    assert got == expected  # ids, origins (naming the URL), texts, order
    assert ledger["read"] == expected_ledger["read"] and ledger["errors"] == expected_ledger["errors"] == []
    local_recipe = parse_recipe(f"name: t\nsources: [{source_yaml % folder}]\noutput: {{dir: out}}\n", "t.yaml",
                                str(folder))
    local_source = build_sources(local_recipe)[0]
    local, _ = documents(local_source, plan_splits(local_recipe, [local_source]), tmp_path / "local")
    assert locators(got) == locators(local)


def engine_recipe(cut_from: str, seek_from: str, out: str) -> str:
    return f"""\
name: split-s3
split_bytes: 150000
sources:
  - {{name: cut, type: cc100, paths: ["{cut_from}/neko.single.txt.xz"]}}
  - {{name: seek, type: cc100, paths: ["{seek_from}/neko.blocks.txt.xz"]}}
steps: [{{normalize: {{}}}}, {{dedup: {{method: exact}}}}, {{quality: {{preset: none, min_chars: 20}}}}]
output: {{dir: "{out}", keep_dropped: true}}
"""


def rows(path) -> dict:
    data = datasets.load_from_disk(str(path))
    return {column: data[column] for column in data.column_names}


SAME = ("read", "kept", "dropped", "dropped_total", "errors", "steps", "tasks", "splits")


def test_local_and_s3_inputs_split_into_an_s3_output(inputs, s3_server, tmp_path):
    """A local single-stream .xz (cut by the split stage into zstd parts written to the output's work folder on
    S3) and a multi-block .xz on S3 (read by seeking with ranged requests), into an S3 output, give the documents,
    shards and counts of the all-local run."""
    folder, url = inputs
    out = url.rsplit("/", 1)[0] + "/out"
    reference = run_local(build_plan(parse_recipe(engine_recipe(str(folder), str(folder), str(tmp_path / "ref")),
                                                  "r.yaml", str(tmp_path))), workers=2, progress=False)
    assert reference["splits"] == {"cut": {"files": 1, "splits": 3, "methods": {"cut": 1}},
                                   "seek": {"files": 1, "splits": 3, "methods": {"seek": 1}}}

    manifest = run_local(build_plan(parse_recipe(engine_recipe(str(folder), url, out), "r.yaml", str(tmp_path))),
                         workers=2, progress=False)
    cut = s3_server.objects(f"{out}/.jacorpus/split/cut")
    assert sorted(name.rsplit("/", 1)[1] for name in cut) == ["part-00000.zst", "part-00001.zst", "part-00002.zst",
                                                              "parts.json"]
    assert {k: manifest[k] for k in SAME} == {k: reference[k] for k in SAME}
    for sub in ("", "dropped"):
        got, expected = rows(s3_server.download(out, tmp_path / "got") / sub), rows(tmp_path / "ref" / sub)
        assert got["text"] == expected["text"] and len(got["text"]) > 50
        assert [o.replace(url, str(folder)) for o in got["origin"]] == expected["origin"]
