"""`decontaminate`, `perplexity` and the linear `classifier` in one recipe: the local engine, Spark (local[2]) and
Slurm (array tasks started as Slurm starts them) give the same kept documents, annotations and drops."""

from __future__ import annotations

import json

import datasets
import pytest
from typer.testing import CliRunner

from jacorpus.commands import app
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.spark import run_spark, spark_session
from tests.pipelines.slurm_runner import run_on_slurm

runner = CliRunner()


@pytest.mark.slow
def test_quality_steps_run_alike_on_local_spark_and_slurm(tmp_path, shared_data, monkeypatch):
    d = shared_data
    # models: an order-3 LM on the Aozora novel (a text file made into a corpus), a linear classifier on the labels
    (tmp_path / "neko.yaml").write_text(
        f"name: neko\nsources: [{{name: neko, type: cc100, paths: ['{d}/plain_text_ja_neko_aozora/neko.txt']}}]\n"
        "steps: []\noutput: {dir: neko}\n", encoding="utf-8")
    run_local(build_plan(parse_recipe((tmp_path / "neko.yaml").read_text(), "neko.yaml", str(tmp_path))),
              workers=1, progress=False)
    assert runner.invoke(app, ["lm", "train", "--corpus", str(tmp_path / "neko"), "--out", str(tmp_path / "lm"),
                               "--order", "3", "--vocab-size", "3000"]).exit_code == 0
    result = runner.invoke(app, ["quality", "train", "--labels", str(d / "mc4_ja_quality_labels" / "annotations_.txt"),
                                 "--out", str(tmp_path / "quality.joblib")])
    assert result.exit_code == 0, result.output

    cc = json.loads((d / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    docs = [item["text"] for item in cc["length_2000"][:20]]
    jsts = [json.loads(line) for line in (d / "jglue" / "jsts-v1.3" / "valid-v1.3.json").read_text(encoding="utf-8").splitlines()[:3]]
    for k, item in enumerate(jsts):  # three documents carry a benchmark sentence mid-text
        docs[k] = docs[k][:600] + item["sentence1"] + docs[k][600:]
    with open(tmp_path / "cc.jsonl", "w", encoding="utf-8") as fh:
        for i, text in enumerate(docs):
            fh.write(json.dumps({"id": f"cc{i}", "text": text}, ensure_ascii=False) + "\n")
    text = f"""\
name: quality-steps
sources: [{{name: cc, type: jsonl, paths: [cc.jsonl]}}]
steps:
  - decontaminate: {{benchmarks: [{{name: jsts, path: "{d}/jglue/jsts-v1.3/valid-v1.3.json", fields: [sentence1, sentence2], id: sentence_pair_id}}], ngram: 13}}
  - perplexity: {{model: lm, paragraphs: true, buckets: {{cutoffs: [300, 2000], keep: [head, middle]}}}}
  - classifier: {{model: quality.joblib, min_score: 0.3}}
output: {{dir: out, keep_dropped: true}}
"""
    spec = parse_recipe(text, "q.yaml", str(tmp_path))
    local = run_local(build_plan(spec, str(tmp_path / "local")), workers=2, progress=False)
    spark = spark_session("local[2]", "jacorpus-quality-steps", {"spark.ui.enabled": "false"})
    try:
        remote = run_spark(build_plan(spec, str(tmp_path / "spark")), spark=spark)
    finally:
        spark.stop()
    slurm = run_on_slurm(build_plan(spec, str(tmp_path / "slurm")), tmp_path, monkeypatch)
    assert (local["engine"], remote["engine"], slurm["engine"]) == ("local", "spark", "slurm")
    same = ("read", "kept", "dropped", "steps")
    assert {k: local[k] for k in same} == {k: remote[k] for k in same} == {k: slurm[k] for k in same}
    assert local["dropped"]["decontaminate:jsts"] == 3
    assert local["read"] == 20 and local["kept"] > 0
    for engine in ("spark", "slurm"):
        for sub in ("", "dropped"):
            a = datasets.load_from_disk(str(tmp_path / "local" / sub))
            b = datasets.load_from_disk(str(tmp_path / engine / sub))
            assert a.column_names == b.column_names, (engine, sub)
            for column in a.column_names:
                assert a[column] == b[column], (engine, sub, column)
    kept = datasets.load_from_disk(str(tmp_path / "local"))
    assert {"perplexity", "perplexity_bucket", "perplexity_paragraphs", "quality_score"} <= set(kept.column_names)
    assert all(p <= 2000 for p in kept["perplexity"]) and min(kept["quality_score"]) >= 0.3
    gone = datasets.load_from_disk(str(tmp_path / "local" / "dropped"))
    contaminated = gone.filter(lambda r: r["reason"] == "decontaminate:jsts")
    # each planted sentence is named by its pair id (and nothing else of JSTS occurs in these pages)
    assert sorted(c.split("/")[0] for c in contaminated["contamination"]) == sorted(
        f"jsts:{item['sentence_pair_id']}" for item in jsts)
