"""`classifier` and `jacorpus quality train`: a real fastText model trained on the shared human labels."""

from __future__ import annotations

import json
import random

import pytest
from datatrove.data import Document
from typer.testing import CliRunner

from jacorpus.corpus.classifier import ClassifierOptions, QualityClassifier, features
from jacorpus.corpus.quality_cli import quality_app
from jacorpus.corpus.quality_labels import read_labels, split_examples

runner = CliRunner()


@pytest.fixture(scope="module")
def labels_file(shared_data):
    return shared_data / "mc4_ja_quality_labels" / "annotations_.txt"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, labels_file):
    """One training through the CLI (the held-out split is the default 20 %)."""
    out = tmp_path_factory.mktemp("model") / "quality.bin"
    result = runner.invoke(quality_app, ["train", "--labels", str(labels_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output, json.loads(out.with_name("quality.bin.json").read_text())


def test_label_file_quirks_are_repaired_and_counted(labels_file):
    lines = [x for x in labels_file.read_text(encoding="utf-8").split("\n") if x.strip()]
    data = read_labels(str(labels_file))
    assert data.lines == len(lines)
    assert data.unquoted == sum(1 for x in lines if x.startswith('"'))  # the stray/CSV quotes
    assert data.inner_tabs == sum(1 for x in lines if x.count("\t") > 1)
    # every line is either an example, a repeat of one, or part of a text labelled both ways
    assert len(data.examples) + data.skipped["duplicate_text"] + data.skipped["conflicting_labels"] == data.lines
    assert {label for _, label in data.examples} == {"good", "bad"}
    assert not any(t.startswith('"') or "\t" in t for t, _ in data.examples)
    assert len({t for t, _ in data.examples}) == len(data.examples)


def test_malformed_lines_are_reported_not_silently_dropped(tmp_path):
    tsv = tmp_path / "labels.tsv"
    tsv.write_text("よい文章です。\tgood\nタブのない行\n\tbad\n文\t\n\"引用\"\"符\"\"\"\tgood\n", encoding="utf-8")
    data = read_labels(str(tsv))
    assert data.skipped == {"no_tab": 1, "empty_text": 1, "bad_label": 1}
    assert data.examples == [("よい文章です。", "good"), ('引用"符"', "good")]
    assert len(data.skipped_examples) == 3 and data.skipped_examples[0].startswith("line 2:")

    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text('{"text": "良い", "label": "good"}\n{"text": 1}\nnot json\n', encoding="utf-8")
    data = read_labels(str(jsonl))
    assert data.examples == [("良い", "good")]
    assert data.skipped == {"missing_text_or_label": 1, "invalid_json": 1}


def test_held_out_split_is_stratified_and_independent_of_file_order(labels_file):
    examples = read_labels(str(labels_file)).examples
    train, test = split_examples(examples, 0.2, seed=1)
    shuffled = examples[:]
    random.Random(0).shuffle(shuffled)
    assert sorted(split_examples(shuffled, 0.2, seed=1)[1]) == sorted(test)
    assert sorted(split_examples(examples, 0.2, seed=2)[1]) != sorted(test)
    assert not {t for t, _ in train} & {t for t, _ in test}
    for label in ("good", "bad"):
        n = sum(1 for _, lab in examples if lab == label)
        assert sum(1 for _, lab in test if lab == label) == round(n * 0.2)


def test_trained_classifier_beats_chance_on_held_out_labels(trained):
    _, output, info = trained
    assert "balanced accuracy" in output and "skipped" in output
    held_out = info["held_out"]
    assert held_out["n"] > 200
    # chance is 0.5; 5 seeds of this setup gave 0.67-0.73 (docs/quality.md), so 0.6 is a margin it keeps
    assert held_out["balanced_accuracy"] >= 0.6
    assert info["labels"] == ["bad", "good"] and info["features"]["split_mode"] == "A"


def test_classifier_step_scores_and_drops(trained, labels_file):
    model, _, _ = trained
    step = QualityClassifier(ClassifierOptions(model=model.name, label="good", min_score=0.5), base_dir=str(model.parent))
    texts = [t for t, _ in split_examples(read_labels(str(labels_file)).examples, 0.2, seed=1)[1]]
    docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
    kept = list(step.run(iter(docs)))
    assert 0 < len(kept) < len(docs)
    assert all(0.0 <= d.metadata["quality_score"] <= 1.0 for d in docs)
    assert all(d.metadata["quality_score"] >= 0.5 for d in kept)
    assert step.ledger.dropped == {"classifier:low_quality": len(docs) - len(kept)}


def test_classifier_configuration_errors_are_early(trained, tmp_path):
    model, _, _ = trained
    with pytest.raises(ValueError, match="not one of the model's labels"):
        QualityClassifier(ClassifierOptions(model=str(model), label="excellent"))
    with pytest.raises(FileNotFoundError):
        QualityClassifier(ClassifierOptions(model="missing.bin"), base_dir=str(tmp_path))


def test_bad_input_does_not_crash(trained, labels_file):
    model, _, _ = trained
    step = QualityClassifier(ClassifierOptions(model=str(model)))
    text = read_labels(str(labels_file)).examples[0][0]
    for bad in ["", "   ", "!!!???…", "文\ud800章\udfff", text * (10_000_000 // len(text))]:
        result = step.filter(Document(text=bad, id="x", metadata={}))
        assert result is True or result == (False, "low_quality")
    assert features("価格は1,980円\nTax込") == "価格 は 0,000 円 tax 込"
    assert len(features("あ" * 200_000).split()) < 20_000  # features come from a bounded prefix


def test_eval_command_scores_presets_and_the_model_on_the_same_split(trained, labels_file, tmp_path):
    model, _, info = trained
    report = tmp_path / "eval.json"
    result = runner.invoke(quality_app, ["eval", "--labels", str(labels_file), "--preset", "swallow",
                                         "--preset", "fineweb2_ja", "--model", str(model), "--report", str(report)])
    assert result.exit_code == 0, result.output
    scores = json.loads(report.read_text())
    assert scores[f"classifier:{model.name}"] == info["held_out"]  # same held-out texts as `train` used
    # every held-out snippet is shorter than Swallow's 400 characters: all predicted bad
    assert set(scores["swallow"]["confusion"]["good"]) == {"bad", "good"}
    assert scores["swallow"]["confusion"]["good"]["good"] == 0 and scores["swallow"]["balanced_accuracy"] == 0.5
    assert scores["fineweb2_ja"]["n"] == info["held_out"]["n"]
