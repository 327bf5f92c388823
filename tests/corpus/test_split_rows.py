"""CSV/TSV medical files split at row starts (split_rows.py): quoted fields hold newlines, so a split read equals the
one-task read only if every split starts where the reader starts a row. The reference is the one-task read of the
same file (``read_file_safely``); compared: ids, origins (file-wide line numbers), texts, order, error entries.

Real data: the JMED-LLM sets in ../shared/data/medical/jmed_llm (every row's ``question`` holds the source text over
several lines). Crafted: a file whose quoted fields hold lines that look like rows (``7,fake,row``), with split
anchors inside them, a literal quote in an unquoted field, a malformed row, a UTF-8 BOM, and a TSV without header
(``columns``)."""

from __future__ import annotations

import csv
import io
import shutil

import pytest

from tests.corpus.split_inputs import multi_block_xz, read_both

JMED = ("all_SMDIS.csv", "all_CRADE.csv")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("split-rows")
    for name in JMED:
        shutil.copyfile(shared_data / "medical" / "jmed_llm" / name, d / name)
    smdis = (d / "all_SMDIS.csv").read_bytes()
    multi_block_xz(smdis, d / "smdis.csv.xz", 200_000)
    # the same rows as TSV without its header row (recipe's ``columns``)
    rows = list(csv.reader(io.StringIO(smdis.decode("utf-8"), newline="")))
    out = io.StringIO(newline="")
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(rows[1:3000])
    (d / "smdis.tsv").write_text(out.getvalue(), encoding="utf-8")
    (d / "crafted.csv").write_bytes(crafted()[0])
    return d


def crafted() -> tuple[bytes, list[tuple[int, int]]]:
    """(file, byte ranges of quoted fields' lines shaped like rows): a split starting at the next line start after
    an anchor in such a range would read a bogus row (``7,fake,row``)."""
    out, inside = [b"\xef\xbb\xbfid,text,note\n"], []
    for i in range(400):
        at = sum(map(len, out))
        if i % 50 == 17:
            row = f'{i},ab"c,literal quote in an unquoted field\n'
        elif i % 97 == 5:
            row = f'{i},"unclosed"x,malformed\n'  # strict csv: an error entry, reading goes on at the next line
        else:
            fake = "\n".join(f"{i + k},fake,row" for k in range(1 + i % 4))
            head = f'{i},"本文 {i}：症状は""発熱""。\n'.encode()
            row = f'{i},"本文 {i}：症状は""発熱""。\n{fake}\n終わり",note {i}\n'
            inside.append((at + len(head), at + len(head) + len(fake.encode()) + 1))
        out.append(row.encode("utf-8"))
    return b"".join(out), inside


CASES = [
    ("{type: medical, format: csv, text_fields: [question], paths: [all_SMDIS.csv]}", 3_712_620),
    ("{type: medical, format: csv, text_fields: [question, optionA], id_field: tag, paths: [all_CRADE.csv]}", 3_409_354),
    ("{type: medical, format: csv, text_fields: [question], paths: [smdis.csv.xz]}", 3_712_620),
    ("{type: medical, format: tsv, text_fields: [b], columns: [a, b, c, d, e], paths: [smdis.tsv]}", None),
    ("{type: medical, format: csv, text_fields: [text, note], id_field: id, paths: [crafted.csv]}", None),
]


@pytest.mark.parametrize("source_yaml,size", CASES, ids=[c[0].split("paths: [")[1][:-2] for c in CASES])
@pytest.mark.parametrize("parts", [4, 13])
def test_csv_split_read_equals_one_task_read(folder, tmp_path, source_yaml, size, parts):
    name = source_yaml.split("paths: [")[1][:-2]
    if size is not None:  # the real files as the provenance lists them
        assert (folder / name).stat().st_size == size or name.endswith(".xz")
    total = size or (folder / name).stat().st_size
    splits, got, expected, ledger, expected_ledger = read_both(folder, source_yaml, total // parts, tmp_path)
    assert {s.method for s in splits} == {"rows"} and len(splits) >= min(parts - 1, 9)
    assert len(expected) > 300
    assert [g[:2] for g in got] == [e[:2] for e in expected]  # ids and file-wide line numbers, in order
    assert got == expected
    assert ledger["read"] == expected_ledger["read"]
    assert ledger["errors"] == expected_ledger["errors"]
    assert ledger["dropped"] == expected_ledger["dropped"]


@pytest.mark.parametrize("parts", [2, 7, 17, 49])
def test_crafted_anchors_inside_quoted_fields(folder, tmp_path, parts):
    """Split anchors inside quoted fields whose lines look like rows, a literal quote, malformed rows, a BOM."""
    data, inside = crafted()
    assert (folder / "crafted.csv").read_bytes() == data
    yaml = "{type: medical, format: csv, text_fields: [text, note], id_field: id, paths: [crafted.csv]}"
    splits, got, expected, ledger, expected_ledger = read_both(folder, yaml, -(-len(data) // parts), tmp_path)
    anchors = [s.anchor for s in splits[1:]]
    assert len(splits) == parts
    assert sum(any(lo <= a < hi for lo, hi in inside) for a in anchors) >= max(1, parts // 4)
    assert len(expected) == 400 - 5  # rows 5, 102, 199, 296, 393 are malformed; a literal quote is kept
    assert [doc[0] for doc in expected[:3]] == ["0", "1", "2"] and "ab\"c" in expected[17][2] + expected[16][2]
    assert got == expected
    assert ledger["errors"] == expected_ledger["errors"]
    malformed = [data.index(f'\n{i},"unclosed"'.encode()) for i in (5, 102, 199, 296, 393)]
    assert [e["position"] for e in expected_ledger["errors"]] == [{"line": data[:m].count(b"\n") + 2} for m in malformed]
