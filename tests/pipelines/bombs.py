"""Decompression bombs built at test time: a compressed file whose middle inflates to ``inflate`` bytes of one
record (a line, a paragraph, a JSON string, a wiki page, an XML record).

Each file is a run of compressed members (gzip members, bz2 streams, xz streams, zstd frames): the repeated unit
is compressed once and its member written again and again, so a bomb of any size costs milliseconds to build while
every reader still has to inflate all of it (multi-member files are valid for all four formats).
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import zstandard

COMPRESS = {
    ".gz": lambda data: gzip.compress(data, 6),
    ".bz2": lambda data: bz2.compress(data, 9),
    ".xz": lambda data: lzma.compress(data, preset=1),
    ".zst": lambda data: zstandard.ZstdCompressor(level=3).compress(data),
}
# bzip2's sort is slow on repetitive text (~1 s per MB): a smaller repeated unit keeps building it fast
UNIT_BYTES = {".bz2": 1 << 17}


def write_bomb(path: Path, head: bytes, unit: bytes, inflate: int, tail: bytes) -> int:
    """``head`` + ``unit`` repeated to ``inflate`` bytes + ``tail``, compressed by ``path``'s suffix. Returns the
    compressed size."""
    compress = COMPRESS[path.suffix]
    size = UNIT_BYTES.get(path.suffix, 1 << 20)
    block = unit * (size // len(unit))
    member = compress(block)
    with open(path, "wb") as fh:
        fh.write(compress(head))
        for _ in range(inflate // len(block)):
            fh.write(member)
        fh.write(compress(tail))
    return path.stat().st_size


WIKI_HEAD = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/"><siteinfo><dbname>jawiki</dbname>
<namespaces><namespace key="0" /></namespaces></siteinfo>
"""


def wiki_page(page_id: int, title: str, text: str) -> str:
    return (f"<page><title>{title}</title><ns>0</ns><id>{page_id}</id><revision><id>{page_id}</id>"
            f"<text>{text}</text></revision></page>\n")


def bomb_sources(root: Path, name: str, neko: list[str], inflate: int) -> dict[str, dict]:
    """One file per source type under ``root/name``: an ordinary record (``neko[0]``), a record of ``inflate``
    bytes (``neko[2]`` repeated; below one repeated unit, nothing), another ordinary record (``neko[1]``). Returns
    recipe source entries, paths relative to ``root`` (used by tests/pipelines/test_record_bounds.py and
    bench/record_bounds.py)."""
    before, after = neko[0], neko[1]
    unit = neko[2].encode()  # a line of the novel, repeated (no newline inside)
    d = root / name
    d.mkdir()
    write_bomb(d / "line.txt.gz", f"{before}\n".encode(), unit, inflate, f"\n{after}\n".encode())
    write_bomb(d / "cc100.txt.bz2", f"{before}\n\n".encode(), unit, inflate, f"\n\n{after}\n".encode())
    # a paragraph of many short lines: each line is small, the paragraph is the record
    write_bomb(d / "para.txt.xz", f"{before}\n\n".encode(), unit[:60] + b"\n", inflate, f"\n{after}\n".encode())
    write_bomb(d / "records.jsonl.zst", json.dumps({"text": before}, ensure_ascii=False).encode() + b'\n{"text": "',
               unit, inflate, b'"}\n' + json.dumps({"text": after}, ensure_ascii=False).encode() + b"\n")
    write_bomb(d / "wiki.xml.bz2", (WIKI_HEAD + wiki_page(1, "前", before)).encode()
               + b"<page><title>B</title><ns>0</ns><id>2</id><revision><id>2</id><text>", unit, inflate,
               b"</text></revision></page>\n" + (wiki_page(3, "後", after) + "</mediawiki>\n").encode())
    # many small elements in one record: libxml2's own 10 MB text-node limit does not see this one
    write_bomb(d / "cases.xml.xz", f'<root><article id="1">{before}</article><article id="2">'.encode(),
               b"<p>" + unit[:90] + b"</p>", inflate, f'</article><article id="3">{after}</article></root>'.encode())
    write_bomb(d / "table.csv.gz", f"id,abstract\n1,{before}\n2,".encode(), unit, inflate, f"\n3,{after}\n".encode())
    return {
        "text": {"type": "text", "split": "line", "paths": [f"{d.name}/line.txt.gz"]},
        "cc100": {"type": "cc100", "paths": [f"{d.name}/cc100.txt.bz2"]},
        "paragraphs": {"type": "text", "split": "blank_line", "paths": [f"{d.name}/para.txt.xz"]},
        "jsonl": {"type": "jsonl", "paths": [f"{d.name}/records.jsonl.zst"]},
        "wikipedia": {"type": "wikipedia", "paths": [f"{d.name}/wiki.xml.bz2"]},
        "medical_xml": {"type": "medical", "format": "xml", "paths": [f"{d.name}/cases.xml.xz"]},
        "medical_csv": {"type": "medical", "format": "csv", "text_fields": ["abstract"], "id_field": "id",
                        "paths": [f"{d.name}/table.csv.gz"]},
    }
