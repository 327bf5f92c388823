"""The second global step, exact-duplicate sentence removal across documents, on the local, Spark and Slurm engines.

It was added without touching any engine: the engines run its declared pass like dedup's. The expected output is
computed here independently: documents are built from known sentences of 吾輩は猫である, and a plain set of the
sentences seen so far (in reading order) says which ones a later document must lose.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import datasets
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.slurm import SlurmOptions, submit_slurm
from jacorpus.pipelines.spark import run_spark, spark_session
from tests.pipelines.slurm_runner import fake_slurm, run_like_slurm

SHORT = "はい。"  # below min_unit_chars: repeated everywhere, never removed


def neko_sentences(shared_data: Path) -> list[str]:
    """Plain sentences (no brackets, one 。 at the end), 15-60 characters, distinct."""
    text = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    found = []
    for piece in text.replace("\n", "").split("。"):
        piece = piece.strip().strip("\u3000")
        if 15 <= len(piece) <= 60 and not any(ch in piece for ch in "「」『』（）()！？!?．…"):
            found.append(piece + "。")
    return list(dict.fromkeys(found))[:60]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("sentence-dedup")
    pool = neko_sentences(shared_data)
    assert len(pool) == 60
    rng = random.Random(5)
    docs = []
    for i in range(40):
        if i % 9 == 8:  # a copy of an earlier document: loses everything
            docs.append(list(docs[rng.randrange(len(docs))]))
            continue
        sentences = rng.sample(pool, rng.randint(3, 6))
        docs.append([sentences[: len(sentences) // 2] + [SHORT], sentences[len(sentences) // 2 :]])
    for name, part in (("a.jsonl", docs[:20]), ("b.jsonl", docs[20:])):  # two files: two tasks, read in this order
        with open(folder / name, "w", encoding="utf-8") as fh:
            for k, lines in enumerate(part):
                text = "\n".join("".join(line) for line in lines)
                fh.write(json.dumps({"id": f"{name}-{k}", "text": text}, ensure_ascii=False) + "\n")
    return folder, docs


def expected(docs: list[list[list[str]]]) -> tuple[dict[str, str], list[str], int]:
    """Kept texts by id, dropped ids and removed sentences, by a set of the sentences seen so far."""
    seen: set[str] = set()
    kept, dropped, removed = {}, [], 0
    for i, lines in enumerate(docs):
        doc_id = f"a.jsonl-{i}" if i < 20 else f"b.jsonl-{i - 20}"
        out = []
        for line in lines:
            keep = [s for s in line if s == SHORT or s not in seen]
            removed += len(line) - len(keep)
            if keep:
                out.append("".join(keep))
        seen.update(s for line in lines for s in line)
        if not out or out == [SHORT]:  # left shorter than min_chars
            dropped.append(doc_id)
        else:
            kept[doc_id] = "\n".join(out)
    return kept, dropped, removed


RECIPE = """\
name: sentence-dedup
sources: [{type: jsonl, paths: ["a.jsonl", "b.jsonl"]}]
steps: [{sentence_dedup: {unit: sentence, min_unit_chars: 10, min_chars: 5}}]
output: {dir: out, keep_dropped: true}
"""


def run_slurm(recipe, out: Path, tmp: Path, monkeypatch) -> dict:
    fake_slurm(tmp, monkeypatch)
    plan = build_plan(recipe, str(out))
    executors = submit_slurm(plan, SlurmOptions(partition="cpu"))
    assert len(executors) == 4  # stage 0, the global pass, stage 1, finalize
    run_like_slurm(executors)
    return json.loads((out / "manifest.json").read_text())


def test_identical_on_local_spark_and_slurm(corpus, tmp_path, monkeypatch):
    folder, docs = corpus
    recipe = parse_recipe(RECIPE, "recipe.yaml", str(folder))
    manifests = {"local": run_local(build_plan(recipe, str(tmp_path / "local")), workers=2, progress=False)}
    spark = spark_session("local[2]", "jacorpus-sentence-dedup", {"spark.ui.enabled": "false"})
    try:
        manifests["spark"] = run_spark(build_plan(recipe, str(tmp_path / "spark")), spark=spark)
    finally:
        spark.stop()
    manifests["slurm"] = run_slurm(recipe, tmp_path / "slurm", tmp_path, monkeypatch)
    assert [m["engine"] for m in manifests.values()] == ["local", "spark", "slurm"]

    kept, dropped, removed = expected(docs)
    assert dropped and removed > 20  # the data exercises both
    same = ("read", "kept", "dropped", "sources", "steps", "errors")
    for engine, manifest in manifests.items():
        rows = datasets.load_from_disk(str(tmp_path / engine)).to_list()
        assert {r["id"]: r["text"] for r in rows} == kept, engine
        lost = datasets.load_from_disk(str(tmp_path / engine / "dropped")).to_list()
        assert sorted(r["id"] for r in lost) == sorted(dropped), engine
        assert {r["reason"] for r in lost} == {"sentence_dedup:too_short_after_sentence_dedup"}
        assert manifest["dropped"] == {"sentence_dedup:too_short_after_sentence_dedup": len(dropped)}, engine
        assert manifest["steps"]["sentence_dedup"]["units_removed"] == removed, engine
        assert {k: manifest[k] for k in same} == {k: manifests["local"][k] for k in same}, engine
    # distinct sentences found in two documents or more (the short one is never counted)
    counts: dict[str, int] = {}
    for lines in docs:
        for sentence in {s for line in lines for s in line if s != SHORT}:
            counts[sentence] = counts.get(sentence, 0) + 1
    assert manifests["local"]["steps"]["sentence_dedup"]["repeated_units"] == sum(c >= 2 for c in counts.values())
    for engine in ("spark", "slurm"):
        a = datasets.load_from_disk(str(tmp_path / "local"))
        b = datasets.load_from_disk(str(tmp_path / engine))
        assert a.column_names == b.column_names
        for column in a.column_names:
            assert a[column] == b[column], (engine, column)


def test_paragraphs_are_lines(tmp_path):
    lines = ["これは何度も貼られる定型の案内文です", "本文はそれぞれ違う内容になっています一", "本文はそれぞれ違う内容になっています二"]
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"text": f"{lines[0]}\n{lines[1]}"}, ensure_ascii=False) + "\n"
        + json.dumps({"text": f"{lines[2]}\n\n{lines[0]}"}, ensure_ascii=False) + "\n", encoding="utf-8")
    text = """\
name: paragraphs
sources: [{type: jsonl, id_field: null, paths: ["d.jsonl"]}]
steps: [{sentence_dedup: {unit: paragraph}}]
output: {dir: out}
"""
    manifest = run_local(build_plan(parse_recipe(text, "r.yaml", str(tmp_path))), progress=False)
    rows = datasets.load_from_disk(str(tmp_path / "out")).to_list()
    assert [r["text"] for r in rows] == [f"{lines[0]}\n{lines[1]}", lines[2]]
    assert [r["sentence_dedup_removed"] for r in rows] == [0, 1]
    assert manifest["steps"]["sentence_dedup"] == {"repeated_units": 1, "units_removed": 1}
