"""Every eval command on models trained by jacorpus with jacorpus-built tokenizers of every kind (seq_len 64), on real
JGLUE and IgakuQA data, inputs longer than the context included; the trust policy, the one-line errors, the card's
accumulated table and the GPT-2/Llama export contract (BOS/EOS, prompt encoding, generate)."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from jacorpus.commands import app

from tests.evaluate.conftest import SEQ_LEN, TOKENIZER_KINDS

runner = CliRunner()
KINDS = list(TOKENIZER_KINDS)


def invoke(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args] + ["--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def fails(*args) -> str:
    """A CLI error: exit code 2, and the message is one line (no traceback)."""
    result = runner.invoke(app, [str(a) for a in args] + ["--no-progress"])
    assert result.exit_code == 2, result.output + repr(result.exception)
    lines = [l for l in result.output.splitlines() if l.strip() and not l.startswith("Loading weights")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def results(out: Path, task: str) -> dict:
    return json.loads((out / "results.json").read_text())[task]


def predictions(out: Path, task: str) -> list[dict]:
    return [json.loads(l) for l in (out / f"{task}.predictions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def long_texts(shared_data, tmp_path_factory) -> Path:
    """JSQuAD contexts (Wikipedia paragraphs, hundreds of characters): far longer than a 64-token context."""
    contexts = []
    for line in (shared_data / "jglue" / "jsquad-v1.3" / "valid-v1.3.json").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        contexts += [p["context"] for d in record.get("data", [record]) for p in d.get("paragraphs", [])]
    assert len(contexts) > 5
    path = tmp_path_factory.mktemp("long") / "contexts.txt"
    path.write_text("\n\n".join(contexts[:4]) + "\n", encoding="utf-8")
    return path


def reference_clm_perplexity(final: Path, texts: list[str]) -> float:
    """Each token after the first predicted once, from at most SEQ_LEN tokens before it in its window."""
    import torch
    from transformers import AutoModelForCausalLM

    from jacorpus.tokenizers.loading import load_tokenizer

    tok, model = load_tokenizer(str(final)), AutoModelForCausalLM.from_pretrained(final).eval()
    nll = count = 0.0
    for text in texts:
        ids = [tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
        for start in range(0, len(ids) - 1, SEQ_LEN):
            window = ids[start : start + SEQ_LEN + 1]
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([window[:-1]])).logits[0].double(), -1)
            nll -= sum(float(logp[i, target]) for i, target in enumerate(window[1:]))
            count += len(window) - 1
    return math.exp(nll / count)


@pytest.mark.parametrize("kind", KINDS)
def test_eval_lm_windows_long_text_for_every_kind(kind, trained_models, long_texts, tmp_path):
    texts = [b.strip() for b in long_texts.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    gpt2, roberta = trained_models[("gpt2", kind)], trained_models[("roberta", kind)]
    invoke("eval", "lm", gpt2, "--text", long_texts, "--output", tmp_path / "clm")
    clm = results(tmp_path / "clm", "lm")
    assert clm["context"] == SEQ_LEN and clm["texts_windowed"] == len(texts)
    assert clm["perplexity"] == pytest.approx(reference_clm_perplexity(gpt2, texts), rel=1e-4)
    invoke("eval", "lm", roberta, "--text", long_texts, "--wwm", "--output", tmp_path / "mlm")
    mlm = results(tmp_path / "mlm", "lm")
    assert mlm["context"] == SEQ_LEN and mlm["texts_windowed"] == len(texts)
    assert mlm["masked_tokens"] > 0 and math.isfinite(mlm["pseudo_perplexity"])


@pytest.mark.parametrize("kind", KINDS)
def test_eval_jglue_and_classify_for_every_kind(kind, trained_models, shared_data, tmp_path):
    roberta, gpt2 = trained_models[("roberta", kind)], trained_models[("gpt2", kind)]
    out = tmp_path / "out"
    invoke("eval", "jglue", roberta, "--task", "jsts", "--data", shared_data / "jglue", "--max-train-examples", "16",
           "--max-eval-examples", "24", "--output", out)
    jsts, preds = results(out, "jsts"), predictions(out, "jsts")
    gold, pred = [p["gold"] for p in preds], [p["pred"] for p in preds]
    assert jsts["examples"] == 24 and jsts["max_length"] == SEQ_LEN  # the model's limit, not 128
    if np.std(pred) > 0:
        assert jsts["pearson"] == pytest.approx(stats.pearsonr(gold, pred)[0], abs=1e-6)
    invoke("eval", "jglue", roberta, "--task", "jcommonsenseqa", "--data", shared_data / "jglue",
           "--max-train-examples", "8", "--max-eval-examples", "8", "--output", out)
    invoke("eval", "jglue", gpt2, "--task", "jcommonsenseqa", "--data", shared_data / "jglue",
           "--max-eval-examples", "8", "--output", tmp_path / "zero-shot")
    assert results(tmp_path / "zero-shot", "jcommonsenseqa")["protocol"] == "zero-shot log-likelihood"
    data = shared_data / "textclass_ja_toiro_sample"
    invoke("eval", "classify", roberta, "--train", data / "sample.train", "--test", data / "sample.test",
           "--max-train-examples", "16", "--output", out)
    assert results(out, "classify")["examples"] == 50


def igakuqa_counts(folder: Path) -> tuple[Counter, int, int]:
    """Straight from the files: skipped questions per (year, reason), multi-answer questions kept, kept questions."""
    skipped, multi, kept = Counter(), 0, 0
    for path in sorted(folder.glob("*/*.jsonl")):
        if path.name.endswith("_metadata.jsonl"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if not r["text_only"]:
                skipped[(path.parent.name, "needs an image")] += 1
            elif not r["choices"]:
                skipped[(path.parent.name, "no choices")] += 1
            else:
                kept += 1
                multi += len(r["answer"]) > 1
    return skipped, multi, kept


@pytest.mark.parametrize("kind", ["sp-none-dict", "wp-sudachi-dict", "wp-mecab"])
def test_eval_mcqa_scores_multi_answer_questions_and_counts_skips(kind, trained_models, shared_data, tmp_path):
    igakuqa = shared_data / "medical" / "igakuqa"
    out = tmp_path / "out"
    invoke("eval", "mcqa", trained_models[("gpt2", kind)], "--data", igakuqa, "--output", out)
    result, preds = results(out, "mcqa"), predictions(out, "mcqa")
    skipped, multi, kept = igakuqa_counts(igakuqa)
    assert result["examples"] == kept == len(preds) and result["multi_answer"] == multi > 0
    assert result["skipped"] == sum(skipped.values())
    for (year, reason), n in skipped.items():
        assert result["by_group"][year]["skipped"][reason] == n
    assert sorted(result["by_group"]) == ["2018", "2019", "2020"]
    assert result["truncated"] > 0  # clinical vignettes are longer than 64 tokens
    for p in preds:  # the top k choices, k = the number of right answers; right only when the sets are equal
        assert len(p["pred"]) == len(p["gold"]) and p["correct"] == (p["pred"] == p["gold"])
    assert result["accuracy"] == pytest.approx(np.mean([p["correct"] for p in preds]))


def test_mcqa_max_examples_is_a_seeded_sample(trained_models, shared_data, tmp_path):
    model, data = trained_models[("gpt2", "sp-none")], shared_data / "medical" / "igakuqa" / "2019"
    ids = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        invoke("eval", "mcqa", model, "--data", data, "--max-examples", "20", "--seed", seed, "--output", tmp_path / name)
        ids[name] = [p["id"] for p in predictions(tmp_path / name, "mcqa")]
    in_order = [json.loads(l)["problem_id"] for f in sorted(data.glob("*.jsonl")) if "metadata" not in f.name
                for l in f.read_text(encoding="utf-8").splitlines()
                if json.loads(l)["text_only"] and json.loads(l)["choices"]]
    assert ids["a"] == ids["b"] and ids["a"] != ids["c"] and len(ids["a"]) == 20
    assert ids["a"] != in_order[:20] and set(ids["a"]) <= set(in_order)


def test_tokenizer_code_is_trusted_only_when_it_is_jacorpus_own(trained_models, shared_data, tmp_path):
    model = tmp_path / "edited"
    shutil.copytree(trained_models[("roberta", "wp-sudachi-dict")], model)
    assert (model / "tokenization_jacorpus.py").exists()
    text = shared_data / "textclass_ja_toiro_sample" / "sample.txt"
    invoke("eval", "lm", model, "--text", text, "--max-docs", "2", "--output", tmp_path / "ok")  # byte-identical: trusted
    with open(model / "tokenization_jacorpus.py", "a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    assert "--trust-remote-code" in fails("eval", "lm", model, "--text", text, "--max-docs", "2", "--output", tmp_path / "x")
    invoke("eval", "lm", model, "--text", text, "--max-docs", "2", "--trust-remote-code", "--output", tmp_path / "trusted")


def test_jglue_train_split_from_another_folder_and_missing_split_errors(trained_models, shared_data, tmp_path):
    model = trained_models[("roberta", "sp-none")]
    test_only, train_only = tmp_path / "test-only" / "jsts-v1.3", tmp_path / "train-only" / "jsts-v1.3"
    test_only.mkdir(parents=True), train_only.mkdir(parents=True)
    shutil.copy(shared_data / "jglue" / "jsts-v1.3" / "valid-v1.3.json", test_only / "test-v1.3.json")
    shutil.copy(shared_data / "jglue" / "jsts-v1.3" / "train-v1.3.json", train_only / "train-v1.3.json")
    line = fails("eval", "jglue", model, "--task", "jsts", "--data", test_only.parent, "--split", "test",
                 "--max-train-examples", "8", "--max-eval-examples", "8", "--output", tmp_path / "x")
    assert "--train-data" in line and "train-v1.3.json" in line
    invoke("eval", "jglue", model, "--task", "jsts", "--data", test_only.parent, "--split", "test", "--train-data",
           train_only.parent, "--max-train-examples", "8", "--max-eval-examples", "8", "--output", tmp_path / "out")
    assert results(tmp_path / "out", "jsts")["train_examples"] == 8
    assert "--data" in fails("eval", "jglue", model, "--task", "jnli", "--data", test_only.parent, "--output", tmp_path / "y")


def test_model_card_accumulates_tasks_across_runs(trained_models, shared_data, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(trained_models[("roberta", "char-sudachi")], model)
    common = ["--data", shared_data / "jglue", "--max-train-examples", "8", "--max-eval-examples", "8"]
    for task in ("jsts", "jnli", "jcommonsenseqa"):
        split = ["--train-split", "valid"] if task == "jnli" else []  # JNLI's train split is not in shared/
        invoke("eval", "jglue", model, "--task", task, *common, *split, "--output", tmp_path / task)  # separate outputs
    card = (model / "README.md").read_text(encoding="utf-8")
    rows = [l for l in card.splitlines() if l.startswith("| j")]
    assert {r.split("|")[1].strip() for r in rows} == {"jsts", "jnli", "jcommonsenseqa"}
    assert card.count("## Evaluation") == 1 and "trained with the jacorpus deepspeed trainer" in card.lower()
    jnli_rows = [r for r in rows if r.startswith("| jnli ")]
    invoke("eval", "jglue", model, "--task", "jsts", *common[:2], "--max-train-examples", "8", "--max-eval-examples",
           "16", "--output", tmp_path / "again")
    rows = [l for l in (model / "README.md").read_text(encoding="utf-8").splitlines() if l.startswith("| j")]
    assert "| jsts | examples | 16 |" in rows and [r for r in rows if r.startswith("| jnli ")] == jnli_rows


def test_vocabulary_mismatch_is_one_line(trained_models, shared_data, tmp_path):
    model = tmp_path / "mismatch"  # a 3000-row model with a 4000-token tokenizer
    model.mkdir()
    for name in ("model.safetensors", "config.json", "generation_config.json"):
        shutil.copy(trained_models[("gpt2", "wp-sudachi")] / name, model / name)
    for path in trained_models[("gpt2", "sp-none")].iterdir():
        if not (model / path.name).exists() and path.name != "README.md":
            shutil.copy(path, model / path.name)
    line = fails("eval", "lm", model, "--text", shared_data / "textclass_ja_toiro_sample" / "sample.txt", "--output", tmp_path / "x")
    assert "tokens but the model's embedding has" in line


@pytest.mark.parametrize("arch,kind", [("gpt2", k) for k in KINDS] + [("llama", "sp-none-dict"), ("llama", "wp-mecab")])
def test_causal_export_contract(arch, kind, trained_models):
    import torch
    from transformers import AutoModelForCausalLM

    from jacorpus.tokenizers.loading import load_tokenizer

    final = trained_models[(arch, kind)]
    manifest = json.loads((final.parents[1] / "shards" / "manifest.json").read_text())
    ids = manifest["special_ids"]
    config = json.loads((final / "config.json").read_text())
    begin = ids["begin"] if ids["begin"] is not None else ids["end"]
    assert (config["bos_token_id"], config["eos_token_id"]) == (begin, ids["end"])
    generation = json.loads((final / "generation_config.json").read_text())
    assert (generation["bos_token_id"], generation["eos_token_id"]) == (begin, ids["end"])
    tok = load_tokenizer(str(final))
    assert tok.model_max_length == SEQ_LEN
    prompt = tok("吾輩は猫である。", return_tensors="pt")
    body = tok("吾輩は猫である。", add_special_tokens=False)["input_ids"]
    assert prompt["input_ids"][0].tolist() == [begin] + body  # no end-of-document token appended
    if tok.cls_token_id is not None and tok.cls_token_id != begin:
        assert tok.cls_token_id not in prompt["input_ids"][0].tolist()  # not BERT's [CLS] text [SEP]
    model = AutoModelForCausalLM.from_pretrained(final).eval()
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=5, do_sample=False, eos_token_id=None)
    assert out[0, : prompt["input_ids"].shape[1]].tolist() == prompt["input_ids"][0].tolist()
    assert out.shape[1] == prompt["input_ids"].shape[1] + 5


@pytest.mark.parametrize("arch,kind", [("roberta", k) for k in KINDS] + [("deberta-v2", "wp-sudachi-dict")])
def test_masked_export_fills_masks(arch, kind, trained_models):
    from transformers import AutoModelForMaskedLM, pipeline

    from jacorpus.tokenizers.loading import load_tokenizer

    final = trained_models[(arch, kind)]
    tok = load_tokenizer(str(final))
    fill = pipeline("fill-mask", model=AutoModelForMaskedLM.from_pretrained(final), tokenizer=tok)
    found = fill(f"吾輩は{tok.mask_token}である。", top_k=3)
    assert len(found) == 3 and all(0 <= f["score"] <= 1 and f["token"] < len(tok) for f in found)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_mecab_causal_export_encodes_prompts_like_sudachi(arch, trained_models):
    """The MeCab tokenizer class saves the prompt encoding of causal exports as the Sudachi class does: the
    document-begin token, then the text; neither [CLS] nor the end-of-document [SEP] after it."""
    from jacorpus.tokenizers.loading import load_tokenizer

    mecab, sudachi = trained_models[(arch, "wp-mecab")], trained_models[("gpt2", "wp-sudachi-dict")]
    configs = [json.loads((f / "tokenizer_config.json").read_text()) for f in (mecab, sudachi)]
    assert [c["special_tokens_pattern"] for c in configs] == ["bos", "bos"]
    assert [c["auto_map"]["AutoTokenizer"][0] for c in configs] == [
        "tokenization_jacorpus.JacorpusMecabTokenizer", "tokenization_jacorpus.JacorpusJapaneseTokenizer"]
    for final in (mecab, sudachi):
        assert "A prompt encodes as [SEP] + text (special_tokens_pattern bos)." in (final / "README.md").read_text()
        tok = load_tokenizer(str(final))
        ids = tok("吾輩は猫である。")["input_ids"]
        assert ids == [tok.sep_token_id] + tok("吾輩は猫である。", add_special_tokens=False)["input_ids"]
        assert tok.cls_token_id not in ids and tok.sep_token_id not in ids[1:]
