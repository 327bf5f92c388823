"""`decontaminate` against the real benchmark files in ../shared/data (JGLUE, IgakuQA, JMMLU-Med)."""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document

from jacorpus.corpus.decontaminate import BenchmarkSpec, Decontaminate, DecontaminateOptions, benchmark_items


@pytest.fixture(scope="module")
def specs(shared_data):
    g = shared_data / "jglue"
    return [
        BenchmarkSpec(name="jsts", path=str(g / "jsts-v1.3/valid-v1.3.json"), fields=["sentence1", "sentence2"],
                      id="sentence_pair_id"),
        BenchmarkSpec(name="jcommonsenseqa", path=str(g / "jcommonsenseqa-v1.3/valid-v1.3.json"),
                      fields=["question", "choice0", "choice1", "choice2", "choice3", "choice4"], id="q_id"),
        BenchmarkSpec(name="jsquad", path=str(g / "jsquad-v1.3/valid-v1.3.json"), records="data.paragraphs",
                      fields=["context", "qas.question"], id="qas.id"),
        BenchmarkSpec(name="igakuqa", path=str(shared_data / "medical/igakuqa/2019/113-A.jsonl"),
                      fields=["problem_text", "choices"], id="problem_id"),
        BenchmarkSpec(name="jmmlu", path=str(shared_data / "medical/jmed_llm/jmmlu_med.csv"),
                      fields=["question", "optionA", "optionB", "optionC", "optionD"]),
    ]


def test_reads_jsonl_named_json_nested_squad_lists_and_csv(specs, shared_data):
    items = {spec.name: benchmark_items(spec) for spec in specs}
    # JGLUE's .json files are JSON lines: 1,457 JSTS valid pairs, two sentences each
    assert len(items["jsts"]) == 2 * 1457
    assert (items["jsts"][0].item_id, items["jsts"][0].text) == ("0/sentence1", "レンガの建物の前を、乳母車を押した女性が歩いています。")
    # JSQuAD: one JSON object, records reached through data.paragraphs, questions in a nested list
    squad = {it.item_id: it.text for it in items["jsquad"]}
    assert squad["a10336p0q0/qas.question/0"] == "日本で梅雨がないのは北海道とどこか。"
    assert squad["a10336p0q0/context"].startswith("梅雨")
    # IgakuQA's list-valued choices count one by one
    igaku = {it.item_id: it.text for it in items["igakuqa"]}
    assert [igaku[f"113A1/choices/{k}"] for k in range(5)] == ["腹水の有無", "ビリルビン値", "肝硬変の成因", "肝性脳症の有無", "プロトロンビン時間"]
    # CSV (JMMLU style): quoted fields with commas survive, record number as id
    assert items["jmmlu"][0].item_id == "0/question" and items["jmmlu"][0].text.startswith("妊娠3回、出産2回")
    assert any("白血球数は12,000/mm3" in it.text for it in items["jmmlu"])
    assert len(items["jcommonsenseqa"]) == 6 * 1119


def test_drop_finds_verbatim_and_normalized_items_and_keeps_clean_text(specs):
    step = Decontaminate(DecontaminateOptions(benchmarks=specs))
    docs = [
        Document(text="今日は晴れ。レンガの建物の前を、乳母車を押した女性が歩いています。明日は雨。", id="verbatim", metadata={}),
        # full-width digits and Latin, a line break and spaces: the dedup normalization undoes them
        Document(text="前置き。肝硬変を母地として発生した最大径２ｃｍ、単発の\n肝細胞癌に対する 治療方針を決定する上で"
                      "重要でないのはどれか。後書き。", id="normalized", metadata={}),
        Document(text="吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。", id="clean", metadata={}),
        # shares one generic 13-gram with a JSTS caption, not half of its n-grams
        Document(text="写真の中で、乳母車を押した女性が歩いています。", id="partial", metadata={}),
    ]
    kept = [d.id for d in step.run(iter(docs))]
    assert kept == ["clean", "partial"]
    assert docs[0].metadata["contamination"].split("; ")[0] == "jsts:0/sentence1"
    assert docs[1].metadata["contamination"] == "igakuqa:113A1/problem_text"
    summary = step.ledger.to_dict()
    assert summary["dropped"] == {"decontaminate:jsts": 1, "decontaminate:igakuqa": 1}
    assert summary["steps"]["decontaminate"]["documents:jsts"] == 1
    # choices shorter than 13 characters cannot be found, and say so
    assert summary["steps"]["decontaminate"]["short_items:igakuqa"] > 0


@pytest.mark.parametrize("unit,ngram", [("char", 13), ("word", 6)])
def test_cut_removes_exactly_the_planted_span(specs, unit, ngram):
    step = Decontaminate(DecontaminateOptions(benchmarks=specs[:1] + specs[3:4], unit=unit, ngram=ngram, action="cut"))
    before, after = "本日の天気は晴れです。", "明日は雨でしょう。"
    docs = [Document(text=before + "山の上に顔の白い牛が２頭います。" + after, id="a", metadata={}),
            Document(text="レンガの建物の前を、乳母車を押した女性が歩いています。", id="all", metadata={})]
    out = list(step.run(iter(docs)))
    assert [(d.id, d.text) for d in out] == [("a", before + after)]
    assert out[0].metadata["contamination"] == "jsts:1/sentence1"
    summary = step.ledger.to_dict()
    assert summary["dropped"] == {"decontaminate:empty_after_decontaminate": 1}
    assert summary["steps"]["decontaminate"]["cut_chars"] == len("山の上に顔の白い牛が２頭います。") + len("レンガの建物の前を、乳母車を押した女性が歩いています。")


def test_bad_benchmark_specs_fail_at_plan_time(tmp_path, shared_data):
    jsts = str(shared_data / "jglue/jsts-v1.3/valid-v1.3.json")
    with pytest.raises(ValueError, match=r"field\(s\) \['sentense1'\] reach no text"):
        Decontaminate(DecontaminateOptions(benchmarks=[{"name": "jsts", "path": jsts, "fields": ["sentense1"]}]))
    with pytest.raises(FileNotFoundError, match="no file matches"):
        Decontaminate(DecontaminateOptions(benchmarks=[{"name": "x", "path": "missing.json", "fields": ["q"]}]),
                      base_dir=str(tmp_path))
    (tmp_path / "b.parquet").write_text("x")
    with pytest.raises(ValueError, match="unknown benchmark file type"):
        Decontaminate(DecontaminateOptions(benchmarks=[{"name": "x", "path": "b.parquet", "fields": ["q"]}]),
                      base_dir=str(tmp_path))
    (tmp_path / "short.jsonl").write_text(json.dumps({"q": "短い"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no benchmark item has 3 n-grams of 13 chars"):
        Decontaminate(DecontaminateOptions(benchmarks=[{"name": "x", "path": "short.jsonl", "fields": "q"}]),
                      base_dir=str(tmp_path))
