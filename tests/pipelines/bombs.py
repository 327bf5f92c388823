"""Decompression bombs built at test time: a compressed file whose middle inflates to ``inflate`` bytes of one
record (a line, a paragraph, a JSON string, a wiki page, an XML record).

Each file is a run of compressed members (gzip members, bz2 streams, xz streams, zstd frames): the repeated unit
is compressed once and its member written again and again, so a bomb of any size costs milliseconds to build while
every reader still has to inflate all of it (multi-member files are valid for all four formats).
"""

from __future__ import annotations

import bz2
import gzip
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
