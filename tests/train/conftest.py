"""Real corpora (built by jacorpus from shared data), real tokenizers and token shards, once per session."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe

REPO = Path(__file__).resolve().parents[2]
TRAIN_RECIPES = REPO / "recipes" / "train"


def build_corpus(directory: Path, name: str, source: str, fmt: str = "arrow") -> Path:
    """A jacorpus output folder from a one-source recipe (``source`` is the YAML of the source entry)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = f"name: {name}\nsources:\n  - {source}\noutput: {{dir: out, format: {fmt}}}\n"
    plan = build_plan(parse_recipe(text, "<test>", str(directory)), None)
    run_local(plan, workers=1, progress=False)
    return directory / "out"


def medtxt_plain_text(xml: Path, out: Path) -> Path:
    """MedTxt-CR case reports as plain text (tags stripped), one blank-line separated block per report."""
    body = xml.read_text(encoding="utf-8")
    articles = re.findall(r"<article [^>]*>(.*?)</article>", body, flags=re.S)
    blocks = ["\n".join(line.strip() for line in re.sub(r"<[^>]+>", "", a).splitlines() if line.strip()) for a in articles]
    out.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return out


def train_spm(text_file: Path, directory: Path, vocab_size: int) -> Path:
    import sentencepiece as spm

    directory.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=str(text_file), model_prefix=str(directory / "tokenizer"), vocab_size=vocab_size, model_type="unigram",
        character_coverage=0.995, unk_id=0, bos_id=1, eos_id=2, pad_id=3, user_defined_symbols=["[MASK]", "[CLS]", "[SEP]"],
        num_threads=1, minloglevel=2,
    )
    return directory


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Tiny models on a shared 2-core machine: one intra-op thread is several times faster than two (no OpenMP
    threads spinning against other processes). Restored afterwards for the rest of the suite."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def neko_text(shared_data) -> Path:
    return shared_data / "plain_text_ja_neko_aozora" / "neko.txt"


@pytest.fixture(scope="session")
def neko_corpus(tmp_path_factory, neko_text) -> Path:
    return build_corpus(tmp_path_factory.mktemp("neko"), "neko", f"{{name: neko, type: text, split: blank_line, paths: ['{neko_text}']}}")


@pytest.fixture(scope="session")
def medical_corpus(tmp_path_factory, shared_data) -> Path:
    tmp = tmp_path_factory.mktemp("medical")
    text = medtxt_plain_text(shared_data / "medical" / "medtxt_cr_ja" / "MedTxt-CR-JA-training.xml", tmp / "medtxt.txt")
    return build_corpus(tmp, "medtxt", f"{{name: medtxt, type: text, split: blank_line, paths: ['{text}']}}")


@pytest.fixture(scope="session")
def medical_parquet_corpus(tmp_path_factory, medical_corpus) -> Path:
    """The same case reports written as Parquet shards (output.format: parquet)."""
    text = medical_corpus.parent / "medtxt.txt"
    return build_corpus(tmp_path_factory.mktemp("medical-pq"), "medtxt", f"{{name: medtxt, type: text, split: blank_line, paths: ['{text}']}}", "parquet")


@pytest.fixture(scope="session")
def spm_tokenizer(tmp_path_factory, neko_text) -> Path:
    """A SentencePiece unigram model trained on the novel, as tokenizer.model for AutoTokenizer."""
    return train_spm(neko_text, tmp_path_factory.mktemp("tok") / "spm", 4000)


@pytest.fixture(scope="session")
def spm_mlm_tokenizer(tmp_path_factory, spm_tokenizer) -> Path:
    """The same pieces with [CLS] [SEP] [MASK] declared as special tokens (they are pieces already)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(spm_tokenizer)
    tokenizer.add_special_tokens({"mask_token": "[MASK]", "cls_token": "[CLS]", "sep_token": "[SEP]"})
    out = tmp_path_factory.mktemp("tok") / "spm-mlm"
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def char_tokenizer(tmp_path_factory, neko_text) -> Path:
    """Character-level BertJapaneseTokenizer: every character seen twice in the novel."""
    counts = collections.Counter(ch for ch in neko_text.read_text(encoding="utf-8") if not ch.isspace())
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [ch for ch, n in counts.most_common() if n >= 2]
    out = tmp_path_factory.mktemp("tok") / "char"
    out.mkdir()
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "BertJapaneseTokenizer", "word_tokenizer_type": "basic", "subword_tokenizer_type": "character",
              "do_lower_case": False}
    (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


def prepared(tmp_path_factory, name: str, corpora, tokenizer: Path, **options) -> Path:
    from jacorpus.train.prepare import PrepareJob, prepare

    out = tmp_path_factory.mktemp("shards") / name
    prepare(PrepareJob(corpora=[(str(c), w) for c, w in corpora], tokenizer=str(tokenizer), out=str(out), **options), progress=False)
    return out


@pytest.fixture(scope="session")
def clm_shards(tmp_path_factory, neko_corpus, spm_tokenizer) -> Path:
    return prepared(tmp_path_factory, "clm", [(neko_corpus, 1.0)], spm_tokenizer, seq_len=64, chunk_rows=400)


@pytest.fixture(scope="session")
def char_wwm_shards(tmp_path_factory, neko_corpus, char_tokenizer) -> Path:
    return prepared(tmp_path_factory, "char-wwm", [(neko_corpus, 1.0)], char_tokenizer, seq_len=64, objective="mlm", wwm=True)


@pytest.fixture(scope="session")
def spm_mlm_shards(tmp_path_factory, neko_corpus, spm_mlm_tokenizer) -> Path:
    return prepared(tmp_path_factory, "spm-mlm", [(neko_corpus, 1.0)], spm_mlm_tokenizer, seq_len=64, objective="mlm")


@pytest.fixture(scope="session")
def prepare_shards(tmp_path_factory):
    """prepare_shards(name, [(corpus, weight)], tokenizer, **options) -> token-shard folder."""
    return lambda *args, **options: prepared(tmp_path_factory, *args, **options)


@pytest.fixture(scope="session")
def train_recipes() -> Path:
    return TRAIN_RECIPES
