"""Seed dictionaries, the term matcher and C-value extraction on real data."""

from __future__ import annotations

import math
import re
import unicodedata

from jacorpus.tokenizers.extract import TermExtractor, unit_kind
from jacorpus.tokenizers.terms import TermMatcher, normalize_term, read_seed, term_key


def test_real_manbyo_rows_are_read_whole(shared_data):
    seed = read_seed(str(shared_data / "medical" / "manbyo_dictionary" / "dic.csv"))
    assert seed.rows == 73_342 and not seed.problems  # PROVENANCE.md: 73,342 entries
    by_term = {t.term: t for t in seed.terms}
    multi = by_term["大腸癌肝転移"]  # quoted multi-code row from PROVENANCE.md
    assert multi.codes == "C189,C787" and multi.standard == "大腸癌,転移性肝腫瘍"  # NFKC turns ， into ,
    assert by_term["咳嗽"].standard == "咳"
    assert not any("\r" in t.term or "\r" in t.standard for t in seed.terms)  # CRLF handled


def test_plain_term_list_with_bad_rows(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_text("# comment\n肝硬変\n\nＩｇＡ腎症\tIgA腎症\n\t空\na\tb\tc\n", encoding="utf-8")
    seed = read_seed(str(path))
    assert [t.term for t in seed.terms] == ["肝硬変", "IgA腎症"]
    assert [(p.line, p.reason.split()[0]) for p in seed.problems] == [(5, "empty"), (6, "bad")]


def test_normalization_and_dedup_key():
    assert normalize_term("  ＩｇＡ　腎症 ") == "IgA 腎症"
    assert term_key("ＩｇＡ腎症") == term_key("iga腎症")


def test_matcher_respects_letter_boundaries_and_prefers_longest():
    m = TermMatcher(["AL", "ALT", "肝硬変", "肝硬変症", "症例"])
    text = "ALP 500, ALT 94, AL. 肝硬変症例"
    assert [t for _, _, t in m.find_longest(text)] == ["ALT", "AL", "肝硬変症"]
    assert "AL" in [t for _, _, t in m.find_all(text, bounded=False)][:1]  # ALP's AL only without the rule
    assert sorted(t for _, _, t in m.find_all(text)) == sorted(["ALT", "AL", "肝硬変", "肝硬変症", "症例"])


def test_unit_kinds_break_runs_at_numbers_and_adverbial_nouns():
    from sudachipy import Dictionary, SplitMode

    tok = Dictionary(dict="core").tokenizer(SplitMode.A)
    morphemes = list(tok.tokenize("非代償性肝硬変のため3年前のリンパ節"))
    kinds = {}
    for before, m in zip([None, *morphemes], morphemes):
        after_number = before is not None and before.part_of_speech()[1] == "数詞"
        kinds[m.surface()] = unit_kind(tuple(m.part_of_speech()), after_number)
    assert kinds["非"] == "P" and kinds["性"] == "S" and kinds["肝"] == "N"
    assert kinds["ため"] is None and kinds["3"] is None and kinds["年"] is None and kinds["前"] is None
    assert kinds["節"] is not None  # a counter-like noun that is not after a number (リンパ節)


def test_c_value_formula_on_nested_candidates():
    ex = TermExtractor.__new__(TermExtractor)  # scoring only: no Sudachi needed
    ex.frequency = {("肝", "硬変"): 10, ("非", "代償", "性", "肝", "硬変"): 4, ("代償", "性", "肝", "硬変"): 4}
    scores = ex.c_values()
    assert scores[("非", "代償", "性", "肝", "硬変")] == math.log2(5) * 4
    # nested in two longer candidates (frequencies 4 and 4): log2|a| * (f - mean)
    assert scores[("肝", "硬変")] == math.log2(2) * (10 - 4)
    assert scores[("代償", "性", "肝", "硬変")] == math.log2(4) * (4 - 4)


def test_extraction_from_medtxt_finds_medical_compounds(medtxt):
    ex = TermExtractor(min_frequency=2, min_score=2.0)
    ex.add_all(unicodedata.normalize("NFKC", d) for d in medtxt)
    terms = {t.term: t for t in ex.terms()}
    for expected in ("リンパ節転移", "非代償性肝硬変", "原発性胆汁性胆管炎"):
        assert expected in terms, expected
    assert all(t.frequency >= 2 and t.score >= 2.0 and t.words >= 2 for t in terms.values())
    # numbers break runs: digits only survive inside Latin words such as D3 (D3郭清) or M2BPGi
    assert not [t for t in terms if re.search(r"(^|[^A-Za-z0-9])[0-9]", t)]
    ranked = ex.terms()
    assert all(a.score >= b.score for a, b in zip(ranked, ranked[1:]))
