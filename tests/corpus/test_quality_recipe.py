"""language + quality + classifier in one recipe under the local engine: typed annotations, every drop explained."""

from __future__ import annotations

import json

import datasets
import pyarrow as pa

from jacorpus.corpus.classifier import train_fasttext
from jacorpus.corpus.quality_labels import read_labels, split_examples
from jacorpus.corpus.sources.html_text import extract_page
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import load_recipe


def test_filter_recipe_end_to_end(tmp_path, shared_data):
    labels = read_labels(str(shared_data / "mc4_ja_quality_labels" / "annotations_.txt")).examples
    train, _ = split_examples(labels, 0.2, seed=1)
    train_fasttext(train, str(tmp_path / "models" / "quality.bin"), epoch=20)

    abeja = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    japanese = [item["text"] for items in abeja.values() for item in items]
    chinese = [t for t, _ in labels if t.startswith(("『晋江二手市场』", "請選擇 2018年", "中油-上井"))]
    english = extract_page((shared_data / "web_html/other/postlight__www.npr.org.html").read_text()).text
    texts = japanese + chinese + [english, ""]
    with open(tmp_path / "docs.jsonl", "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")
    (tmp_path / "recipe.yaml").write_text(
        "name: filters\n"
        "sources: [{name: web, type: jsonl, paths: [docs.jsonl]}]\n"
        "steps:\n"
        "  - language: {languages: [ja], min_score: 0.65}\n"
        "  - quality: {preset: swallow}\n"
        "  - classifier: {model: models/quality.bin, label: good, min_score: 0.9}\n"
        "output: {dir: out, keep_dropped: true}\n",
        encoding="utf-8",
    )
    manifest = run_local(build_plan(load_recipe(str(tmp_path / "recipe.yaml"))), workers=1, progress=False)

    assert manifest["read"] == len(texts)
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())
    dropped = manifest["dropped"]
    assert dropped["language:no_kana"] == 3 and dropped["language:not_ja"] == 1
    assert dropped["web:empty_text"] == 1  # the jsonl source itself drops an empty text
    assert dropped["quality:min_chars"] >= 33  # the 33 ~200-character pages, at least
    assert dropped.get("classifier:low_quality", 0) > 0 and manifest["kept"] > 0
    assert set(dropped) <= {"language:no_kana", "language:not_ja", "web:empty_text", "classifier:low_quality"} | {
        f"quality:{name}" for name in ("min_chars", "max_sentence_chars", "max_dup_5gram_char_fraction",
                                       "min_avg_sentence_chars", "min_japanese_chars", "max_dup_line_fraction",
                                       "min_hiragana_fraction", "max_avg_sentence_chars")}

    out = datasets.load_from_disk(str(tmp_path / "out"))
    assert out.features.arrow_schema.field("language_score").type == pa.float64()
    assert out.features.arrow_schema.field("quality_score").type == pa.float64()
    assert set(out["language"]) == {"ja"}
    assert min(out["quality_score"]) >= 0.9
    gone = datasets.load_from_disk(str(tmp_path / "out" / "dropped"))
    assert sorted(set(gone["reason"])) == sorted(dropped)
