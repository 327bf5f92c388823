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


# ------------------------------------------------------------------ jacorpus-built tokenizers and trained models
# Every tokenizer kind `jacorpus tokenizer train` builds, trained on a jacorpus corpus of real case reports and
# prose, with a dictionary built by `dict build` from real MANBYO rows; tiny models trained on them with seq_len 64
# by the real trainer (prepare -> DeepSpeed on CPU -> export), as a user would first train one.
SEQ_LEN = 64
TOKENIZER_KINDS = {
    "char-sudachi": {"kind": "char", "vocab_size": 3000, "pretokenizer": {"type": "sudachi", "mode": "C"}},
    "sp-none": {"kind": "sentencepiece", "vocab_size": 4000, "character_coverage": 0.995},
    "sp-none-dict": {"kind": "sentencepiece", "vocab_size": 4000, "character_coverage": 0.995, "dictionary": "DICT", "dictionary_max_share": 0.2},
    "sp-sudachi-dict": {"kind": "sentencepiece", "vocab_size": 4000, "character_coverage": 0.995, "pretokenizer": {"type": "sudachi", "mode": "C"},
                        "dictionary": "DICT", "dictionary_max_share": 0.2},
    "wp-sudachi-dict": {"kind": "wordpiece", "vocab_size": 3000, "pretokenizer": {"type": "sudachi", "mode": "C"},
                        "dictionary": "DICT", "dictionary_max_share": 0.2},
    "wp-sudachi": {"kind": "wordpiece", "vocab_size": 3000, "pretokenizer": {"type": "sudachi", "mode": "A"}},
    "wp-mecab": {"kind": "wordpiece", "vocab_size": 3000, "pretokenizer": {"type": "mecab"}},
}
TINY = {"gpt2": {"n_layer": 1, "n_embd": 32, "n_head": 2},
        "roberta": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64},
        "llama": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "num_key_value_heads": 2,
                  "intermediate_size": 64},
        "deberta-v2": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}}


@pytest.fixture(scope="session")
def built_corpus(tmp_path_factory, shared_data) -> Path:
    """MedTxt case reports and the first chapters of 吾輩は猫である, through a jacorpus `text` recipe."""
    import re

    import yaml

    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import load_recipe

    work = tmp_path_factory.mktemp("eval-corpus")
    xml = (shared_data / "medical" / "medtxt_cr_ja" / "MedTxt-CR-JA-training.xml").read_text(encoding="utf-8")
    reports = [re.sub(r"<[^>]+>", "", a).strip() for a in re.findall(r"<article[^>]*>(.*?)</article>", xml, flags=re.S)]
    neko = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")[:150_000]
    (work / "text.txt").write_text("\n\n".join(reports) + "\n\n" + neko, encoding="utf-8")
    recipe = {"name": "eval-corpus", "sources": [{"type": "text", "name": "mixed", "split": "blank_line",
                                                  "paths": [str(work / "text.txt")]}], "output": {"dir": "out"}}
    (work / "r.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    run_local(build_plan(load_recipe(str(work / "r.yaml"))), workers=1, progress=False, overwrite=False)
    return work / "out"


@pytest.fixture(scope="session")
def built_dictionary(built_corpus, shared_data, tmp_path_factory) -> Path:
    """`dict build` with MANBYO rows found in the case reports (and every 100th other row) as seeds."""
    import unicodedata

    from jacorpus.tokenizers.dictionary import DictionaryBuilder, DictionaryOptions

    text = unicodedata.normalize("NFKC", (built_corpus.parent / "text.txt").read_text(encoding="utf-8"))
    lines = (shared_data / "medical" / "manbyo_dictionary" / "dic.csv").read_bytes().decode("utf-8").splitlines(keepends=True)
    kept = [ln for i, ln in enumerate(lines) if i % 100 == 0 or unicodedata.normalize("NFKC", ln.split(",")[0]) in text]
    seeds = tmp_path_factory.mktemp("seeds") / "manbyo.csv"
    seeds.write_bytes("".join(kept).encode("utf-8"))
    out = tmp_path_factory.mktemp("dict") / "medical"
    DictionaryBuilder([str(built_corpus)], str(out), DictionaryOptions(seeds=[str(seeds)])).run(progress=False)
    return out


class Built(dict):
    """Built on first use and kept for the session, so a test run selected with -k builds only what it reads."""

    def __init__(self, make, keys) -> None:
        super().__init__()
        self.make, self.known = make, list(keys)

    def __missing__(self, key):
        if key not in self.known:
            raise KeyError(key)
        self[key] = value = self.make(key)
        return value


@pytest.fixture(scope="session")
def built_tokenizers(built_corpus, built_dictionary, tmp_path_factory) -> dict[str, Path]:
    import yaml

    from jacorpus.tokenizers.recipe import load_tokenizer_recipe
    from jacorpus.tokenizers.train import train_tokenizer

    work = tmp_path_factory.mktemp("eval-tokenizers")

    def build(name: str) -> Path:
        spec = {"name": name, **TOKENIZER_KINDS[name]}
        if spec.get("dictionary") == "DICT":
            spec["dictionary"] = str(built_dictionary)
        (work / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        train_tokenizer(load_tokenizer_recipe(str(work / f"{name}.yaml")), [str(built_corpus)], str(work / name), progress=False)
        return work / name

    return Built(build, TOKENIZER_KINDS)


def train_tiny(arch: str, tokenizer: Path, corpus: Path, out: Path, steps: int = 2) -> Path:
    """prepare + train run with the real trainer; returns OUTPUT/final."""
    import yaml

    from jacorpus.train.config import parse_train_recipe
    from jacorpus.train.families import family
    from jacorpus.train.prepare import PrepareJob, prepare
    from jacorpus.train.trainer import train

    objective = "clm" if family(arch).causal else "mlm"
    shards = out / "shards"
    prepare(PrepareJob(corpora=[(str(corpus), 1.0)], tokenizer=str(tokenizer), seq_len=SEQ_LEN, out=str(shards),
                       objective=objective, chunk_rows=500), progress=False)
    recipe = {"name": f"{arch}-{tokenizer.name}", "model": {"arch": arch, "config": TINY[arch]},
              "tokenizer": str(tokenizer), "data": {"shards": str(shards), "eval_fraction": 0.05},
              "objective": {"type": objective}, "optim": {"lr": 1.0e-3, "warmup_steps": 1},
              "batch": {"micro": 2, "global": 2}, "checkpoint": {"every": 100, "keep": 1},
              "eval": {"every": 100, "max_batches": 1}, "max_steps": steps, "seed": 1, "output": str(out / "run")}
    summary = train(parse_train_recipe(yaml.safe_dump(recipe), "<test>", str(out)), progress=False)
    return Path(summary["export"])


@pytest.fixture(scope="session")
def trained_models(built_tokenizers, built_corpus, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """(arch, tokenizer kind) -> exported model: GPT-2 and RoBERTa on every kind; Llama and DeBERTa-v2 on some."""
    import os

    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    root = tmp_path_factory.mktemp("eval-models")
    pairs = [(arch, kind) for kind in TOKENIZER_KINDS for arch in ("gpt2", "roberta")]
    pairs += [("llama", "sp-none-dict"), ("llama", "wp-mecab"), ("deberta-v2", "wp-sudachi-dict")]
    return Built(lambda pair: train_tiny(pair[0], built_tokenizers[pair[1]], built_corpus, root / "-".join(pair)),
                 pairs)
