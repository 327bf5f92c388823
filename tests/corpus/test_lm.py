"""The n-gram estimator against KenLM's own lmplz, and the `perplexity` step in recipes on real text.

``data/neko300_chars_lmplz_o4.arpa.gz`` was written by lmplz (KenLM 0.3.0's sdist, built with CMake and the Debian
Boost packages) from the first 300 non-empty lines of the shared neko.txt, one character per token:
``lmplz -o 4 --text neko300.txt --arpa neko300_chars_lmplz_o4.arpa -S 200M``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from jacorpus.commands import app
from jacorpus.corpus.quality_labels import read_labels
from jacorpus.corpus.lm import LanguageModel, estimate_kneser_ney, write_arpa
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import load_recipe

LMPLZ_ARPA = Path(__file__).parent / "data" / "neko300_chars_lmplz_o4.arpa.gz"
runner = CliRunner()


def read_arpa(lines) -> dict[str, tuple[float, float]]:
    entries, order = {}, 0
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:].split("-")[0])
        elif order and line and not line.startswith("\\"):
            fields = line.split("\t")
            entries[fields[1]] = (float(fields[0]), float(fields[2]) if len(fields) > 2 else 0.0)
    return entries


def neko_char_sentences(shared_data, n_lines: int) -> tuple[list[list[int]], list[str]]:
    text = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.split("\n") if line.strip()][:n_lines]
    vocab, index, sentences = ["<unk>", "<s>", "</s>"], {}, []
    for line in lines:
        ids = []
        for ch in line:
            if not ch.isspace():
                if ch not in index:
                    index[ch] = len(vocab)
                    vocab.append(ch)
                ids.append(index[ch])
        sentences.append(ids)
    return sentences, vocab


def test_modified_kneser_ney_equals_lmplz(tmp_path, shared_data):
    sentences, vocab = neko_char_sentences(shared_data, 300)
    orders, _ = estimate_kneser_ney(sentences, len(vocab), 4, bos=1, eos=2, unk=0)
    write_arpa(orders, vocab, str(tmp_path / "ours.arpa"))
    with gzip.open(LMPLZ_ARPA, "rt", encoding="utf-8") as fh:
        theirs = read_arpa(fh)
    ours = read_arpa(open(tmp_path / "ours.arpa", encoding="utf-8"))
    assert len(theirs) == 887 + 4308 + 7097 + 8392  # lmplz's header
    assert set(ours) == set(theirs)
    for ngram, (prob, backoff) in theirs.items():
        if ngram != "<s>":  # lmplz writes 0 for the never-predicted <s>, SRILM and we -99
            assert ours[ngram][0] == pytest.approx(prob, abs=2e-6), ngram
        assert ours[ngram][1] == pytest.approx(backoff, abs=2e-6), ngram


def test_kenlm_distribution_sums_to_one(tmp_path, shared_data):
    """KenLM applies the ARPA backoffs itself: for any context, P(w | context) over the vocabulary sums to 1."""
    import kenlm

    sentences, vocab = neko_char_sentences(shared_data, 1500)
    orders, _ = estimate_kneser_ney(sentences, len(vocab), 3, bos=1, eos=2, unk=0)
    write_arpa(orders, vocab, str(tmp_path / "m.arpa"))
    model = kenlm.Model(str(tmp_path / "m.arpa"))
    predicted = [w for w in vocab if w != "<s>"]  # <unk> and </s> included
    for context in (["吾", "輩"], ["で", "あ"], ["猫"], ["象", "牙"], ["ず", "ぽ"]):  # seen, seen, short, rare, unseen
        state, out = kenlm.State(), kenlm.State()
        model.BeginSentenceWrite(state)
        for word in context:
            model.BaseScore(state, word, out)
            state, out = out, state
        total = sum(10 ** model.BaseScore(state, w, kenlm.State()) for w in predicted)
        assert total == pytest.approx(1.0, abs=1e-4), context


# -- the step in recipes -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wiki_lm(tmp_path_factory, shared_data):
    """`jacorpus lm train` on a corpus the recipe engine made from the jawiki 2022-07 sample."""
    tmp = tmp_path_factory.mktemp("lm")
    wiki = shared_data / "jawiki_xml" / "jawiki-2022-07-pages-articles-sample.xml.bz2"
    (tmp / "wiki.yaml").write_text(
        f"name: wiki\nsources: [{{name: wikipedia, type: wikipedia, paths: ['{wiki}']}}]\n"
        "steps:\n  - normalize: {}\noutput: {dir: wiki}\n", encoding="utf-8")
    manifest = run_local(build_plan(load_recipe(str(tmp / "wiki.yaml"))), workers=1, progress=False)
    assert manifest["kept"] > 150
    result = runner.invoke(app, ["lm", "train", "--corpus", str(tmp / "wiki"), "--out", str(tmp / "lm"),
                                 "--order", "3", "--vocab-size", "4000"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp / "lm" / "lm.json").read_text(encoding="utf-8"))
    assert meta["documents"] == manifest["kept"] and meta["tokens"] > 1_000_000
    return tmp / "lm"


def test_lm_train_refuses_a_folder_that_is_no_corpus(tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["lm", "train", "--corpus", str(tmp_path / "empty"), "--out", str(tmp_path / "lm")])
    assert result.exit_code != 0 and "not a jacorpus output folder" in result.output
    assert not (tmp_path / "lm").exists()


def auc(low: list[float], high: list[float]) -> float:
    """P(a value of `low` < a value of `high`), ties half: counted pair by pair."""
    a, b = np.asarray(low)[:, None], np.asarray(high)[None, :]
    return float(((a < b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size))


def test_perplexity_separates_wikipedia_from_web_spam(wiki_lm, shared_data):
    """Held out (2006 pages whose title is not in the 2022 sample) Wikipedia vs mC4 paragraphs labelled bad."""
    from jacorpus.corpus.sources.wikipedia import WikipediaOptions, WikipediaSource

    def pages(name):
        source = WikipediaSource("w", [str(shared_data / "jawiki_xml" / name)], WikipediaOptions())
        return {d.metadata["meta"].get("title"): d.text for f in source.files() for d in source.read_file_safely(f)
                if d.text.strip()}

    trained = pages("jawiki-2022-07-pages-articles-sample.xml.bz2")
    held = [t for title, t in pages("jawiki-2006-08-export-0.3-sample.xml.bz2").items() if title not in trained]
    labels = read_labels(str(shared_data / "mc4_ja_quality_labels" / "annotations_.txt")).examples
    lm = LanguageModel(str(wiki_lm))
    wiki = [lm.perplexity(t) for t in held]
    bad = [lm.perplexity(t) for t, label in labels if label == "bad"]
    good = [lm.perplexity(t) for t, label in labels if label == "good"]
    assert len(held) >= 8
    assert auc(wiki, bad) > 0.85  # measured 0.95 (bench/results/perplexity.md has the full-size model)
    assert auc(good, bad) > 0.5  # weak on the human labels (0.55): date lists and menus are very predictable


def test_perplexity_step_annotates_buckets_and_filters(tmp_path, wiki_lm, shared_data):
    import kenlm
    import sentencepiece as spm

    from jacorpus.corpus.lm import normalize_for_lm

    cc = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    texts = [item["text"] for item in cc["length_2000"][:30]] + ["", "   \n  "]
    with open(tmp_path / "docs.jsonl", "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")
    # cutoffs over this very web text (what `jacorpus lm cutoffs` is for), then the 30th/60th percentile buckets
    (tmp_path / "web.yaml").write_text("name: web\nsources: [{name: web, type: jsonl, paths: [docs.jsonl]}]\n"
                                       "steps: []\noutput: {dir: web}\n", encoding="utf-8")
    run_local(build_plan(load_recipe(str(tmp_path / "web.yaml"))), workers=1, progress=False)
    result = runner.invoke(app, ["lm", "cutoffs", "--model", str(wiki_lm), "--corpus", str(tmp_path / "web")])
    assert result.exit_code == 0, result.output
    table = json.loads((wiki_lm / "percentiles.json").read_text(encoding="utf-8"))
    assert table["documents"] == 30
    p30, p60 = table["percentiles"]["30"], table["percentiles"]["60"]

    (tmp_path / "r.yaml").write_text(
        "name: ppl\nsources: [{name: web, type: jsonl, paths: [docs.jsonl]}]\n"
        f"steps:\n  - perplexity: {{model: '{wiki_lm}', paragraphs: true,"
        " buckets: {percentiles: [30, 60], keep: [head, middle]}}\n"
        "output: {dir: out, keep_dropped: true}\n", encoding="utf-8")
    manifest = run_local(build_plan(load_recipe(str(tmp_path / "r.yaml"))), workers=1, progress=False)
    kept = datasets.load_from_disk(str(tmp_path / "out"))
    gone = datasets.load_from_disk(str(tmp_path / "out" / "dropped"))
    schema = kept.features.arrow_schema
    assert schema.field("perplexity").type == pa.float64()
    assert schema.field("perplexity_bucket").type == pa.string()
    assert schema.field("perplexity_paragraphs").type == pa.list_(pa.float64())

    # the document perplexity, recomputed here from KenLM and SentencePiece directly (cc_net's formula)
    sp = spm.SentencePieceProcessor(model_file=str(wiki_lm / "sp.model"))
    model = kenlm.Model(str(wiki_lm / "lm.arpa"))
    by_id = {f"d{i}": t for i, t in enumerate(texts)}
    for row in kept:
        lines = [normalize_for_lm(x) for x in by_id[row["id"]].split("\n")]
        pieces = [sp.encode(x, out_type=str) for x in lines if x]
        logp = sum(model.score(" ".join(p), bos=True, eos=True) for p in pieces)
        assert row["perplexity"] == pytest.approx(10 ** (-logp / sum(len(p) + 1 for p in pieces)), rel=1e-9)
        assert len(row["perplexity_paragraphs"]) == len(pieces)
        assert row["perplexity"] <= p60 and row["perplexity_bucket"] == ("head" if row["perplexity"] <= p30 else "middle")
    assert all(p > p60 for p in gone.filter(lambda r: r["reason"] == "perplexity:tail")["perplexity"])
    # 30 scored documents: the tail is the 40 % above the 60th percentile; the two empty ones never reach the step
    assert manifest["dropped"]["perplexity:tail"] == 12
    assert manifest["kept"] == 18 and manifest["dropped"]["web:empty_text"] == 2
    assert manifest["steps"]["perplexity"]["bucket:head"] == 9
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())


def test_perplexity_options_fail_at_plan_time(tmp_path, wiki_lm):
    (tmp_path / "d.jsonl").write_text('{"id": "a", "text": "吾輩は猫である。"}\n', encoding="utf-8")
    for step, message in (
        ("{model: nowhere}", "no language model"),
        (f"{{model: '{wiki_lm}', buckets: {{percentiles: [60, 30]}}}}", "must increase"),
        (f"{{model: '{wiki_lm}', buckets: {{percentiles: [30, 60], cutoffs: [1, 2]}}}}", "either"),
        (f"{{model: '{wiki_lm}', bucket: {{}}}}", "bucket"),
    ):
        (tmp_path / "r.yaml").write_text("name: x\nsources: [{name: d, type: jsonl, paths: [d.jsonl]}]\n"
                                         f"steps:\n  - perplexity: {step}\noutput: {{dir: out}}\n", encoding="utf-8")
        with pytest.raises(Exception, match=message):
            build_plan(load_recipe(str(tmp_path / "r.yaml")))
