"""Issue 5's proof: one recipe with every source type and every step (MinHash dedup across sources included) gives
the same output on the local engine and on Spark (local[2]): ids, texts, annotations, drops and the funnel."""

from __future__ import annotations

import json
import subprocess
import sys

import datasets
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.spark import run_spark, spark_session


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, shared_data):
    tmp = tmp_path_factory.mktemp("all")
    cc = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    with open(tmp / "cc.jsonl", "w", encoding="utf-8") as fh:
        for item in cc["length_2000"][:15]:
            fh.write(json.dumps({"id": item["sample_id"], "text": item["text"], "url": item["url"]}, ensure_ascii=False) + "\n")
    (tmp / "ng.txt").write_text("# NG words\nアダルト\n出会い系\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "jacorpus.cli", "quality", "train", "--labels",
                    str(shared_data / "mc4_ja_quality_labels" / "annotations_.txt"), "--out", str(tmp / "quality.bin"),
                    "--epoch", "10"], check=True, capture_output=True)
    d = shared_data
    text = f"""\
name: every-source-every-step
sources:
  - {{name: wiki, type: wikipedia, paths: ["{d}/jawiki_xml/jawiki-2006-08-export-0.3-sample.xml.bz2"]}}
  - {{name: clueweb, type: warc, paths: ["{d}/warc/clueweb09_ja_excerpt/*.warc.gz"]}}
  - {{name: wet, type: wet, paths: ["{d}/warc/commoncrawl_whirlwind_CC-MAIN-2024-22/whirlwind.warc.wet.gz"]}}
  - {{name: pages, type: html, paths: ["{d}/web_html/ja/postlight__www.a*.html", "{d}/web_html/ja/postlight__www.i*.html"]}}
  - {{name: medtxt, type: medical, format: xml, record: article, id_attribute: id, title_attribute: title,
      paths: ["{d}/medical/medtxt_cr_ja/MedTxt-CR-JA-training.xml"]}}
  - {{name: neko, type: cc100, paths: ["{d}/plain_text_ja_neko_aozora/neko.txt"]}}
  - {{name: laws, type: text, split: file, paths: ["{d}/neardup_ja_law_versions/346*/*.txt"]}}
  - {{name: cc, type: jsonl, paths: [cc.jsonl]}}
steps:
  - normalize: {{boilerplate_lines: true}}
  - language: {{languages: [ja]}}
  - dedup: {{method: minhash, threshold: 0.8, verify: true, priority: [laws, wiki, medtxt, cc, clueweb, pages, wet, neko]}}
  - quality: {{preset: swallow, min_chars: 50, min_japanese_chars: 40, max_sentence_chars: null}}
  - classifier: {{model: quality.bin, label: good, min_score: 0.0}}
  - pii: {{}}
  - ngwords: {{lists: [ng.txt], max_density: 5.0}}
output: {{dir: out, keep_dropped: true}}
"""
    return parse_recipe(text, "all.yaml", str(tmp)), tmp


def test_every_source_and_step_gives_identical_output(recipe):
    spec, tmp = recipe
    local = run_local(build_plan(spec, str(tmp / "local")), workers=2, progress=False)
    spark = spark_session("local[2]", "jacorpus-equal", {"spark.ui.enabled": "false"})
    try:
        remote = run_spark(build_plan(spec, str(tmp / "spark")), spark=spark)
    finally:
        spark.stop()
    same = ("read", "kept", "dropped", "errors", "sources", "steps", "tasks", "flow", "characters")
    assert {k: local[k] for k in same} == {k: remote[k] for k in same}
    # every source and every step did something on this data
    assert all(counts.get("read", 0) > 0 for counts in local["sources"].values()), local["sources"]
    reasons = {key.split(":")[0] for key in local["dropped"]}
    assert {"language", "quality", "dedup"} <= reasons, local["dropped"]
    assert local["steps"]["dedup"]["clusters"] >= 1 and any(k.startswith("masked:") for k in local["steps"]["pii"])
    for sub in ("", "dropped"):
        a = datasets.load_from_disk(str(tmp / "local" / sub))
        b = datasets.load_from_disk(str(tmp / "spark" / sub))
        assert a.column_names == b.column_names
        for column in a.column_names:
            assert a[column] == b[column], (sub, column)
    kept = datasets.load_from_disk(str(tmp / "local"))
    assert {"language", "language_score", "quality_score", "ngword_density", "dedup_cluster_id", "dedup_cluster_size"} <= set(kept.column_names)
