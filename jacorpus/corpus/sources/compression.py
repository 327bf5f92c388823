"""Open plain or compressed files by extension; truncated streams raise ``SourceError`` with a byte position."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import BinaryIO

from jacorpus.corpus.sources.base import SourceError

COMPRESSED_SUFFIXES = (".bz2", ".gz", ".xz", ".zst", ".zstd")


def open_binary(path: str) -> BinaryIO:
    """A binary stream of the decompressed content. Multistream .bz2 (Wikipedia dumps) is handled by bz2."""
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.endswith((".zst", ".zstd")):
        import zstandard

        raw = open(path, "rb")
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
    return open(path, "rb")


class CountingReader(io.RawIOBase):
    """Wraps a decompressed stream, counting bytes handed out, and turns decoder faults into SourceError."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        try:
            chunk = self.stream.read(len(buffer))
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            raise SourceError(f"truncated or corrupt compressed stream: {exc}", self.offset) from exc
        except Exception as exc:  # zstandard.ZstdError has no common base
            raise SourceError(f"corrupt compressed stream: {exc}", self.offset) from exc
        n = len(chunk)
        buffer[:n] = chunk
        self.offset += n
        return n

    def close(self) -> None:
        self.stream.close()
        super().close()


def open_counted(path: str) -> CountingReader:
    return CountingReader(open_binary(path))


def iter_lines(path: str, encoding: str = "utf-8"):
    """Yield (line_number, byte_offset, text) with invalid bytes replaced, never failing on a bad byte."""
    reader = open_counted(path)
    buffered = io.BufferedReader(reader, buffer_size=1 << 20)
    offset = 0
    try:
        for number, raw in enumerate(buffered, start=1):
            text = raw.decode(encoding, errors="replace").rstrip("\r\n")
            yield number, offset, text
            offset += len(raw)
    finally:
        buffered.close()
