"""Shingle hashes and MinHash signatures are bit-identical to datasketch, and interoperate with its LSH index."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from sklearn.utils import murmurhash3_32

from jacorpus.corpus.dedup import hashing, minhash
from jacorpus.corpus.dedup.hashing import batch_window_murmur3, murmur3_blocks, window_murmur3
from jacorpus.corpus.dedup.minhash import MinHasher, lean_minhash, permutations
from jacorpus.corpus.dedup.shingles import Shingler, char_shingle_hash
from jacorpus.corpus.dedup.textnorm import normalize_for_dedup


def datasketch_signature(shingler: Shingler, text: str, num_perm: int, seed: int, scheme: str) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingler.hashfunc, scheme=scheme)
    m.update_batch(shingler.shingles(text))
    return m.hashvalues


def test_char_shingle_hash_is_murmur3_of_utf32(neko_paragraphs):
    shingler = Shingler("char", 5)
    text = neko_paragraphs[3]
    shingles = shingler.shingles(text)
    hashes = shingler.hashes(text)
    assert len(shingles) == len(hashes) == len(normalize_for_dedup(text)) - 4
    # an independent MurmurHash3 implementation (scikit-learn's C one) on the UTF-32-LE bytes of each shingle
    assert hashes.tolist() == [murmurhash3_32(s.encode("utf-32-le"), seed=0, positive=True) for s in shingles]
    assert hashes.tolist() == [char_shingle_hash(s) for s in shingles]


def test_window_hash_matches_scalar_on_random_tokens():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 2**32, size=300, dtype=np.uint64).astype(np.uint32)
    for n in (1, 3, 5, 9):
        expected = [murmur3_blocks(tokens[i : i + n].tolist()) for i in range(len(tokens) - n + 1)]
        assert window_murmur3(tokens, n).tolist() == expected
    assert window_murmur3(tokens[:2], 5).tolist() == [murmur3_blocks(tokens[:2].tolist())]  # shorter than n


@pytest.fixture(params=["numba", "numpy"])
def kernel_path(request, monkeypatch):
    """Run a test on the compiled (numba) loops and on the pure-numpy fallback."""
    if request.param == "numba":
        assert hashing.compiled_kernels(), "numba is in the lock: the compiled path must be the one in use"
    else:
        monkeypatch.setattr(hashing, "compiled_kernels", lambda: False)
        monkeypatch.setattr(minhash, "compiled_kernels", lambda: False)
    return request.param


def test_numba_off_switch(monkeypatch):
    hashing.compiled_kernels.cache_clear()
    monkeypatch.setenv("JACORPUS_NUMBA", "0")
    assert not hashing.compiled_kernels()
    hashing.compiled_kernels.cache_clear()
    monkeypatch.delenv("JACORPUS_NUMBA")
    assert hashing.compiled_kernels()


def test_batch_hashes_equal_per_document_hashes(neko_paragraphs, kernel_path):
    rng = np.random.default_rng(2)
    tokens = [rng.integers(0, 2**32, size=c, dtype=np.uint64).astype(np.uint32) for c in [0, 3, 9, 5, 0, 1, 40, 4]]
    for n in (1, 4, 5):
        hashes, counts = batch_window_murmur3(np.concatenate(tokens), np.array([t.size for t in tokens]), n)
        expected = [window_murmur3(t, n) for t in tokens]
        assert counts.tolist() == [e.size for e in expected]
        assert hashes.tolist() == np.concatenate(expected).tolist()
    shingler = Shingler()
    texts = neko_paragraphs[:50] + ["", "猫", "ｱｲｳ"]
    hashes, counts = shingler.hash_batch(texts)
    assert np.array_equal(hashes, np.concatenate([shingler.hashes(t) for t in texts]))
    assert counts.tolist() == [len(shingler.shingles(t)) for t in texts]


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7), (256, 3)])
def test_signatures_bit_identical_to_datasketch(scheme, num_perm, seed, neko_paragraphs, law_texts, cc_ja_texts,
                                                kernel_path):
    shingler = Shingler("char", 5)
    texts = neko_paragraphs[:6] + [t[:30_000] for t in list(law_texts.values())[:2]] + cc_ja_texts[:4] + ["猫", ""]
    hasher = MinHasher(num_perm, seed, scheme, max_rows=1024)  # small blocks: batches span several documents
    ours = hasher.signatures_flat(*shingler.hash_batch(texts))
    assert np.array_equal(ours, hasher.signatures([shingler.hashes(t) for t in texts]))
    for text, signature in zip(texts, ours):
        expected = datasketch_signature(shingler, text, num_perm, seed, scheme)
        assert signature.dtype == expected.dtype
        assert np.array_equal(signature, expected)
    a, b = permutations(num_perm, seed, scheme)
    reference = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    assert np.array_equal(a, np.asarray(reference[0], dtype=a.dtype))
    assert np.array_equal(b, np.asarray(reference[1], dtype=b.dtype))


def test_word_shingles_bit_identical_to_datasketch(neko_paragraphs):
    shingler = Shingler("word", 3)
    text = neko_paragraphs[10]
    words = shingler.words(text)
    assert "吾輩" in "".join(words) or len(words) > 20  # Sudachi split the text into words
    ours = MinHasher(128, 1).signature(shingler.hashes(text))
    assert np.array_equal(ours, datasketch_signature(shingler, text, 128, 1, "affine32"))


def test_lean_minhash_and_lsh_interop(law_texts):
    """Our signatures load as LeanMinHash and find a law's other versions through datasketch's MinHashLSH."""
    shingler = Shingler("char", 5)
    hasher = MinHasher(128, 1)
    names = sorted(law_texts)
    signatures = hasher.signatures([shingler.hashes(law_texts[n]) for n in names])
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for name, signature in zip(names, signatures):
        lean = lean_minhash(signature)
        assert isinstance(lean, LeanMinHash)
        buf = bytearray(lean.bytesize())
        lean.serialize(buf)
        assert np.array_equal(LeanMinHash.deserialize(buf).hashvalues, signature)
        lsh.insert(name, lean)
    # query with a sketch datasketch computes itself from the same shingles
    query_name = "346CO0000000264_20180401_429CO0000000286"
    native = MinHash(num_perm=128, seed=1, hashfunc=shingler.hashfunc)
    native.update_batch(shingler.shingles(law_texts[query_name]))
    found = set(lsh.query(native))
    assert query_name in found
    same_law = {n for n in names if n.startswith("346CO0000000264")}
    assert found == same_law  # this cabinet order's versions are all >= 0.99 similar; no other law comes close
    first, second = signatures[names.index(query_name)], signatures[names.index(query_name) - 1]
    assert lean_minhash(first).jaccard(lean_minhash(second)) == np.mean(first == second) > 0.9
