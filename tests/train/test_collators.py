"""Collators (CLM labels, MLM 80/10/10, whole-word masking), word boundaries, and the resumable sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jacorpus.train.data import CLMCollator, DataCursor, MLMCollator, TokenShards, generator_for, micro_batches
from jacorpus.tokenizers.loading import load_tokenizer
from jacorpus.train.words import SudachiWordIds, word_starts


@pytest.fixture(scope="module")
def char_batch(char_wwm_shards):
    shards = TokenShards(str(char_wwm_shards))
    return shards, *shards.read(np.arange(64))


def test_mlm_masks_about_mask_prob_of_ordinary_tokens_80_10_10(char_batch):
    shards, tokens, words = char_batch
    collate = MLMCollator(shards.special_ids, shards.manifest["vocab_size"], mask_prob=0.15)
    batch = collate(tokens, words, generator_for(1, 0, 0))
    ids = torch.from_numpy(tokens)
    special = torch.isin(ids, torch.tensor([shards.special_ids[k] for k in ("cls", "sep")]))
    masked = batch["labels"] != -100
    assert not (masked & special).any()
    assert (batch["labels"][masked] == ids[masked]).all()  # labels are the original tokens
    assert 0.12 < masked.sum().item() / (~special).sum().item() < 0.18
    replaced = batch["input_ids"][masked]
    as_mask = (replaced == shards.special_ids["mask"]).float().mean().item()
    kept = (replaced == ids[masked]).float().mean().item()
    assert 0.72 < as_mask < 0.88 and 0.04 < kept < 0.17
    assert (batch["input_ids"][~masked] == ids[~masked]).all()


def test_masks_are_a_function_of_the_seed(char_batch):
    shards, tokens, words = char_batch
    collate = MLMCollator(shards.special_ids, shards.manifest["vocab_size"], wwm=True)
    a, b = collate(tokens, words, generator_for(1, 5, 3)), collate(tokens, words, generator_for(1, 5, 3))
    c = collate(tokens, words, generator_for(1, 6, 3))
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])
    assert not torch.equal(a["labels"], c["labels"])


def test_whole_word_masking_masks_words_entirely(char_batch):
    shards, tokens, words = char_batch
    collate = MLMCollator(shards.special_ids, shards.manifest["vocab_size"], mask_prob=0.15, wwm=True)
    masked = (collate(tokens, words, generator_for(1, 0, 0))["labels"] != -100).numpy()
    word_index = np.cumsum(words, axis=1)  # tokens of one word share an index within a row
    multi_char_words = chosen = 0
    for row in range(tokens.shape[0]):
        for w in np.unique(word_index[row, 1:-1]):
            span = masked[row][(word_index[row] == w) & (np.arange(64) > 0) & (np.arange(64) < 63)]
            assert span.all() or not span.any(), "a word was masked in part"
            multi_char_words += len(span) > 1
            chosen += span.all()
    assert multi_char_words > 100  # the check above is not vacuous: many words have several characters
    total_words = sum(len(np.unique(word_index[r, 1:-1])) for r in range(tokens.shape[0]))
    assert 0.11 < chosen / total_words < 0.19


def test_clm_labels_are_the_inputs(clm_shards):
    shards = TokenShards(str(clm_shards))
    tokens, words = shards.read(np.array([0, 5, 7]))
    batch = CLMCollator()(tokens, words, generator_for(1, 0, 0))
    assert words is None and batch["input_ids"].dtype == torch.int64
    assert torch.equal(batch["input_ids"], batch["labels"]) and batch["input_ids"].shape == (3, 64)


@pytest.mark.parametrize("fixture", ["char_tokenizer", "spm_tokenizer"])
def test_sudachi_word_ids_follow_sudachi_words(fixture, request):
    """Slow (character BERT, aligned by strings) and fast (offsets) tokenizers both group tokens into Sudachi words."""
    from sudachipy import Dictionary, SplitMode

    tokenizer = load_tokenizer(str(request.getfixturevalue(fixture)))
    text = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
    ids = SudachiWordIds()(tokenizer, text)
    pieces = tokenizer.convert_ids_to_tokens(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert len(ids) == len(pieces)
    words = [m.surface() for m in Dictionary(dict="core").create().tokenize(text, SplitMode.B)]
    if fixture == "char_tokenizer":  # one token per character: the groups spell the words exactly
        groups: dict[int, str] = {}
        for word, piece in zip(ids, pieces):
            groups[word] = groups.get(word, "") + piece
        assert list(groups.values()) == words
    else:  # a subword may span words: each token belongs to the word where its first character is
        morphemes = list(Dictionary(dict="core").create().tokenize(text, SplitMode.B))
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        for word, (begin, end) in zip(ids, offsets):
            first = begin if text[begin] != " " else begin + 1
            assert morphemes[word].begin() <= first < morphemes[word].end()
        assert ids == sorted(ids) and len(set(ids)) > len(words) // 2
    starts = word_starts(ids)
    assert starts[0] == 1 and starts.sum() == len(set(ids))


def test_sudachi_word_ids_on_text_longer_than_sudachi_takes(spm_tokenizer, neko_text):
    text = neko_text.read_text(encoding="utf-8")[:60_000]  # ~180 kB of UTF-8, far above Sudachi's 49,149 bytes
    tokenizer = load_tokenizer(str(spm_tokenizer))
    ids = SudachiWordIds()(tokenizer, text)
    assert len(ids) == len(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert ids == sorted(ids) and ids[-1] > 10_000


def test_cursor_walks_epochs_and_resumes_where_it_stopped():
    ids = np.arange(10, 30)
    cursor = DataCursor(ids, seed=3)
    first_epoch = np.concatenate([cursor.take(8), cursor.take(8), cursor.take(4)])
    assert sorted(first_epoch.tolist()) == ids.tolist() and cursor.epoch == 1 and cursor.offset == 0
    cursor.take(6)
    state = cursor.state_dict()
    expected = cursor.take(30)  # crosses into the third epoch
    resumed = DataCursor(ids, seed=3)
    resumed.load_state_dict(state)
    assert np.array_equal(resumed.take(30), expected)
    with pytest.raises(ValueError, match="training sequences"):
        DataCursor(np.arange(5), seed=3).load_state_dict(state)


def test_micro_batches_split_a_global_batch_across_ranks():
    global_ids = np.arange(16)
    parts = [micro_batches(global_ids, micro=2, world=2, rank=r) for r in range(2)]
    assert all(len(p) == 4 for p in parts)  # 16 = 2 micro x 2 ranks x 4 accumulation steps
    assert sorted(np.concatenate([ids for p in parts for _, ids in p]).tolist()) == list(range(16))
    assert sorted(index for p in parts for index, _ in p) == list(range(8))
