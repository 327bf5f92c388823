"""Open plain or compressed files by extension; truncated streams raise ``SourceError`` with a byte position."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import BinaryIO, Callable, Iterator

from jacorpus.corpus.sources.base import SourceError
from jacorpus.corpus.limits import DEFAULT_MAX_RECORD_BYTES
from jacorpus.foundation import storage

COMPRESSED_SUFFIXES = (".bz2", ".gz", ".xz", ".zst", ".zstd")


# While a task reads one split of a file (see splits.py), opening that file gives the split's bytes instead: the
# sources' parsers read a split exactly as they read a file. Set by ``splits.read_split``, one split at a time.
SPLIT_OPENERS: dict[str, Callable[[], BinaryIO]] = {}


def open_binary(path: str, whole: bool = False) -> BinaryIO:
    """A binary stream of the decompressed content (of the split being read, unless ``whole``). Multistream .bz2
    (Wikipedia dumps) is handled by bz2. ``path`` may be a URL (``s3://...``): the compressed bytes then stream from
    the object store."""
    if not whole and path in SPLIT_OPENERS:
        return SPLIT_OPENERS[path]()
    if storage.is_url(path):
        raw = storage.open(path, "rb")
        if path.endswith((".zst", ".zstd")):
            return io.BufferedReader(ZstdFrameReader(raw), buffer_size=1 << 16)
        opener = bz2.open if path.endswith(".bz2") else gzip.open if path.endswith(".gz") else \
            lzma.open if path.endswith(".xz") else None
        return raw if opener is None else closing_both(opener(raw, "rb"), raw)
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.endswith((".zst", ".zstd")):
        return io.BufferedReader(ZstdFrameReader(open(path, "rb")), buffer_size=1 << 16)
    return open(path, "rb")


def closing_both(stream: BinaryIO, raw: BinaryIO) -> BinaryIO:
    """``stream`` (a decompressor over the file object ``raw``), whose close also closes ``raw``: bz2, gzip and
    lzma leave a file object they were handed open."""
    close = stream.close

    def close_both() -> None:
        try:
            close()
        finally:
            raw.close()

    stream.close = close_both  # type: ignore[method-assign]
    return stream


class ZstdFrameReader(io.RawIOBase):
    """Multi-frame .zst decoding that notices truncation (zstandard's stream_reader ends silently mid-frame)."""

    # zstandard's decompressobj has no output limit and one compressed byte can stand for 128 KiB (an RLE block),
    # so the compressed bytes fed at a time adapt to keep each output near OUTPUT_TARGET: a bomb (ratio 10^4+)
    # is fed a few bytes at a time, ordinary data (ratio 3-10) up to MAX_FEED bytes at a time
    OUTPUT_TARGET = 1 << 20
    MIN_FEED, MAX_FEED = 16, 1 << 16

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard

        self.raw = raw
        self.decompressor = zstandard.ZstdDecompressor()
        self.frame = self.decompressor.decompressobj()
        self.in_frame = False  # input fed since the last complete frame
        self.pending = b""
        self.pending_at = 0
        self.feed_size = 1 << 10

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while self.pending_at >= len(self.pending):
            chunk = self.raw.read(self.feed_size)
            if not chunk:
                if self.in_frame:
                    raise EOFError("zstd stream ended inside a frame (truncated file)")
                return 0
            self.pending, self.pending_at = self._feed(chunk), 0
            produced = len(self.pending)
            if produced > self.OUTPUT_TARGET:
                self.feed_size = max(self.MIN_FEED, self.feed_size * self.OUTPUT_TARGET // produced)
            elif produced < self.OUTPUT_TARGET // 4:
                self.feed_size = min(self.MAX_FEED, self.feed_size * 2)
        n = min(len(buffer), len(self.pending) - self.pending_at)
        buffer[:n] = self.pending[self.pending_at : self.pending_at + n]
        self.pending_at += n
        return n

    def _feed(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            self.in_frame = True
            out.append(self.frame.decompress(chunk))
            if not self.frame.eof:
                break
            chunk = self.frame.unused_data  # the next frame starts in the same chunk
            self.frame = self.decompressor.decompressobj()
            self.in_frame = False
        return b"".join(out)

    def close(self) -> None:
        self.raw.close()
        super().close()


class CountingReader(io.RawIOBase):
    """Wraps a decompressed stream, counting bytes handed out, and turns decoder faults into SourceError."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        # read1: at most one read of the underlying file, so a fault loses no data decoded before it
        read = getattr(self.stream, "read1", self.stream.read)
        try:
            chunk = read(len(buffer))
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            where = f"after {self.offset} decompressed bytes"
            raise SourceError(f"truncated or corrupt compressed stream {where}: {exc}", self.offset) from exc
        except Exception as exc:  # zstandard.ZstdError has no common base
            where = f"after {self.offset} decompressed bytes"
            raise SourceError(f"corrupt compressed stream {where}: {exc}", self.offset) from exc
        n = len(chunk)
        buffer[:n] = chunk
        self.offset += n
        return n

    def close(self) -> None:
        self.stream.close()
        super().close()


def open_counted(path: str, whole: bool = False) -> CountingReader:
    return CountingReader(open_binary(path, whole))


def iter_lines(
    path: str,
    encoding: str = "utf-8",
    on_fault: Callable[[dict[str, int], str], None] | None = None,
    max_line_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    mark_skipped: bool = False,
) -> Iterator[tuple[int, int, str | None]]:
    """Yield (line_number, byte_offset, text), never failing on a bad byte and never holding more than
    ``max_line_bytes`` of one line.

    Undecodable bytes become U+FFFD and NUL bytes are removed (they are never text and break consumers that use
    C strings); each such line is reported to ``on_fault(position, message)`` so the fault reaches the manifest.
    A UTF-8 byte-order mark at the start of the file is removed. A line longer than ``max_line_bytes`` (a
    decompression bomb is one endless line) is read past in 1 MiB pieces without being kept, reported with its
    size, and reading goes on at the next line; with ``mark_skipped`` it is yielded as ``None`` so a caller that
    groups lines (paragraphs) can drop the group it belonged to.
    """
    reader = open_counted(path)
    buffered = io.BufferedReader(reader, buffer_size=1 << 20)
    # a split of a file numbers its lines and bytes as the whole file does
    offset = getattr(reader.stream, "base_offset", 0)
    number = getattr(reader.stream, "base_line", 0)
    try:
        while True:
            raw = buffered.readline(max_line_bytes + 1)
            if not raw:
                return
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                seen = len(raw)
                del raw
                while True:  # skip to the end of the line without holding it
                    piece = buffered.readline(1 << 20)
                    seen += len(piece)
                    if not piece or piece.endswith(b"\n"):
                        break
                if on_fault:
                    on_fault({"line": number, "byte": offset, "size": seen},
                             f"line of {seen} bytes is over max_record_bytes ({max_line_bytes}): skipped")
                if mark_skipped:
                    yield number, offset, None
                offset += seen
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                text = raw.decode(encoding, errors="replace")
                if on_fault:
                    on_fault({"line": number, "byte": offset + exc.start}, f"invalid {encoding}: {exc.reason}")
            text = text.rstrip("\r\n")
            if number == 1 and text.startswith("\ufeff"):
                text = text[1:]
            if "\x00" in text:
                text = text.replace("\x00", "")
                if on_fault:
                    on_fault({"line": number, "byte": offset + raw.find(b"\x00")}, "NUL byte(s) removed")
            yield number, offset, text
            offset += len(raw)
    finally:
        buffered.close()
