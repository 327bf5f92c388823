"""text-dedup's MinHash on the planted-edit set, run by bench/dedup.py in text-dedup's own venv (not this project's).

    /tmp/tdvenv/bin/python bench/_text_dedup_minhash.py TEXTS.json HASH_FUNC  (prints one JSON object)

text-dedup 0.4.0 cannot share the project's venv (it pins rich<14 and urllib3<=2.0, and pulls pyspark, onnxruntime,
unisim); `python -m venv /tmp/tdvenv && /tmp/tdvenv/bin/pip install text-dedup==0.4.0` works (no torch). This
runs the body of its `text_dedup.minhash.main` in process: its embed_func (hash, permutations, min, band keys),
its band tables, its UnionFind; left out is the Hugging Face datasets load/map/filter/save around it, so the time is
its MinHash work alone (a lower bound on its CLI). Same work as the other contenders: jacorpus's dedup normalization
(textnorm.py, loaded by path: NFKC, lower case, no whitespace) inside the timed part, character 5-grams (text-dedup
splits words with a regex; here the "words" are the characters, so its space-joined 5-grams are exactly the
character 5-grams), 128 permutations, threshold 0.8 with its own band choice (optimal_param: 9x13, as datasketch).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from text_dedup import minhash as td
from text_dedup.utils import UnionFind, optimal_param, sha1_hash, xxh3_32hash

NUM_PERM, THRESHOLD, NGRAM = 128, 0.8, 5


class CharSplit:
    """Stands in for text-dedup's word-splitting regex (NON_ALPHA.split): every character is a token."""

    @staticmethod
    def split(text: str) -> list[str]:
        return list(text)


def main() -> None:
    texts = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    hash_name = sys.argv[2] if len(sys.argv) > 2 else "sha1"
    spec = importlib.util.spec_from_file_location(
        "textnorm", Path(__file__).resolve().parents[1] / "jacorpus" / "corpus" / "dedup" / "textnorm.py")
    textnorm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(textnorm)
    td.NON_ALPHA = CharSplit()
    # as text_dedup.minhash.main with hash_bits 64 (its default)
    dtype, max_hash, prime = np.uint64, np.uint32((1 << 32) - 1), np.uint64((1 << 61) - 1)
    hash_func = (lambda b: sha1_hash(b, d=32)) if hash_name == "sha1" else xxh3_32hash
    bands, rows = optimal_param(THRESHOLD, NUM_PERM, false_positive_weight=0.5, false_negative_weight=0.5)
    ranges = [(i * rows, (i + 1) * rows) for i in range(bands)]
    rng = np.random.RandomState(42)
    perms = (rng.randint(1, prime, size=(NUM_PERM,), dtype=dtype), rng.randint(0, prime, size=(NUM_PERM,), dtype=dtype))

    start = time.process_time()
    tables: list[dict[bytes, set[int]]] = [defaultdict(set) for _ in range(bands)]
    for idx, text in enumerate(texts):
        out = td.embed_func(textnorm.normalize_for_dedup(text), idx, num_perm=NUM_PERM, ngram_size=NGRAM, min_length=0,
                            hashranges=ranges, permutations=perms, hash_func=hash_func, dtype=dtype,
                            max_hash=max_hash, modulo_prime=prime)
        for i, key in enumerate(out[td.SIGNATURE_COLUMN]):
            tables[i][key].add(idx)
    uf = UnionFind()
    for table in tables:
        for cluster in table.values():
            if len(cluster) > 1:
                first = min(cluster)
                for x in cluster:
                    uf.union(x, first)
    labels = [uf.find(i) for i in range(len(texts))]
    cpu = time.process_time() - start
    print(json.dumps({"cpu_s": cpu, "bands": bands, "rows": rows, "hash": hash_name, "labels": labels}))


if __name__ == "__main__":
    main()
