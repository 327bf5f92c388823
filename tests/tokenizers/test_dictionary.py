"""`jacorpus dict build` on a real corpus directory (MedTxt) with real MANBYO rows and a seed with bad rows."""

from __future__ import annotations

import csv
import json
import unicodedata

from jacorpus.tokenizers.dictionary import TERMS_HEADER, read_terms
from jacorpus.tokenizers.sudachi_split import SudachiWords

from .conftest import LONG_TERM


def test_bad_rows_are_reported_with_their_line_and_the_rest_builds(dict_build):
    out, report = dict_build
    problems = {(p["file"], p["line"]): p["reason"] for p in report["problems"]}
    assert problems[("bad_rows.csv", 3)].startswith("bad column count 2")
    assert problems[("bad_rows.csv", 4)] == "empty term"
    assert problems[("bad_rows.csv", 5)].startswith("bad column count 4")
    assert "control" in problems[("bad_rows.csv", 7)]
    assert problems[("bad_rows.csv", 8)].startswith("longer than 255 characters")
    assert not any(file == "manbyo_subset.csv" for file, _ in problems)  # real rows are all fine
    terms = {row["term"]: row for row in read_terms(str(out))}
    assert {"肝硬変", "大腸癌肝転移", "壊死性多発肝腫瘤"} <= set(terms)
    assert LONG_TERM not in terms and "制御\x01文字" not in terms
    assert terms["壊死性多発肝腫瘤"]["standard"] == ""  # MANBYO's -1 means none
    assert terms["大腸癌肝転移"]["where"] == "bad_rows.csv:2"


def test_files_and_terms_table(dict_build, medtxt):
    out, report = dict_build
    for name in ("terms.tsv", "user.csv", "user.dic", "mecab_user.csv", "report.json"):
        assert (out / name).stat().st_size > 0, name
    with open(out / "terms.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert list(rows[0]) == TERMS_HEADER
    assert {r["origin"] for r in rows} == {"seed", "extracted"}
    assert len({r["normalized"] for r in rows}) == len(rows)  # de-duplicated
    joined = unicodedata.normalize("NFKC", "\n".join(medtxt))
    for r in rows[:100] + rows[-100:]:  # frequencies count occurrences in the NFKC corpus text
        if not any(ch.isascii() and ch.isalnum() for ch in r["term"]):  # (letters obey a word-boundary rule)
            assert (int(r["frequency"]) > 0) == (r["term"] in joined), r
    extracted = [r for r in rows if r["origin"] == "extracted"]
    assert len(extracted) > 100 and all(float(r["score"]) >= 2.0 for r in extracted)
    assert all(int(r["frequency"]) >= 2 for r in extracted if r["term"] in joined and r["term"].isascii() is False
               and not any(ch.isascii() and ch.isalnum() for ch in r["term"]))
    with open(out / "user.csv", encoding="utf-8", newline="") as fh:
        user_rows = list(csv.reader(fh))
    assert {len(r) for r in user_rows} == {19}
    assert {(r[1], r[2], r[5], r[6]) for r in user_rows} == {("5146", "5146", "名詞", "普通名詞")}
    with open(out / "mecab_user.csv", encoding="utf-8", newline="") as fh:
        mecab_rows = list(csv.reader(fh))
    # UniDic rows for unidic-lite: surface, two empty context ids (mecab-dict-index fills them), cost, 26 features
    assert {len(r) for r in mecab_rows} == {30} and {tuple(r[1:3]) + tuple(r[4:7]) for r in mecab_rows} == {
        ("", "", "名詞", "普通名詞", "一般")}
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == report


def test_user_dic_makes_multi_word_disease_names_one_word(dict_build):
    out, _ = dict_build
    base, user = SudachiWords("C"), SudachiWords("C", [str(out / "user.dic")])
    for disease in ("原発性胆汁性胆管炎", "非代償性肝硬変"):
        assert len(base.words(disease)) >= 3
        assert user.words(disease) == [disease]
    text = "薬剤性肝障害と診断した．"  # MANBYO maps it to the standard name 薬物性肝障害
    morphemes = list(user.tokenizer.tokenize(text))
    assert morphemes[0].surface() == "薬剤性肝障害" and morphemes[0].normalized_form() == "薬物性肝障害"
    assert [m.surface() for m in morphemes[1:]] == [m.surface() for m in base.tokenizer.tokenize(text)][4:]


def test_report_counts(dict_build):
    _, r = dict_build
    n = r["seed_terms_in_corpus"]
    assert n > 100
    assert r["seed_terms_whole_base"] < r["seed_terms_whole_user_dic"] <= n
    assert r["seed_terms_whole_user_dic"] >= 0.98 * n
    base_whole, total = r["seed_occurrences_whole_base"]
    user_whole, total2 = r["seed_occurrences_whole_user_dic"]
    assert total == total2 > n and base_whole < 0.7 * total and user_whole > 0.95 * total
    assert r["user_dic"]["rejected"] == 0 and r["terms"]["seed"] + r["terms"]["extracted"] == r["terms"]["total"]


def test_cli_prints_the_report(medtxt_file, tmp_path):
    from typer.testing import CliRunner

    from jacorpus.commands import app

    seed = tmp_path / "list.txt"  # words base Sudachi keeps whole even in mode A: no user.dic to compile (quick)
    seed.write_text("肺癌\n肝炎\n\t空\n肺炎\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["dict", "build", "--corpus", str(medtxt_file), "--seed", str(seed),
                                      "--out", str(tmp_path / "d"), "--no-extract", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "seed terms occurring in the corpus: 3" in result.output
    assert "base dictionary: 3 (100.0%)" in result.output
    assert "list.txt:3: empty term" in result.output
    assert (tmp_path / "d" / "terms.tsv").read_text(encoding="utf-8").count("\tseed\t") == 3


def test_rows_the_sudachi_builder_rejects_are_dropped_and_named(tmp_path):
    from jacorpus.tokenizers.sudachi_dict import UserEntry, build_user_dic

    huge = "あ" * 33_000  # above 32,767 characters the builder names the row ("larger than expected 32767")
    entries = [UserEntry(t, t, "", f"list.txt:{i}") for i, t in enumerate(["肝硬変症", huge, "膵頭部癌"], 1)]
    kept, rejected, _ = build_user_dic(entries, str(tmp_path / "user.csv"), str(tmp_path / "user.dic"))
    assert [e.term for e in kept] == ["肝硬変症", "膵頭部癌"]
    assert [(e.where, "32767" in message) for e, message in rejected] == [("list.txt:2", True)]
    assert SudachiWords("C", [str(tmp_path / "user.dic")]).words("膵頭部癌") == ["膵頭部癌"]
