"""Each eval command end to end on the shared data with tiny models; reported metrics re-derived from predictions."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from jacorpus.commands import app

runner = CliRunner()


def invoke(*args: str) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)


def predictions(out, task):
    return [json.loads(l) for l in (out / f"{task}.predictions.jsonl").read_text().splitlines()]


def test_lm_perplexity_matches_the_model_loss(tiny_models, tmp_path, shared_data):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    text = tmp_path / "held_out.txt"
    text.write_text("吾輩は猫である。名前はまだ無い。\n\nどこで生れたかとんと見当がつかぬ。\n", encoding="utf-8")
    invoke("eval", "lm", tiny_models["gpt2"], "--text", text, "--output", tmp_path / "out")
    ppl = json.loads((tmp_path / "out" / "results.json").read_text())["lm"]["perplexity"]
    tok = AutoTokenizer.from_pretrained(tiny_models["gpt2"])
    model = AutoModelForCausalLM.from_pretrained(tiny_models["gpt2"]).eval()
    nll, n = 0.0, 0
    for block in ("吾輩は猫である。名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。"):
        ids = torch.tensor([[tok.bos_token_id] + tok(block, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            loss = model(ids, labels=ids).loss  # HF's own mean next-token loss
        nll += float(loss) * (ids.shape[1] - 1)
        n += ids.shape[1] - 1
    assert ppl == pytest.approx(math.exp(nll / n), rel=1e-5)
    assert 0.5 * len(tok) < ppl < 2 * len(tok)  # random init: close to uniform over the vocabulary


def test_lm_masked_scores(tiny_models, tmp_path, shared_data):
    invoke("eval", "lm", tiny_models["roberta"], "--text", shared_data / "textclass_ja_toiro_sample" / "sample.txt",
           "--max-docs", "5", "--output", tmp_path / "out")
    lm = json.loads((tmp_path / "out" / "results.json").read_text())["lm"]
    assert lm["masked_tokens"] > 0 and 0 <= lm["masked_accuracy"] < 0.2  # untrained: near chance
    assert lm["pseudo_perplexity"] > 10


def test_jglue_jsts_metrics_match_scipy(tiny_models, tmp_path, shared_data):
    out = tmp_path / "out"
    invoke("eval", "jglue", tiny_models["roberta"], "--task", "jsts", "--data", shared_data / "jglue",
           "--max-train-examples", "64", "--max-eval-examples", "64", "--output", out)
    result = json.loads((out / "results.json").read_text())["jsts"]
    preds = predictions(out, "jsts")
    gold, pred = [p["gold"] for p in preds], [p["pred"] for p in preds]
    assert len(preds) == result["examples"] == 64
    assert result["pearson"] == pytest.approx(stats.pearsonr(gold, pred)[0], abs=1e-6)
    assert result["spearman"] == pytest.approx(stats.spearmanr(gold, pred)[0], abs=1e-6)
    assert "## Evaluation" in (tiny_models["roberta"] / "README.md").read_text()


def test_jglue_jnli_and_jcommonsenseqa(tiny_models, tmp_path, shared_data):
    out = tmp_path / "out"
    # JNLI's train split is not in shared/: fine-tune on part of valid, evaluate on the split
    invoke("eval", "jglue", tiny_models["roberta"], "--task", "jnli", "--data", shared_data / "jglue",
           "--train-split", "valid", "--max-train-examples", "48", "--max-eval-examples", "48", "--output", out)
    invoke("eval", "jglue", tiny_models["roberta"], "--task", "jcommonsenseqa", "--data", shared_data / "jglue",
           "--max-train-examples", "16", "--max-eval-examples", "16", "--output", out)
    invoke("eval", "jglue", tiny_models["gpt2"], "--task", "jcommonsenseqa", "--data", shared_data / "jglue",
           "--max-eval-examples", "20", "--output", tmp_path / "gpt2")
    results = json.loads((out / "results.json").read_text())
    for task in ("jnli", "jcommonsenseqa"):
        preds = predictions(out, task)
        assert results[task]["accuracy"] == pytest.approx(np.mean([p["gold"] == p["pred"] for p in preds]))
    zero_shot = predictions(tmp_path / "gpt2", "jcommonsenseqa")
    assert len(zero_shot) == 20 and all(0 <= p["pred"] < 5 for p in zero_shot)


def test_classify_matches_sklearn(tiny_models, tmp_path, shared_data):
    out = tmp_path / "out"
    data = shared_data / "textclass_ja_toiro_sample"
    invoke("eval", "classify", tiny_models["roberta"], "--train", data / "sample.train", "--test", data / "sample.test",
           "--epochs", "1", "--output", out)
    result = json.loads((out / "results.json").read_text())["classify"]
    preds = predictions(out, "classify")
    assert len(preds) == 50 == result["examples"]
    gold, pred = [p["gold"] for p in preds], [p["pred"] for p in preds]
    assert result["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))


def test_mcqa_on_igakuqa_and_compare(tiny_models, tmp_path, shared_data):
    out = tmp_path / "out"
    invoke("eval", "mcqa", tiny_models["gpt2"], "--data", shared_data / "medical" / "igakuqa" / "2018",
           "--max-examples", "25", "--output", out)
    result = json.loads((out / "results.json").read_text())["mcqa"]
    preds = predictions(out, "mcqa")
    assert result["examples"] == 25 and result["accuracy"] == pytest.approx(np.mean([p["gold"] == p["pred"] for p in preds]))
    assert 0.15 < result["chance"] <= 0.25  # five-choice questions (some four)
    png = tmp_path / "cmp.png"
    result = runner.invoke(app, ["eval", "compare", f"a={out / 'results.json'}", f"b={out / 'results.json'}", "--png", str(png)])
    assert result.exit_code == 0 and "| mcqa | accuracy |" in result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_mcqa_on_another_data_set_adds_card_rows(tiny_models, tmp_path, shared_data):
    """IgakuQA, then JMMLU-Med (a CSV): the model card keeps both, each under its own task name."""
    model = tmp_path / "gpt2"
    shutil.copytree(tiny_models["gpt2"], model)
    invoke("eval", "mcqa", model, "--data", shared_data / "medical" / "igakuqa" / "2019", "--max-examples", "5")
    invoke("eval", "mcqa", model, "--data", shared_data / "medical" / "jmed_llm" / "jmmlu_med.csv", "--max-examples", "5")
    results = json.loads((model / "eval" / "results.json").read_text())
    assert set(results) == {"mcqa", "mcqa-jmmlu_med"}
    assert results["mcqa"]["by_group"].keys() == {"2019"} and results["mcqa-jmmlu_med"]["chance"] == 0.25
    card = (model / "README.md").read_text()
    assert "| mcqa | accuracy |" in card and "| mcqa-jmmlu_med | accuracy |" in card
