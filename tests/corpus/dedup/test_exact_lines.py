"""Exact keys of normalized text, CCNet-style frequent lines, and the key-range spill files."""

from __future__ import annotations

import numpy as np

from jacorpus.corpus.dedup.exact import exact_key, exact_keys
from jacorpus.corpus.dedup.lines import document_line_keys, frequent_keys, line_keys, normalize_line, remove_lines
from jacorpus.corpus.dedup.spill import KEY_DOC, SpillWriter, partition_count, partition_of, read_partition


def test_exact_key_ignores_width_case_and_wrapping(neko_paragraphs):
    text = neko_paragraphs[0]
    wrapped = "\n".join(text[i : i + 30] for i in range(0, len(text), 30))
    assert exact_key(text) == exact_key(wrapped) == exact_key(" " + text.replace("。", "。\u3000"))
    assert exact_key("ＪＡＰＡＮ　２０２４年") == exact_key("japan 2024年")
    assert exact_key(text) != exact_key(text[:-1])
    keys = exact_keys(neko_paragraphs[:200])
    assert len(set(keys.tolist())) == len(set(neko_paragraphs[:200]))
    assert exact_key(" \n ") == 0  # nothing left: no key, never a duplicate


def test_line_keys_fold_digits_and_count_once_per_document(cc_ja_texts):
    assert normalize_line("　第１２回　2024年 ") == "第00回0000年"
    doc = "ヘッダー\n本文です。\n\nヘッダー\n"
    keys = line_keys(doc)
    assert keys[0] == keys[3] and keys[2] == 0 and keys[4] == 0
    assert document_line_keys(doc).size == 2
    footer = "Copyright © 2019 株式会社サンプル All Rights Reserved."
    docs = [t + "\n" + footer.replace("2019", str(2000 + i)) for i, t in enumerate(cc_ja_texts[:5])]
    counted = np.concatenate([document_line_keys(d) for d in docs])
    frequent = frequent_keys(counted, min_count=3)
    assert frequent.size == 1  # only the footer: the pages share no other line
    cleaned, removed = remove_lines(docs[0], frequent)
    assert removed == 1 and cleaned == cc_ja_texts[0].strip("\n")
    assert remove_lines(cc_ja_texts[6], frequent) == (cc_ja_texts[6], 0)


def test_spill_partitions_are_key_ranges(tmp_path):
    rng = np.random.default_rng(5)
    parts = 4
    records = np.empty(10_000, dtype=KEY_DOC)
    records["key"] = rng.integers(0, 2**63, records.size, dtype=np.uint64) * np.uint64(2)
    records["doc"] = np.arange(records.size)
    for rank, chunk in enumerate(np.array_split(records, 3)):
        writer = SpillWriter(str(tmp_path), rank, parts, KEY_DOC, flush_records=1000)
        writer.add(chunk)
        assert writer.close() == chunk.size
    loaded = [read_partition(str(tmp_path), p, KEY_DOC) for p in range(parts)]
    assert sum(x.size for x in loaded) == records.size
    for p, chunk in enumerate(loaded):
        assert (partition_of(chunk["key"], parts) == p).all()
        assert 1500 < chunk.size < 3500  # uniform keys: even partitions
    assert max(loaded[0]["key"]) < min(loaded[1]["key"])
    rewrite = SpillWriter(str(tmp_path), 0, parts, KEY_DOC)  # a task rerun removes what it wrote before
    rewrite.close()
    assert sum(read_partition(str(tmp_path), p, KEY_DOC).size for p in range(parts)) == records.size - 3334
    assert partition_count(1_000_000, 16, 256) == 1 and partition_count(10_000_000, 16, 256) == 3
