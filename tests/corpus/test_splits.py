"""Splitting a big file into tasks changes nothing: the documents (ids, origins, texts, order) of a split read equal
those of the one-task read of the same file, for every container and record rule, and for several split sizes.

Inputs are built at test time from real files in ../shared/data: Natsume Soseki's novel in the CC-100 layout (one
paragraph per line, documents separated by blank lines, some of them full-width spaces only) as plain text,
multi-block and single-stream xz, multi-frame and single-frame zstd, single-member gzip and bz2, and as JSON lines;
a Common Crawl WARC and a ClueWeb09 WARC/0.18 file as shipped (one gzip member per record) and uncompressed; the
real WET records (20 copies of the file) plain and one member per record; Japanese Wikipedia exports (2006 export
0.3, 2022 export 0.10) cut into multistream .bz2 dumps with their index, the way the dumps are made.
Each split is counted (or cut) by the split stage's function and read with the source's own parser, the way a task
of the plan does it (``read_split``); the reference is ``read_file_safely`` on the whole file."""

from __future__ import annotations

import bz2
import gzip
import io
import json

import pytest
import zstandard

from jacorpus.corpus.sources.compression import open_binary
from jacorpus.corpus.sources.splits import prepare
from jacorpus.pipelines.plan import build_sources, plan_splits
from jacorpus.pipelines.recipe import parse_recipe
from tests.corpus.split_inputs import cc100_layout, multistream_dump, read_both, text_forms, wet_members


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("splits")
    text = cc100_layout((shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_bytes())
    text_forms(d, text, 50_000)
    (d / "neko.single.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(text))
    (d / "neko.single.txt.gz").write_bytes(gzip.compress(text, mtime=0))
    (d / "neko.single.txt.bz2").write_bytes(bz2.compress(text))
    # JSON lines of the same paragraphs
    with open(d / "neko.jsonl", "w", encoding="utf-8") as fh:
        for line in text.decode().splitlines():
            if line.strip():
                fh.write(json.dumps({"text": line}, ensure_ascii=False) + "\n")
    # Common Crawl WARC (50 records) and ClueWeb09 (WARC/0.18, 30 records) as shipped: one gzip member per record;
    # the same records uncompressed; the WET records recompressed one member per record
    w = shared_data / "warc"
    for name, path in (("cc.warc.gz", w / "commoncrawl_CC-MAIN-2020-34_excerpt" / "warcfile.warc.gz"),
                       ("clueweb.warc.gz", w / "clueweb09_ja_excerpt" / "clueweb-quirk.warc.gz")):
        (d / name).write_bytes(path.read_bytes())
        (d / name[:-3]).write_bytes(gzip.decompress(path.read_bytes()))
    # the real WET file holds one conversion record: 20 copies of it in a row stand for a longer one
    raw = (w / "commoncrawl_whirlwind_CC-MAIN-2024-22" / "whirlwind.warc.wet").read_bytes() * 20
    (d / "whirlwind.warc.wet").write_bytes(raw)
    wet_members(raw, d / "members.warc.wet.gz")
    return d


CASES = [
    ("{type: cc100, paths: [neko.txt]}", "seek"),
    ("{type: cc100, paths: [neko.blocks.txt.xz]}", "seek"),
    ("{type: cc100, paths: [neko.frames.txt.zst]}", "seek"),
    ("{type: cc100, paths: [neko.single.txt.xz]}", "cut"),
    ("{type: cc100, paths: [neko.single.txt.zst]}", "cut"),
    ("{type: cc100, paths: [neko.single.txt.gz]}", "cut"),
    ("{type: cc100, paths: [neko.single.txt.bz2]}", "cut"),
    ("{type: text, split: line, paths: [neko.blocks.txt.xz]}", "seek"),
    ("{type: text, split: blank_line, encoding: auto, paths: [neko.txt]}", "seek"),
    ("{type: jsonl, id_field: null, paths: [neko.jsonl]}", "seek"),
    ("{type: medical, format: jsonl, text_fields: [text], paths: [neko.jsonl]}", "seek"),
    ("{type: wet, paths: [whirlwind.warc.wet]}", "seek"),
    ("{type: wet, paths: [members.warc.wet.gz]}", "members"),
    ("{type: warc, extractor: basic, paths: [cc.warc.gz]}", "members"),
    ("{type: warc, extractor: basic, paths: [cc.warc]}", "seek"),
    ("{type: warc, extractor: basic, paths: [clueweb.warc.gz]}", "members"),
    ("{type: warc, extractor: basic, paths: [clueweb.warc]}", "seek"),
]


def uncompressed_size(path) -> int:
    with open_binary(str(path), whole=True) as fh:
        return len(fh.read())


@pytest.mark.parametrize("source_yaml,method", CASES, ids=[c[0].split("paths: [")[1][:-2] + ":" + c[0][7:13] for c in CASES])
@pytest.mark.parametrize("parts", [3, 11])
def test_split_read_equals_one_task_read(inputs, tmp_path, source_yaml, method, parts):
    split_bytes = max(500, uncompressed_size(inputs / source_yaml.split("paths: [")[1][:-2]) // parts)
    splits, got, expected, ledger, expected_ledger = read_both(inputs, source_yaml, split_bytes, tmp_path)
    assert {s.method for s in splits} == {method}
    assert len(splits) >= 2
    assert len(expected) > 10
    assert [g[:2] for g in got] == [e[:2] for e in expected]  # ids and origins, in order
    assert got == expected
    assert ledger["read"] == expected_ledger["read"]
    assert ledger["errors"] == expected_ledger["errors"] == []


def test_origins_are_file_wide_line_numbers(inputs, tmp_path):
    """An independent check of the locators: the line of each origin, looked up in the file, opens the document."""
    _, got, _, _, _ = read_both(inputs, "{type: cc100, paths: [neko.single.txt.xz]}", 60_000, tmp_path)
    lines = (inputs / "neko.txt").read_text(encoding="utf-8").split("\n")
    for _, origin, text in got:
        number = int(origin.rsplit("#L", 1)[1])
        assert lines[number - 1] == text.split("\n")[0]


def test_cut_parts_are_written_once_and_reused(inputs, tmp_path):
    recipe = parse_recipe("name: t\nsplit_bytes: 100000\nsources: [{type: cc100, paths: [neko.single.txt.xz]}]\n"
                          "output: {dir: out}\n", "t.yaml", str(inputs))
    source = build_sources(recipe)[0]
    splits = plan_splits(recipe, [source])
    info = prepare(splits[0], str(tmp_path))
    parts = sorted((tmp_path / "cut" / splits[0].file_key).glob("part-*.zst"))
    assert len(parts) == len(splits) == len(info["parts"])
    whole = b"".join(zstandard.ZstdDecompressor().stream_reader(io.BytesIO(p.read_bytes())).read() for p in parts)
    assert whole == (inputs / "neko.txt").read_bytes()
    stamp = [p.stat().st_mtime_ns for p in parts]
    assert prepare(splits[0], str(tmp_path)) == info  # a rerun finds the cut done
    assert [p.stat().st_mtime_ns for p in parts] == stamp
    assert all(prepare(s, str(tmp_path)) is None for s in splits[1:])


@pytest.fixture(scope="module")
def dumps(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("wiki")
    for name, sample, per_stream in (("jawiki-20220701", "jawiki-2022-07-pages-articles-sample.xml.bz2", 100),
                                     ("jawiki-20060801", "jawiki-2006-08-export-0.3-sample.xml.bz2", 10)):
        dump, index = multistream_dump(bz2.decompress((shared_data / "jawiki_xml" / sample).read_bytes()), per_stream)
        (d / f"{name}-pages-articles-multistream.xml.bz2").write_bytes(dump)
        (d / f"{name}-pages-articles-multistream-index.txt.bz2").write_bytes(index)
        (d / f"{name}-noindex.xml.bz2").write_bytes(dump)  # no index beside it: stream starts are searched
        (d / f"{name}-named.xml.bz2").write_bytes(dump)
    return d


@pytest.mark.parametrize("dump,method,parts", [
    ("jawiki-20220701-pages-articles-multistream.xml.bz2", "index", 3),  # the index beside it, under its usual name
    ("jawiki-20220701-noindex.xml.bz2", "members", 3),
    ("jawiki-20060801-pages-articles-multistream.xml.bz2", "index", 5),
    ("jawiki-20060801-pages-articles-multistream.xml.bz2", "index", 20),
    ("jawiki-20060801-noindex.xml.bz2", "members", 5),
    ("jawiki-20060801-noindex.xml.bz2", "members", 20),
    ("jawiki-20060801-named.xml.bz2, index: jawiki-20060801-pages-articles-multistream-index.txt.bz2", "index", 9),
])
def test_wikipedia_multistream_splits(dumps, tmp_path, dump, method, parts):
    path, _, options = dump.partition(", ")
    split_bytes = max(1000, uncompressed_size(dumps / path) // parts)
    source_yaml = f"{{type: wikipedia, paths: [{path}]" + (f", {options}" if options else "") + "}"
    splits, got, expected, ledger, expected_ledger = read_both(dumps, source_yaml, split_bytes, tmp_path)
    assert {s.method for s in splits} == {method}
    assert len(splits) >= 2
    assert len(expected) > 10
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    assert got == expected
    assert {k: ledger[k] for k in ("read", "dropped", "errors")} == {k: expected_ledger[k] for k in ("read", "dropped", "errors")}
    assert expected_ledger["errors"] == []


@pytest.mark.parametrize("suffix", [".gz"])  # a cut .bz2 of this size keeps no whole 900k block
def test_a_truncated_single_stream_file_splits_like_its_one_task_read(inputs, tmp_path, suffix):
    """Cut mid-stream (60 % of its bytes), the file is still cut into splits; they keep exactly the documents a
    one-task read keeps (the paragraph the fault cut is lost in both) and report the fault once, at the same byte."""
    packed = (inputs / f"neko.single.txt{suffix}").read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(packed[: len(packed) * 6 // 10])
    splits, got, expected, ledger, expected_ledger = read_both(
        tmp_path, f"{{type: cc100, paths: [cut{suffix}]}}", 100_000, tmp_path)
    assert {s.method for s in splits} == {"cut"} and len(splits) >= 2
    assert len(expected) > 100
    assert got == expected
    assert ledger["errors"] == expected_ledger["errors"]
    (error,) = ledger["errors"]
    assert "truncated" in error["message"] and isinstance(error["position"], int)


class ReadCounter(io.RawIOBase):
    """A raw stream over bytes that counts what was read from it (a test probe, not the sources' CountingReader)."""

    def __init__(self, data: bytes) -> None:
        self.inner, self.read_bytes = io.BytesIO(data), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.inner.readinto(buffer)
        self.read_bytes += n
        return n


def test_a_split_inside_one_huge_record_stops_at_the_next_split(shared_data):
    """A split whose whole range lies inside one record (a 10 GB line, a decompression bomb) is empty: it reads up
    to the next split's anchor, not to the record's end (which made the splits of one huge record quadratic)."""
    from jacorpus.corpus.sources.split_streams import AlignedStream, SplitInfo

    line = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8").splitlines()[5]
    huge = line.encode().replace(b"\n", b"") * (4_000_000 // len(line.encode()))  # ~4 MB, no newline
    data = b"first\n" + huge + b"\nlast\n"
    range_bytes = 100_000
    anchor = 1_000_000  # inside the huge line
    raw = ReadCounter(data[anchor:])
    stream = AlignedStream(raw, "line", SplitInfo(anchor, range_bytes, anchor, 1, False), first=False)
    assert stream.read() == b""
    assert raw.read_bytes < range_bytes + (2 << 20)  # its range and one buffer, not the ~3 MB to the line's end
    # the split holding the end of the huge line starts at the line after it
    tail = len(data) - 5 - 50_000
    stream = AlignedStream(ReadCounter(data[tail:]), "line", SplitInfo(tail, None, tail, 1, False), first=False)
    assert stream.read() == b"last\n"


def test_records_over_the_limit_across_many_splits_read_like_one_task(tmp_path, shared_data):
    """A jsonl file with a record of ~3 MB between two ordinary ones, split every 100 kB (about 30 splits inside the
    big record), max_record_bytes 1 MiB: the splits give the one-task read's documents and error entry."""
    lines = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8").splitlines()
    big = "".join(lines[10:400]) * 80
    assert len(big.encode()) > 3_000_000
    with open(tmp_path / "big.jsonl", "w", encoding="utf-8") as fh:
        for text in (lines[2], big, lines[3]):
            fh.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    source = "{type: jsonl, id_field: null, max_record_bytes: 1048576, paths: [big.jsonl]}"
    splits, got, expected, ledger, expected_ledger = read_both(tmp_path, source, 100_000, tmp_path)
    assert len(splits) > 25
    assert [text for _, _, text in got] == [lines[2], lines[3]]
    assert got == expected
    assert len(ledger["errors"]) == len(expected_ledger["errors"]) == 1
    assert ledger["errors"] == expected_ledger["errors"]
