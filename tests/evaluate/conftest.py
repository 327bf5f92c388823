"""Tiny random-init models with a real character-level tokenizer built from the shared Japanese data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def char_tokenizer(texts: list[str], out: Path):
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    chars = sorted({c for t in texts for c in t if not c.isspace()})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>"]
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\S"), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", bos_token="<s>", eos_token="[SEP]")
    fast.save_pretrained(out)
    return fast


@pytest.fixture(scope="session")
def eval_texts(shared_data) -> list[str]:
    texts = []
    for task in ("jsts", "jnli"):
        for line in (shared_data / "jglue" / f"{task}-v1.3" / "valid-v1.3.json").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            texts += [r["sentence1"], r["sentence2"]]
    for line in (shared_data / "jglue" / "jcommonsenseqa-v1.3" / "valid-v1.3.json").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        texts += [r["question"]] + [r[f"choice{i}"] for i in range(5)]
    for name in ("sample.train", "sample.test"):
        texts += [l.split("\t", 1)[-1] for l in (shared_data / "textclass_ja_toiro_sample" / name).read_text().splitlines()]
    for f in sorted((shared_data / "medical" / "igakuqa" / "2018").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            texts += [r.get("problem_text", "")] + list(r.get("choices", []))
    return texts


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, eval_texts):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, RobertaConfig, RobertaForMaskedLM

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("models")
    dirs = {"roberta": root / "roberta", "gpt2": root / "gpt2"}
    tok = char_tokenizer(eval_texts, dirs["roberta"])
    tok.save_pretrained(dirs["gpt2"])
    RobertaForMaskedLM(RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=514, pad_token_id=0,
                                     type_vocab_size=1)).save_pretrained(dirs["roberta"])
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2, n_positions=600,
                               bos_token_id=5, eos_token_id=3)).save_pretrained(dirs["gpt2"])
    return dirs
