"""The dedup normalization equals NFKC + lower case + whitespace removal, on real and adversarial text."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest

from jacorpus.corpus.dedup import hashing
from jacorpus.corpus.dedup.textnorm import codepoints, codepoints_batch, nfkc, normalize_for_dedup


def test_fast_nfkc_equals_unicodedata(neko_paragraphs, cc_ja_texts, law_texts):
    texts = neko_paragraphs[:300] + cc_ja_texts + [t[:20_000] for t in law_texts.values()]
    assert all(nfkc(t) == unicodedata.normalize("NFKC", t) for t in texts)
    rng = random.Random(0)
    blocks = [(0x20, 0x7F), (0x300, 0x370), (0x1100, 0x1200), (0x3000, 0x3100), (0x3130, 0x3190), (0xFF00, 0xFFF0),
              (0x2460, 0x24FF), (0x3300, 0x3400), (0xAC00, 0xAC20), (0x1D400, 0x1D420), (0x2F800, 0x2F810)]
    for _ in range(3000):  # combining marks, half-width dakuten, jamo, enclosed and squared forms next to each other
        text = "".join(chr(rng.randrange(*rng.choice(blocks))) for _ in range(rng.randrange(1, 10)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), ascii(text)


def test_normalize_for_dedup():
    assert normalize_for_dedup("ＡＢＣ　ｄｅｆ\n１２３ ﾃｽﾄ ﾊﾟﾝ") == "abcdef123テストパン"
    assert normalize_for_dedup("①㍻…") == "1平成..."
    assert codepoints("猫a").tolist() == [ord("猫"), ord("a")]


@pytest.mark.parametrize("compiled", [True, False])
def test_codepoints_batch_equals_the_string_path(compiled, monkeypatch, neko_paragraphs, cc_ja_texts, law_texts):
    """The per-character table (numba) and the fallback give exactly codepoints(normalize_for_dedup(t))."""
    if compiled:
        assert hashing.compiled_kernels()
    else:
        monkeypatch.setattr(hashing, "compiled_kernels", lambda: False)
    rng = random.Random(1)
    blocks = [(0x0, 0x250), (0x300, 0x400), (0x1100, 0x1200), (0x2000, 0x2070), (0x2100, 0x2190), (0x2460, 0x24FF),
              (0x3000, 0x3100), (0x3130, 0x3190), (0x3300, 0x3400), (0xAC00, 0xAC20), (0xFB00, 0xFB10),
              (0xFDF0, 0xFE00), (0xFF00, 0xFFF0), (0x1D400, 0x1D420), (0x2F800, 0x2F810)]
    adversarial = ["".join(chr(rng.randrange(*rng.choice(blocks))) for _ in range(rng.randrange(0, 12)))
                   for _ in range(6000)]  # sigma, dakuten, jamo, ligatures, squared words, spaces, controls
    real = neko_paragraphs[:200] + cc_ja_texts + [t[:20_000] for t in law_texts.values()]
    real.append("ＡＢＣ　ｄｅｆ\n１２３ ﾃｽﾄ ﾊﾟﾝ…℃㍻ ΣΑΣ ΟΔΟΣ")
    for batch in [real, [], [""], *(adversarial[k : k + 300] for k in range(0, len(adversarial), 300))]:
        flat, counts = codepoints_batch(batch)
        expected = [codepoints(normalize_for_dedup(t)) for t in batch]
        assert counts.tolist() == [e.size for e in expected]
        assert flat.tolist() == (np.concatenate(expected).tolist() if expected else [])
