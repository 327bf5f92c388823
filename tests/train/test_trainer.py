"""The DeepSpeed trainer on CPU: each family trains, a killed run resumes exactly, a damaged checkpoint is skipped,
and exports load with AutoModel* (GPT-2 and Llama generate). The recipes under recipes/train are the ones used."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from jacorpus.train.config import load_train_recipe
from jacorpus.train.data import TokenShards, generator_for, make_collator
from jacorpus.train.metrics import read_metrics
from jacorpus.tokenizers.loading import load_tokenizer
from jacorpus.train.trainer import EVAL_STREAM, param_groups, train


TRAIN_RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "train"


def recipe(name: str, tokenizer: Path, shards: Path, output: Path, **overrides):
    return load_train_recipe(
        str(TRAIN_RECIPES / f"{name}.yaml"),
        {"tokenizer": str(tokenizer), "data.shards": str(shards), "output": str(output)} | overrides,
    )


def steps(output) -> list[dict]:
    """Per-step records without the timing fields (those differ between any two runs)."""
    return [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in read_metrics(str(output))]


def exported_eval_loss(final: Path, spec, auto) -> float:
    """The eval loss recomputed with the exported model, the same batches and masks the trainer used."""
    model = auto.from_pretrained(final).eval()
    shards = TokenShards(spec.data.shards)
    _, eval_ids = shards.split(spec.data.eval_fraction)
    collate = make_collator(spec.objective, shards)
    total = count = 0.0
    micro = spec.batch.micro
    with torch.no_grad():
        for b in range(min(spec.eval.max_batches, len(eval_ids) // micro)):
            batch = collate(*shards.read(eval_ids[b * micro : (b + 1) * micro]), generator_for(spec.seed, EVAL_STREAM, b))
            n = int((batch["labels"][:, 1:] != -100).sum()) if spec.objective.type == "clm" else int((batch["labels"] != -100).sum())
            total += model(**batch).loss.item() * n
            count += n
    return total / count


# ------------------------------------------------------------------------------------------------ GPT-2
GPT2 = {"max_steps": 8, "checkpoint.every": 3, "checkpoint.keep": 3, "eval.every": 4}


@pytest.fixture(scope="module")
def gpt2_run(tmp_path_factory, spm_tokenizer, clm_shards):
    spec = recipe("gpt2_word", spm_tokenizer, clm_shards, tmp_path_factory.mktemp("gpt2") / "run", **GPT2)
    return spec, train(spec, progress=False)


def test_gpt2_trains_evaluates_and_exports_a_generating_model(gpt2_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec, summary = gpt2_run
    records = steps(spec.output)
    train_steps = [r for r in records if "loss" in r]
    assert [r["step"] for r in train_steps] == list(range(1, 9))
    assert train_steps[-1]["loss"] < train_steps[0]["loss"] - 0.05
    assert train_steps[-1]["tokens"] == 8 * 8 * 64 and all(r["lr"] > 0 for r in train_steps)
    assert train_steps[1]["lr"] > train_steps[0]["lr"] > train_steps[-1]["lr"]  # warmup, then cosine decay
    assert [r["step"] for r in records if r.get("kind") == "eval"] == [4, 8]
    final = Path(summary["export"])
    assert (final / "model.safetensors").exists() and "eval_ppl" in (final / "README.md").read_text()
    from huggingface_hub import ModelCard

    card = ModelCard.load(final / "README.md", ignore_metadata_errors=False)  # a valid Hub model card
    assert card.data.language == ["ja"] and card.data.library_name == "transformers"
    # the card is uploaded with the model: it names its tokenizer and shards without this machine's paths
    text = (final / "README.md").read_text()
    assert str(spec.output) not in text and str(Path(spec.tokenizer).parent) not in text and "/tmp/" not in text
    assert f"`{Path(spec.data.shards).parent.name}/{Path(spec.data.shards).name}`" in text
    tokenizer = AutoTokenizer.from_pretrained(final)
    model = AutoModelForCausalLM.from_pretrained(final)
    assert model.config.model_type == "gpt2" and model.config._attn_implementation == "sdpa"
    prompt = tokenizer("吾輩は猫である。", return_tensors="pt")
    out = model.generate(**prompt, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 8
    assert isinstance(tokenizer.decode(out[0]), str)
    assert exported_eval_loss(final, spec, AutoModelForCausalLM) == pytest.approx(summary["eval"]["eval_loss"], abs=1e-5)


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory, spm_tokenizer, clm_shards, gpt2_run):
    spec = recipe("gpt2_word", spm_tokenizer, clm_shards, tmp_path_factory.mktemp("gpt2-resume") / "run", **GPT2)
    stopped = train(spec, stop_after=5, progress=False)  # "killed" after step 5; the last checkpoint is step 3
    assert stopped["stopped"] and [r["step"] for r in steps(spec.output) if "loss" in r] == [1, 2, 3, 4, 5]
    train(spec, progress=False)
    return spec


def test_a_killed_run_resumes_with_the_same_losses_step_for_step(gpt2_run, resumed_run):
    spec, _ = gpt2_run
    assert steps(resumed_run.output) == steps(spec.output)  # loss, lr, grad norm, eval: exactly equal in fp32
    a = load_file(str(Path(spec.output) / "final" / "model.safetensors"))
    b = load_file(str(Path(resumed_run.output) / "final" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_damaged_newest_checkpoint_is_skipped_for_the_previous_good_one(gpt2_run, resumed_run, capsys):
    checkpoints = Path(resumed_run.output) / "checkpoints"
    assert sorted(p.name for p in checkpoints.glob("step-*")) == ["step-00000003", "step-00000006", "step-00000008"]
    optim = next((checkpoints / "step-00000008").glob("*optim_states.pt"))
    data = bytearray(optim.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, different content
    optim.write_bytes(bytes(data))
    (checkpoints / "step-00000006" / "complete.json").unlink()  # as if killed while saving step 6
    shutil.rmtree(Path(resumed_run.output) / "final")
    train(resumed_run, progress=False)
    log = capsys.readouterr().out
    assert "skipping checkpoint step-00000008" in log and "corrupted" in log
    assert "skipping checkpoint step-00000006: not completed" in log and "resumed from step 3" in log
    assert steps(resumed_run.output) == steps(gpt2_run[0].output)
    with pytest.raises(RuntimeError, match="checkpoints of another run"):  # a different seed is a different run
        train(resumed_run.model_copy(update={"seed": 2}), progress=False)


# ------------------------------------------------------------------------------------------------ MLM families
def test_char_roberta_with_whole_word_masking(tmp_path, char_tokenizer, char_wwm_shards):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    spec = recipe("roberta_char_wwm", char_tokenizer, char_wwm_shards, tmp_path / "run", max_steps=5,
                  **{"deepspeed.activation_checkpointing": True})
    summary = train(spec, progress=False)
    losses = [r["loss"] for r in read_metrics(spec.output) if "loss" in r]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert 0.0 <= summary["eval"]["eval_accuracy"] <= 1.0 and summary["eval"]["eval_loss"] > 0
    final = Path(summary["export"])
    tokenizer = AutoTokenizer.from_pretrained(final)
    model = AutoModelForMaskedLM.from_pretrained(final)
    assert model.config.model_type == "roberta" and len(tokenizer) == model.config.vocab_size
    inputs = tokenizer("吾輩は[MASK]である。", return_tensors="pt")
    logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], len(tokenizer))
    assert exported_eval_loss(final, spec, AutoModelForMaskedLM) == pytest.approx(summary["eval"]["eval_loss"], abs=1e-5)


def test_deberta_v2_masked_lm_under_zero2(tmp_path, spm_mlm_tokenizer, spm_mlm_shards):
    from transformers import AutoModelForMaskedLM

    spec = recipe("deberta_v2", spm_mlm_tokenizer, spm_mlm_shards, tmp_path / "run", max_steps=3)
    summary = train(spec, progress=False)
    assert len([r for r in read_metrics(spec.output) if "loss" in r]) == 3
    assert next((Path(spec.output) / "checkpoints" / "step-00000003").glob("zero_pp_rank_0_*optim_states.pt"))
    model = AutoModelForMaskedLM.from_pretrained(summary["export"])
    assert model.config.model_type == "deberta-v2" and model.config.relative_attention
    assert "eval_accuracy" in summary["eval"]


# ------------------------------------------------------------------------------------------------ Llama, ZeRO-3
@pytest.fixture(scope="module")
def llama_base(tmp_path_factory, spm_tokenizer) -> Path:
    """A small "pretrained" Llama (random weights) with its own tokenizer, standing in for a released model."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(spm_tokenizer)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    out = tmp_path_factory.mktemp("llama") / "base"
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def medical_tokenizer(tmp_path_factory, llama_base, shared_data, medical_corpus) -> tuple[Path, list[str]]:
    """The base tokenizer plus MANBYO disease names frequent in the case reports (domain terms)."""
    import datasets
    from transformers import AutoTokenizer

    text = "\n".join(datasets.load_from_disk(str(medical_corpus))["text"])
    with open(shared_data / "medical" / "manbyo_dictionary" / "dic.csv", encoding="utf-8", newline="") as fh:
        names = {row[0] for row in csv.reader(fh) if row and len(row[0]) >= 3}
    terms = sorted(names, key=lambda n: (-text.count(n), n))[:12]
    tokenizer = AutoTokenizer.from_pretrained(llama_base)
    assert tokenizer.add_tokens(terms) == 12
    out = tmp_path_factory.mktemp("tok") / "medical"
    tokenizer.save_pretrained(out)
    return out, terms


def test_new_token_rows_start_as_the_mean_of_their_sub_tokens(llama_base, medical_tokenizer):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jacorpus.train.config import ModelSpec
    from jacorpus.train.model import build_model

    path, terms = medical_tokenizer
    tokenizer, base_tokenizer = AutoTokenizer.from_pretrained(path), AutoTokenizer.from_pretrained(llama_base)
    model, handle = build_model(ModelSpec(init_from=str(llama_base)), "clm", tokenizer, 64, {})
    base = AutoModelForCausalLM.from_pretrained(llama_base)
    old = base.config.vocab_size
    assert handle is None and model.config.vocab_size == old + 12
    for weight, base_weight in ((model.model.embed_tokens.weight, base.model.embed_tokens.weight), (model.lm_head.weight, base.lm_head.weight)):
        assert torch.equal(weight[:old], base_weight)
        for term in terms:
            pieces = base_tokenizer(term, add_special_tokens=False)["input_ids"]
            assert len(pieces) >= 1
            assert torch.allclose(weight[tokenizer.convert_tokens_to_ids(term)], base_weight[pieces].mean(0))


@pytest.mark.filterwarnings("ignore:.*all_gather_into_tensor:FutureWarning")  # DeepSpeed's call, not ours
def test_zero3_builds_an_init_from_model_partitioned_and_grows_it(llama_base, medical_tokenizer):
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    from jacorpus.train.distributed import deepspeed_config, init_distributed
    from jacorpus.train.model import build_model, gathered, parameter_count

    init_distributed()
    spec = load_train_recipe(str(TRAIN_RECIPES / "llama_medical_cpt.yaml"), {"model.init_from": str(llama_base)})
    tokenizer = load_tokenizer(str(medical_tokenizer[0]))
    base = AutoModelForCausalLM.from_pretrained(llama_base)  # whole, before ZeRO-3 is switched on
    model, handle = build_model(spec.model, "clm", tokenizer, 64, deepspeed_config(spec, 1))
    try:
        named = dict(model.named_parameters())
        grown = {"model.embed_tokens.weight", "lm_head.weight"}
        assert handle is not None and all(hasattr(p, "ds_id") and p.numel() == 0 for n, p in named.items() if n not in grown)
        # transformers builds resized embeddings whole; DeepSpeed partitions them when the engine starts
        assert named["model.embed_tokens.weight"].shape == (base.config.vocab_size + 12, 64)
        assert torch.equal(named["model.embed_tokens.weight"][: base.config.vocab_size], base.model.embed_tokens.weight)
        assert parameter_count(model) == parameter_count(base) + 12 * 64 * 2  # 12 new rows in embeddings and lm_head
        decay, no_decay = param_groups(model, 0.1)  # by the real shapes, not the empty placeholders
        assert len(decay["params"]) == 2 * 7 + 2 and len(no_decay["params"]) == 2 * 2 + 1
        layer = model.model.layers[0].mlp.down_proj.weight
        with gathered([layer]):
            assert torch.equal(layer, base.model.layers[0].mlp.down_proj.weight)  # the base weights, loaded partitioned
    finally:
        unset_hf_deepspeed_config()


def test_llama_continued_pretraining_under_zero3_loads_partitioned(tmp_path_factory, llama_base, medical_tokenizer, medical_corpus, prepare_shards):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer_dir, terms = medical_tokenizer
    shards = prepare_shards("medical", [(medical_corpus, 1.0)], tokenizer_dir, seq_len=64)
    manifest = json.loads((shards / "manifest.json").read_text())
    domain_ids = AutoTokenizer.from_pretrained(tokenizer_dir).convert_tokens_to_ids(terms)
    seen = np.concatenate([np.load(shards / "chunks" / f"{c['name']}.tokens.npy").ravel() for c in manifest["chunks"]])
    assert np.isin(domain_ids, seen).sum() >= 10  # the added terms occur in the training data
    spec = load_train_recipe(str(TRAIN_RECIPES / "llama_medical_cpt.yaml"), {
        "model.init_from": str(llama_base), "tokenizer": str(tokenizer_dir), "data.shards": str(shards),
        "output": str(tmp_path_factory.mktemp("llama-run") / "run"), "max_steps": 3})
    assert spec.deepspeed.zero_stage == 3
    summary = train(spec, progress=False)
    tag = Path(spec.output) / "checkpoints" / "step-00000003"
    assert (tag / "zero_pp_rank_0_mp_rank_00_model_states.pt").exists()  # ZeRO-3's partitioned layout
    final = Path(summary["export"])
    model = AutoModelForCausalLM.from_pretrained(final)
    base = AutoModelForCausalLM.from_pretrained(llama_base)
    assert model.config.vocab_size == base.config.vocab_size + 12
    # three AdamW steps at lr <= 1e-4 move each weight by at most ~3e-4: the base weights were loaded, not re-initialized
    for name, param in base.named_parameters():
        if "embed_tokens" not in name and "lm_head" not in name:
            assert (dict(model.named_parameters())[name] - param).abs().max() < 2e-3, name
    old = base.config.vocab_size
    assert (model.model.embed_tokens.weight[:old] - base.model.embed_tokens.weight).abs().max() < 2e-3
    tokenizer = AutoTokenizer.from_pretrained(final)
    prompt = tokenizer("症例は７０歳", return_tensors="pt")
    out = model.generate(**prompt, max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 5
