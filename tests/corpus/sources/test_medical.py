"""The `medical` source: MedTxt case reports (generic XML), PubMed XML, JSONL/CSV/TSV on real medical data."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import datasets
import pandas as pd
import pytest

from jacorpus.corpus.sentences import split_sentences
from jacorpus.corpus.sources import SOURCES
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import RecipeError, parse_recipe

SOURCE_TYPES = SOURCES.load()  # every built-in type (they load lazily)

Medical = SOURCE_TYPES["medical"]


def read(paths: list[Path], base_dir: Path, **options):
    source = Medical("medical", [str(p) for p in paths], Medical.Options(**options), str(base_dir))
    docs = list(source.run())
    return docs, source.ledger.to_dict()


def locator(doc) -> str:
    return doc.metadata["origin"].rsplit("#", 1)[1]


@pytest.fixture(scope="module")
def medtxt(shared_data) -> Path:
    return shared_data / "medical" / "medtxt_cr_ja" / "MedTxt-CR-JA-training.xml"


@pytest.fixture(scope="module")
def medtxt_articles(medtxt) -> list[tuple[str, str, str]]:
    """(id, title, plain body) by regular expressions over the raw file: an implementation independent of lxml."""
    raw = medtxt.read_text(encoding="utf-8")
    found = re.findall(r'<article id="([^"]*)" title="([^"]*)">(.*?)</article>', raw, re.S)
    out = []
    for doc_id, title, body in found:
        lines = (line.strip() for line in re.sub(r"<[^>]+>", "", body).splitlines())
        out.append((doc_id, title, "\n".join(line for line in lines if line)))
    return out


# -- generic XML: MedTxt-CR ---------------------------------------------------------------------------------------
def test_medtxt_records_with_inline_tags_stripped(medtxt, medtxt_articles):
    docs, ledger = read([medtxt], medtxt.parent, format="xml", record="article")
    assert len(docs) == len(medtxt_articles) == 148 and ledger["errors"] == []
    assert [d.id for d in docs] == [a[0] for a in medtxt_articles]
    assert len({d.id for d in docs}) == 148
    for doc, (doc_id, title, body) in zip(docs, medtxt_articles):
        assert doc.text == f"{title}\n{body}"
        assert doc.metadata["meta"] == {"title": title}
        assert locator(doc) == doc_id
        assert "<" not in doc.text and "certainty" not in doc.text
    # the text of inline tags is kept: <d certainty="positive" correction="血痰">血疾</d> -> 血疾 (the original)
    assert "血疾を主訴に当院紹介となり" in docs[0].text
    assert "症例は７０歳，男性．" in docs[0].text


def test_medtxt_title_only_in_metadata(medtxt, medtxt_articles):
    docs, _ = read([medtxt], medtxt.parent, format="xml", title_in_text=False, id_attribute=None)
    assert [d.text for d in docs] == [a[2] for a in medtxt_articles]
    assert all(len(d.id) == 20 for d in docs)  # no id attribute: stable hashed ids
    assert docs[0].metadata["meta"] == {"title": medtxt_articles[0][1], "id": medtxt_articles[0][0]}


def test_medtxt_one_document_per_sentence(medtxt, medtxt_articles):
    docs, ledger = read([medtxt], medtxt.parent, format="xml", sentences=True)
    expected = []
    for doc_id, title, body in medtxt_articles:
        expected += [(f"{doc_id}/s{k}", s) for k, s in enumerate(split_sentences(f"{title}\n{body}"))]
    assert [(d.id, d.text) for d in docs] == expected
    assert ledger["read"] == len(docs) > 2000  # ~1,850 lines, a few with two sentences, plus 148 titles
    assert all(split_sentences(d.text) == [d.text] for d in docs)
    assert locator(docs[1]) == "JP0217-100/s1" and docs[1].metadata["meta"]["sentence"] == 1
    assert docs[1].text == "症例は７０歳，男性．"


def test_medtxt_sentence_lines(medtxt, medtxt_articles):
    docs, _ = read([medtxt], medtxt.parent, format="xml", sentences="lines")
    assert len(docs) == 148
    for doc, (_, title, body) in zip(docs, medtxt_articles):
        assert doc.text.split("\n") == split_sentences(f"{title}\n{body}")


def test_xml_records_in_a_namespace_and_no_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    path = tmp_path / "cases.xml"
    path.write_text(
        f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE corpus [<!ENTITY leak SYSTEM "file://{secret}">]>
<corpus xmlns="http://example.org/cases">
  <case no="c1" heading="一例目" kind="CR">患者は<b>発熱</b>を訴えた。&leak;<!-- 注釈 -->翌日に<i>解熱</i>した。</case>
  <other>記録ではない</other>
  <case no="c2" heading="二例目">二例目の本文。</case>
</corpus>
""",
        encoding="utf-8",
    )
    docs, ledger = read([path], tmp_path, format="xml", record="case", id_attribute="no", title_attribute="heading")
    assert ledger["errors"] == []
    assert [(d.id, d.text) for d in docs] == [
        ("c1", "一例目\n患者は発熱を訴えた。翌日に解熱した。"),  # no entity expansion, comments dropped
        ("c2", "二例目\n二例目の本文。"),
    ]
    assert docs[0].metadata["meta"] == {"heading": "一例目", "kind": "CR"}


# -- PubMed XML (hand-written fixture in the MEDLINE/PubMed DTD layout) ------------------------------------------
PUBMED_XML = """<?xml version="1.0" ?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">
<PubmedArticleSet>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">90000001</PMID>
    <Article PubModel="Print">
      <Journal>
        <JournalIssue CitedMedium="Print"><Volume>12</Volume><PubDate><MedlineDate>2018 Nov-Dec</MedlineDate></PubDate></JournalIssue>
        <Title>Journal of Test Hepatology</Title>
      </Journal>
      <ArticleTitle>Cholestatic liver injury after <i>Helicobacter pylori</i> eradication.</ArticleTitle>
      <Abstract>
        <AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Drug-induced liver injury is a rare adverse event.</AbstractText>
        <AbstractText Label="RESULTS" NlmCategory="RESULTS">ALP rose to 1,215 U/L and recovered within 4 weeks.</AbstractText>
      </Abstract>
      <Language>eng</Language>
    </Article>
  </MedlineCitation>
  <PubmedData><ArticleIdList><ArticleId IdType="pubmed">90000001</ArticleId><ArticleId IdType="doi">10.9999/test.0001</ArticleId></ArticleIdList></PubmedData>
</PubmedArticle>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">90000002</PMID>
    <Article PubModel="Print">
      <Journal>
        <JournalIssue CitedMedium="Print"><PubDate><Year>2019</Year><Month>May</Month></PubDate></JournalIssue>
        <Title>Nihon Test Igakkai zasshi</Title>
      </Journal>
      <ArticleTitle>[A case of drug-induced liver injury caused by pazopanib].</ArticleTitle>
      <Abstract><AbstractText>A 65-year-old man developed liver injury during pazopanib therapy.</AbstractText></Abstract>
      <Language>jpn</Language>
      <VernacularTitle>パゾパニブによる薬物性肝障害の1例</VernacularTitle>
    </Article>
    <OtherAbstract Type="Publisher" Language="jpn">
      <AbstractText Label="症例">症例は６５歳，男性．パゾパニブ内服開始後に肝機能障害を認めた．</AbstractText>
      <AbstractText Label="結語">休薬により改善した（図１を参照．）．</AbstractText>
    </OtherAbstract>
  </MedlineCitation>
</PubmedArticle>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">90000003</PMID>
    <Article PubModel="Print">
      <Journal><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue><Title>Rinsho Test</Title></Journal>
      <ArticleTitle>[Clinical features of elderly patients with pneumonia].</ArticleTitle>
      <Language>jpn</Language>
      <VernacularTitle>高齢者肺炎の臨床的特徴</VernacularTitle>
    </Article>
  </MedlineCitation>
</PubmedArticle>
<DeleteCitation><PMID Version="1">90000000</PMID></DeleteCitation>
</PubmedArticleSet>
"""


@pytest.fixture()
def pubmed_file(tmp_path) -> Path:
    path = tmp_path / "pubmed_sample.xml"
    path.write_text(PUBMED_XML, encoding="utf-8")
    return path


def test_pubmed_prefers_japanese(pubmed_file):
    docs, ledger = read([pubmed_file], pubmed_file.parent, format="pubmed")
    assert ledger["errors"] == [] and len(docs) == 3
    english, japanese, title_only = docs
    assert english.text == (
        "Cholestatic liver injury after Helicobacter pylori eradication.\n"
        "Drug-induced liver injury is a rare adverse event.\nALP rose to 1,215 U/L and recovered within 4 weeks."
    )
    assert english.metadata["meta"] == {
        "pmid": "90000001", "journal": "Journal of Test Hepatology", "year": 2018, "language": "eng",
        "article_language": ["eng"], "doi": "10.9999/test.0001",
    }
    assert japanese.text == (
        "パゾパニブによる薬物性肝障害の1例\n症例は６５歳，男性．パゾパニブ内服開始後に肝機能障害を認めた．\n"
        "休薬により改善した（図１を参照．）．"
    )
    assert japanese.metadata["meta"]["language"] == "jpn" and japanese.metadata["meta"]["year"] == 2019
    assert title_only.text == "高齢者肺炎の臨床的特徴"
    assert [locator(d) for d in docs] == ["pmid:90000001", "pmid:90000002", "pmid:90000003"]


def test_pubmed_main_text_without_preferred_languages(pubmed_file):
    docs, _ = read([pubmed_file], pubmed_file.parent, format="pubmed", languages=[])
    assert docs[1].text == (
        "A case of drug-induced liver injury caused by pazopanib\n"  # NLM's [translated title]. brackets removed
        "A 65-year-old man developed liver injury during pazopanib therapy."
    )
    assert docs[1].metadata["meta"]["language"] == "eng"
    assert docs[2].text == "Clinical features of elderly patients with pneumonia"


def test_pubmed_require_language_and_sentences(pubmed_file, tmp_path):
    gz = tmp_path / "pubmed_sample.xml.gz"
    gz.write_bytes(gzip.compress(pubmed_file.read_bytes()))
    docs, ledger = read([gz], tmp_path, format="pubmed", require_language=True, sentences="documents")
    assert ledger["dropped"] == {"medical:no_preferred_language": 1}
    assert [(locator(d), d.text) for d in docs] == [
        ("pmid:90000002/s0", "パゾパニブによる薬物性肝障害の1例"),
        ("pmid:90000002/s1", "症例は６５歳，男性．"),
        ("pmid:90000002/s2", "パゾパニブ内服開始後に肝機能障害を認めた．"),
        ("pmid:90000002/s3", "休薬により改善した（図１を参照．）．"),
        ("pmid:90000003/s0", "高齢者肺炎の臨床的特徴"),
    ]
    assert ledger["read"] == 6  # five sentences kept + one record dropped


# -- JSONL / CSV / TSV -----------------------------------------------------------------------------------------
def test_jsonl_igakuqa_with_id_field(shared_data):
    path = shared_data / "medical" / "igakuqa" / "2019" / "113-A.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs, ledger = read([path], shared_data, format="jsonl", text_fields=["problem_text", "choices"],
                        id_field="problem_id")
    assert ledger["errors"] == [] and len(docs) == len(records) > 50
    for doc, record in zip(docs, records):
        assert doc.id == record["problem_id"]
        assert doc.text == "\n".join([record["problem_text"], *record["choices"]])  # a list field: one item a line
        assert doc.metadata["meta"] == {"answer": record["answer"], "points": record["points"],
                                        "text_only": record["text_only"]}


def test_csv_with_multiline_quoted_fields(shared_data):
    path = shared_data / "medical" / "jmed_llm" / "all_CRNER.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # an independent CSV parser
    docs, ledger = read([path], shared_data, format="csv", text_fields=["question"])
    assert ledger["errors"] == [] and len(docs) == len(frame) == 265
    assert [d.text for d in docs] == [q.strip() for q in frame["question"]]
    assert [d.metadata["meta"] for d in docs] == frame[["tag", "answer"]].to_dict("records")
    assert locator(docs[0]) == "L2"  # line 1 is the header
    # a record's locator is its first line: the line count of the records before it, plus the header
    second_start = 2 + frame["question"][0].count("\n") + 1
    assert locator(docs[1]) == f"L{second_start}"


def test_tsv_gives_the_same_documents_as_csv(shared_data, tmp_path):
    source = shared_data / "medical" / "jmed_llm" / "all_CRNER.csv"
    tsv = tmp_path / "crner.tsv"
    with open(source, newline="", encoding="utf-8") as fin, open(tsv, "w", newline="", encoding="utf-8") as fout:
        csv.writer(fout, delimiter="\t").writerows(csv.reader(fin))
    from_csv, _ = read([source], shared_data, format="csv", text_fields=["question"])
    from_tsv, ledger = read([tsv], tmp_path, format="tsv", text_fields=["question"])
    assert ledger["errors"] == []
    assert [(d.text, d.metadata["meta"]) for d in from_tsv] == [(d.text, d.metadata["meta"]) for d in from_csv]


def test_headerless_csv_with_columns(shared_data):
    path = shared_data / "medical" / "manbyo_dictionary" / "dic.csv"  # CRLF, quoted multi-code cells
    docs, ledger = read([path], shared_data, format="csv", columns=["surface", "icd10", "standard"],
                        text_fields=["surface"], id_field=None)
    assert ledger["errors"] == [] and len(docs) == 73_342
    colon = next(d for d in docs if d.text == "大腸癌肝転移")
    assert colon.metadata["meta"] == {"icd10": "C189,C787", "standard": "大腸癌，転移性肝腫瘍"}
    assert docs[0].text == "疼痛" and locator(docs[0]) == "L1"


def test_table_faults_are_recorded_and_empty_records_dropped(tmp_path):
    path = tmp_path / "abstracts.csv"
    path.write_text(
        "pmid,title,abstract,year\n"
        "1,肺炎の1例,症例は８０歳男性．,2020\n"
        "2,only three,fields\n"  # line 3: wrong field count
        '3,"題名","抄録"x,2021\n'  # line 4: text after a closing quote
        "4,,,2022\n"  # line 5: no text: read, dropped
        "5,胃癌の1例,症例は６０歳女性．,2023\n",
        encoding="utf-8",
    )
    docs, ledger = read([path], tmp_path, format="csv", id_field="pmid")
    assert [(d.id, d.text, d.metadata["meta"]) for d in docs] == [
        ("1", "肺炎の1例\n症例は８０歳男性．", {"year": "2020"}),
        ("5", "胃癌の1例\n症例は６０歳女性．", {"year": "2023"}),
    ]
    assert [e["position"]["line"] for e in ledger["errors"]] == [3, 4]
    assert ledger["dropped"] == {"medical:no_text": 1} and ledger["read"] == 3


# -- recipe -----------------------------------------------------------------------------------------------------
def test_options_that_do_not_fit_the_format_are_recipe_errors(tmp_path):
    text = "name: t\nsources:\n  - type: medical\n    format: xml\n    text_fields: [title]\n    paths: [a.xml]\n" \
           "output: {dir: out}\n"
    with pytest.raises(RecipeError, match=r"r\.yaml:3: sources\[0\].*text_fields.*applies to format jsonl"):
        parse_recipe(text, "r.yaml", str(tmp_path))
    with pytest.raises(RecipeError, match="sentences"):
        parse_recipe(text.replace("text_fields: [title]", "sentences: paragraphs"), "r.yaml", str(tmp_path))


def test_recipe_run_on_medtxt(medtxt, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: medtxt\nsources:\n  - {{name: cases, type: medical, format: xml, record: article, "
        f'sentences: documents, paths: ["{medtxt}"]}}\noutput: {{dir: out}}\n',
        encoding="utf-8",
    )
    plan = build_plan(parse_recipe(recipe.read_text(), str(recipe), str(tmp_path)))
    manifest = run_local(plan, workers=1, progress=False)
    ds = datasets.load_from_disk(str(tmp_path / "out"))
    assert manifest["read"] == manifest["kept"] == len(ds) > 2000 and manifest["errors"] == []
    assert ds[1]["id"] == "JP0217-100/s1" and ds[1]["text"] == "症例は７０歳，男性．"
    assert json.loads(ds[1]["metadata"]) == {"title": ds[0]["text"], "sentence": 1}
    assert ds[1]["source"] == "cases" and ds[1]["origin"].endswith("MedTxt-CR-JA-training.xml#JP0217-100/s1")
