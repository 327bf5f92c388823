"""Builders of split test inputs from real files (shared by tests/corpus/test_splits.py and
tests/pipelines/test_split_plan.py)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import re

import zstandard

from jacorpus.corpus.ledger import Ledger
from jacorpus.corpus.sources.splits import prepare, read_split
from jacorpus.corpus.steps import TaskContext
from jacorpus.pipelines.plan import build_sources, plan_splits
from jacorpus.pipelines.recipe import parse_recipe


def cc100_layout(neko: bytes) -> bytes:
    """Paragraph lines of the novel grouped into documents of 1-6 lines; every 7th separator is full-width spaces."""
    lines = [line.strip() for line in neko.decode("utf-8").splitlines() if line.strip()]
    out, k, doc = [], 0, 0
    while k < len(lines):
        size = 1 + doc % 6
        out.extend(lines[k : k + size])
        out.append("\u3000\u3000" if doc % 7 == 3 else "")
        k, doc = k + size, doc + 1
    return ("\n".join(out) + "\n").encode("utf-8")


def multistream_dump(xml: bytes, pages_per_stream: int) -> tuple[bytes, bytes]:
    """A MediaWiki export as the dumps are made: the header (siteinfo) in its own bz2 stream, then one stream per
    ``pages_per_stream`` pages, ``</mediawiki>`` in the last; the index lists ``offset:pageid:title`` per page."""
    lines = xml.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith(b"<page>"))
    header, body = b"".join(lines[:first]), b"".join(lines[first:])
    body = body.split(b"</mediawiki>")[0]
    pages = re.findall(rb"[ \t]*<page>.*?</page>\r?\n", body, flags=re.S)
    out, index = [bz2.compress(header)], []
    offset = len(out[0])
    for k in range(0, len(pages), pages_per_stream):
        group = pages[k : k + pages_per_stream]
        for page in group:
            page_id = re.search(rb"<id>(\d+)</id>", page).group(1)
            title = re.search(rb"<title>(.*?)</title>", page).group(1)
            index.append(b"%d:%s:%s\n" % (offset, page_id, title))
        data = b"".join(group) + (b"</mediawiki>\n" if k + pages_per_stream >= len(pages) else b"")
        out.append(bz2.compress(data))
        offset += len(out[-1])
    return b"".join(out), bz2.compress(b"".join(index))


def text_forms(folder, text: bytes, frame: int) -> None:
    """``neko.txt`` as plain text, multi-block xz (40,000-byte blocks), single-stream xz and zstd frames of
    ``frame`` bytes."""
    (folder / "neko.txt").write_bytes(text)
    multi_block_xz(text, folder / "neko.blocks.txt.xz", 40_000)
    (folder / "neko.single.txt.xz").write_bytes(lzma.compress(text))
    frames = zstandard.ZstdCompressor()
    (folder / "neko.frames.txt.zst").write_bytes(b"".join(frames.compress(text[i : i + frame])
                                                         for i in range(0, len(text), frame)))


def wet_members(raw: bytes, path) -> None:
    """WET records recompressed one gzip member per record, as Common Crawl ships them."""
    records = [m.start() for m in re.finditer(rb"(?m)^WARC/1\.0\r?\n", raw)]
    with open(path, "wb") as fh:
        for a, b in zip(records, records[1:] + [len(raw)]):
            fh.write(gzip.compress(raw[a:b], mtime=0))


def multi_block_xz(data: bytes, path, block: int) -> None:
    """An .xz of independent blocks of ``block`` bytes (as ``xz -T`` or pixz write), with python-xz."""
    import xz

    with xz.open(str(path), "wb") as fh:
        for start in range(0, len(data), block):
            fh.write(data[start : start + block])
            fh.change_block()


def documents(source, splits, work):
    ledger = Ledger(0)
    source.bind(TaskContext(0, 1, ledger, None, None, None, None))
    docs = []
    for split in splits:
        prepare(split, str(work))
    for split in splits:
        docs.extend((doc.id, doc.metadata["origin"], doc.text) for doc in read_split(source, split, str(work)))
    return docs, ledger.to_dict()


def read_both(folder, source_yaml, split_bytes, tmp_path):
    recipe = parse_recipe(f"name: t\nsplit_bytes: {split_bytes}\nsources: [{source_yaml}]\noutput: {{dir: out}}\n",
                          "t.yaml", str(folder))
    source = build_sources(recipe)[0]
    splits = plan_splits(recipe, [source])
    reference_recipe = parse_recipe(f"name: t\nsources: [{source_yaml}]\noutput: {{dir: out}}\n", "t.yaml", str(folder))
    reference = build_sources(reference_recipe)[0]
    whole = plan_splits(reference_recipe, [reference])
    assert all(s.whole for s in whole)
    got, ledger = documents(source, splits, tmp_path / f"work-{split_bytes}")
    expected, expected_ledger = documents(reference, whole, tmp_path / "work-whole")
    return splits, got, expected, ledger, expected_ledger
