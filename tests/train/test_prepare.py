"""Token shards from real corpora: packing, manifest, resume, parallel workers, mixing weights, WWM word starts."""

from __future__ import annotations

import json
import os

import datasets
import numpy as np
import pytest

from jacorpus.train.data import TokenShards
from jacorpus.tokenizers.loading import load_tokenizer
from jacorpus.train.prepare import PrepareJob, prepare
from jacorpus.train.words import default_word_id_fn, word_starts


def chunk(shards_dir, name, kind):
    return np.load(shards_dir / "chunks" / f"{name}.{kind}.npy")


def test_clm_packing_is_the_documents_back_to_back(clm_shards, neko_corpus, spm_tokenizer):
    manifest = json.loads((clm_shards / "manifest.json").read_text())
    tokenizer = load_tokenizer(str(spm_tokenizer))
    first = manifest["chunks"][0]
    tokens = chunk(clm_shards, first["name"], "tokens")
    assert tokens.dtype == np.uint16 and tokens.shape == (first["sequences"], 64)
    texts = [t for t in datasets.load_from_disk(str(neko_corpus))["text"][:400] if t.strip()]
    stream = []
    for text in texts:  # CLM layout: <s> document </s>, back to back
        stream += [tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert tokens.reshape(-1).tolist() == stream[: tokens.size]
    assert len(stream) - tokens.size == json.loads((clm_shards / "chunks" / f"{first['name']}.json").read_text())["dropped_tail_tokens"] < 64
    docs = chunk(clm_shards, first["name"], "docs")
    assert (tokens.reshape(-1)[docs] == tokenizer.bos_token_id).all()
    assert len(docs) == int((tokens == tokenizer.bos_token_id).sum())


def test_manifest_counts_match_the_arrays(clm_shards, neko_corpus):
    manifest = json.loads((clm_shards / "manifest.json").read_text())
    rows = len(datasets.load_from_disk(str(neko_corpus)))
    assert [c["name"] for c in manifest["chunks"]] == [f"s00-r{start:010d}" for start in range(0, rows, 400)]
    assert manifest["sources"][0]["documents"] == rows  # the corpus has no empty documents
    assert manifest["sequences"] == sum(chunk(clm_shards, c["name"], "tokens").shape[0] for c in manifest["chunks"])
    assert manifest["tokens"] == manifest["sequences"] * 64
    assert manifest["dtype"] == "uint16" and manifest["vocab_size"] == 4000
    assert len(TokenShards(str(clm_shards))) == manifest["sequences"]


def test_rerun_skips_finished_chunks_and_redoes_a_killed_one(tmp_path, medical_corpus, spm_tokenizer):
    out = tmp_path / "shards"
    job = dict(corpora=[(str(medical_corpus), 1.0)], tokenizer=str(spm_tokenizer), seq_len=64, out=str(out), chunk_rows=50)
    first = prepare(PrepareJob(**job), progress=False)
    names = [c["name"] for c in first["chunks"]]
    assert len(names) == 3  # 148 case reports in chunks of 50
    before = {n: (out / "chunks" / f"{n}.tokens.npy").read_bytes() for n in names}
    kept_mtime = os.path.getmtime(out / "chunks" / f"{names[0]}.tokens.npy")
    (out / "chunks" / f"{names[1]}.json").unlink()  # killed before its done-marker was written
    (out / "chunks" / f"{names[1]}.tokens.npy").write_bytes(b"half")
    again = prepare(PrepareJob(**job), progress=False)
    assert again == first
    assert {n: (out / "chunks" / f"{n}.tokens.npy").read_bytes() for n in names} == before
    assert os.path.getmtime(out / "chunks" / f"{names[0]}.tokens.npy") == kept_mtime
    with pytest.raises(RuntimeError, match="another request"):
        prepare(PrepareJob(**(job | {"seq_len": 32})), progress=False)
    assert prepare(PrepareJob(**(job | {"seq_len": 32})), progress=False, overwrite=True)["seq_len"] == 32


def test_parallel_workers_write_the_same_shards(tmp_path, medical_corpus, spm_tokenizer):
    job = dict(corpora=[(str(medical_corpus), 1.0)], tokenizer=str(spm_tokenizer), seq_len=64, chunk_rows=50)
    one = prepare(PrepareJob(**job, out=str(tmp_path / "one"), workers=1), progress=False)
    two = prepare(PrepareJob(**job, out=str(tmp_path / "two"), workers=2), progress=False)
    assert one["sequences"] == two["sequences"] > 0
    for c in one["chunks"]:
        for kind in ("tokens", "docs"):
            assert np.array_equal(chunk(tmp_path / "one", c["name"], kind), chunk(tmp_path / "two", c["name"], kind))


def test_a_parquet_corpus_gives_the_same_shards_as_arrow(tmp_path, medical_corpus, medical_parquet_corpus, spm_tokenizer):
    assert not (medical_parquet_corpus / "state.json").exists() and list(medical_parquet_corpus.glob("*.parquet"))
    job = dict(tokenizer=str(spm_tokenizer), seq_len=64, chunk_rows=100)
    arrow = prepare(PrepareJob(corpora=[(str(medical_corpus), 1.0)], out=str(tmp_path / "a"), **job), progress=False)
    parquet = prepare(PrepareJob(corpora=[(str(medical_parquet_corpus), 1.0)], out=str(tmp_path / "p"), **job), progress=False)
    assert parquet["sequences"] == arrow["sequences"] > 0
    for c in arrow["chunks"]:
        assert np.array_equal(chunk(tmp_path / "a", c["name"], "tokens"), chunk(tmp_path / "p", c["name"], "tokens"))


def test_mixing_weights_repeat_or_subsample_a_source(tmp_path, neko_corpus, medical_corpus, spm_tokenizer):
    job = dict(tokenizer=str(spm_tokenizer), seq_len=64, out=str(tmp_path / "mix"))
    manifest = prepare(PrepareJob(corpora=[(str(neko_corpus), 0.5), (str(medical_corpus), 3.0)], **job), progress=False)
    assert [(s["name"], s["weight"]) for s in manifest["sources"]] == [("neko", 0.5), ("medtxt", 3.0)]
    assert manifest["weighted_tokens"] == int(manifest["sources"][0]["tokens"] * 0.5 + manifest["sources"][1]["tokens"] * 3)
    shards = TokenShards(job["out"])
    train, evals = shards.split(0.05)
    source = shards.chunk_source[np.searchsorted(shards.starts, train, side="right") - 1]
    neko_n, med_n = (s["sequences"] for s in manifest["sources"])
    neko_eval, med_eval = -(-neko_n * 5 // 100), -(-med_n * 5 // 100)  # ceil: the tail of each (single) chunk
    assert len(evals) == neko_eval + med_eval
    assert (source == 1).sum() == 3 * (med_n - med_eval)
    assert (source == 0).sum() == round(0.5 * (neko_n - neko_eval))
    assert not set(train.tolist()) & set(evals.tolist())


def test_mlm_wwm_sequences_are_cls_body_sep_with_word_starts(char_wwm_shards, char_tokenizer, neko_corpus):
    manifest = json.loads((char_wwm_shards / "manifest.json").read_text())
    ids = manifest["special_ids"]
    first = manifest["chunks"][0]["name"]
    tokens, words = chunk(char_wwm_shards, first, "tokens"), chunk(char_wwm_shards, first, "words")
    assert (tokens[:, 0] == ids["cls"]).all() and (tokens[:, -1] == ids["sep"]).all()
    assert words.shape == tokens.shape and set(np.unique(words)) == {0, 1}
    assert 0.3 < words[:, 1:-1].mean() < 0.9  # words of one to a few characters
    tokenizer = load_tokenizer(str(char_tokenizer))
    text = datasets.load_from_disk(str(neko_corpus))["text"][0]
    expected = word_starts(default_word_id_fn()(tokenizer, text))
    n = min(len(expected), 62)
    assert words[0, 1 : 1 + n].tolist() == expected[:n].tolist()
    docs = chunk(char_wwm_shards, first, "docs")
    assert docs[0] == 1 and (docs % 64 != 0).all()  # documents start inside bodies, never on cls


def test_mlm_needs_a_mask_token(tmp_path, medical_corpus, spm_tokenizer):
    with pytest.raises(ValueError, match="mask token"):
        prepare(PrepareJob(corpora=[(str(medical_corpus), 1.0)], tokenizer=str(spm_tokenizer), seq_len=64, out=str(tmp_path / "x"), objective="mlm"), progress=False)


def test_large_vocabularies_use_uint32(tmp_path, medical_corpus):
    """Characters of the case reports placed after 66,000 filler entries: their ids only fit in uint32."""
    text = "".join(datasets.load_from_disk(str(medical_corpus))["text"])
    chars = sorted({ch for ch in text if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"[unused{i}]" for i in range(66_000)] + chars
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "BertJapaneseTokenizer", "word_tokenizer_type": "basic", "subword_tokenizer_type": "character"}
    (tmp_path / "big" / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    manifest = prepare(PrepareJob(corpora=[(str(medical_corpus), 1.0)], tokenizer=str(tmp_path / "big"), seq_len=64, out=str(tmp_path / "s")), progress=False)
    assert manifest["vocab_size"] == len(vocab) and manifest["dtype"] == "uint32"
    tokens = chunk(tmp_path / "s", manifest["chunks"][0]["name"], "tokens")
    assert tokens.dtype == np.uint32 and tokens.max() > 65_535
    tokenizer = load_tokenizer(str(tmp_path / "big"))
    assert tokenizer.convert_ids_to_tokens(tokens[0, :3].tolist()) == list(text[:3])  # "症例は" ('７' becomes 7: unknown)
