"""Banding parameters as datasketch derives them, band keys, and candidate edges from buckets."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from jacorpus.corpus.dedup.lsh import (
    band_keys,
    bucket_edges,
    candidate_probability,
    optimal_bands,
    resolve_bands,
    unique_edges,
)
from jacorpus.corpus.dedup.minhash import MinHasher
from jacorpus.corpus.dedup.shingles import Shingler


@pytest.mark.parametrize("num_perm", [32, 128, 256])
def test_optimal_bands_match_datasketch(num_perm):
    for threshold in (0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95):
        assert optimal_bands(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_resolve_bands_explicit_and_errors():
    # the shipped default: weighted for recall (false negatives 0.95, false positives 0.05), pinned
    assert resolve_bands(0.8, 128, None, None) == (16, 8)
    assert resolve_bands(0.8, 256, None, None) == (25, 10)
    assert optimal_bands(0.8, 128, 0.05, 0.95) == _optimal_param(0.8, 128, 0.05, 0.95) == (16, 8)
    assert resolve_bands(0.8, 128, 16, 8) == (16, 8)
    assert resolve_bands(0.8, 128, 20, None) == (20, 6)
    assert resolve_bands(0.8, 128, None, 5) == (25, 5)
    with pytest.raises(ValueError):
        resolve_bands(0.8, 128, 20, 7)
    p = candidate_probability(np.array([0.5, 0.8, 0.95]), 9, 13)
    assert p[0] < 0.1 < p[1] < p[2] and p[2] > 0.99  # the S-curve around the threshold


def test_band_keys_agree_exactly_on_equal_bands():
    rng = np.random.default_rng(1)
    sig = rng.integers(0, 2**32, size=(3, 12), dtype=np.uint64).astype(np.uint32)
    sig[1] = sig[0]
    sig[1, 5] ^= 1  # differs in band 1 (columns 4..7) only
    sig[2, :4] = sig[0, 4:8]  # band 0 of doc 2 holds doc 0's band-1 values: salting keeps them apart
    keys = band_keys(sig, bands=3, rows=4)
    assert keys.shape == (3, 3) and keys.dtype == np.uint64
    assert keys[0, 0] == keys[1, 0] and keys[0, 2] == keys[1, 2] and keys[0, 1] != keys[1, 1]
    assert keys[2, 0] != keys[0, 1]
    assert len(np.unique(keys)) == 7


def test_bucket_edges_star_and_chain():
    keys = np.array([7, 3, 7, 7, 3, 9], dtype=np.uint64)
    docs = np.array([5, 4, 2, 8, 1, 0], dtype=np.int64)
    u, v = bucket_edges(keys, docs)
    assert sorted(zip(u.tolist(), v.tolist())) == [(1, 4), (2, 5), (2, 8)]
    u, v = bucket_edges(keys, docs, chain=True)
    assert sorted(set(zip(u.tolist(), v.tolist()))) == [(1, 4), (2, 5), (2, 8), (5, 8)]
    u, v = unique_edges(np.array([3, 1, 3]), np.array([1, 3, 2]))
    assert list(zip(u.tolist(), v.tolist())) == [(1, 3), (2, 3)]


def test_near_duplicate_law_versions_share_a_bucket(law_texts):
    """Versions of the cabinet order (Jaccard >= 0.99) collide; different laws do not."""
    names = sorted(law_texts)
    shingler, hasher = Shingler(), MinHasher(128, 1)
    sigs = hasher.signatures([shingler.hashes(law_texts[n]) for n in names])
    bands, rows = optimal_bands(0.8, 128)
    keys = band_keys(sigs, bands, rows)
    u, v = unique_edges(*bucket_edges(keys.ravel(), np.repeat(np.arange(len(names)), bands)))
    pairs = {(names[a][:15], names[b][:15]) for a, b in zip(u.tolist(), v.tolist())}
    assert all(a == b for a, b in pairs)  # no edge between two different laws
    order = [i for i, n in enumerate(names) if n.startswith("346CO0000000264")]
    linked = {(a, b) for a, b in zip(u.tolist(), v.tolist())}
    assert all((order[0], b) in linked for b in order[1:])  # each bucket links its first member to the others
