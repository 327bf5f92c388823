"""Streams for reading splits (see splits.py): file objects over a byte range, over a file's cut parts, over a
decompressed stream from a block / member / stream start; and ``AlignedStream``, which narrows such a stream to the
records of one split by the source type's record boundary rule."""

from __future__ import annotations

import bz2
import io
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator

CHUNK = 1 << 20
VERSION_LINE = re.compile(rb"^WARC/\d+\.\d+\r?\n$")  # as warc_records: the parser resynchronises on this line


class ReadAdapter(io.RawIOBase):
    """A ``read(n)``-only file object as a raw stream, so io.BufferedReader can wrap it. python-xz's own readline
    is slow (a first attempt measured 1 MB in 30 s; through io.BufferedReader 0.15 s)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.fh.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.fh.close()
        super().close()


class BoundedFile(io.RawIOBase):
    """Bytes ``[start, stop)`` of a file (``stop`` None: to its end)."""

    def __init__(self, path: str, start: int, stop: int | None = None) -> None:
        from jacorpus.foundation import storage

        self.fh = storage.open(path, "rb")  # a path or a URL (ranged requests)
        self.fh.seek(start)
        self.left = None if stop is None else max(0, stop - start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        want = len(buffer) if self.left is None else min(len(buffer), self.left)
        data = self.fh.read(want)
        buffer[: len(data)] = data
        if self.left is not None:
            self.left -= len(data)
        return len(data)

    def close(self) -> None:
        self.fh.close()
        super().close()


class ChainedParts(io.RawIOBase):
    """The cut parts of a file from part ``first`` on, as one stream (of at most ``limit`` bytes)."""

    def __init__(self, paths: list[str], limit: int | None = None) -> None:
        self.paths, self.current, self.left = list(paths), None, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        from jacorpus.corpus.sources.compression import open_binary

        while True:
            if self.current is None:
                if not self.paths:
                    return 0
                self.current = open_binary(self.paths.pop(0))
            data = self.current.read(len(buffer) if self.left is None else min(len(buffer), self.left))
            if self.left is not None:
                self.left -= len(data)
            if data:
                buffer[: len(data)] = data
                return len(data)
            self.current.close()
            self.current = None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
        super().close()


def open_from(split: Any,  # a splits.Split
              anchor: int, stop: int | None = None, parts: list[str] | None = None,
              resync: bool = False, limit: int | None = None) -> BinaryIO:
    """The decompressed stream from ``anchor`` on (up to the compressed offset ``stop`` for members/index)."""
    if split.method == "cut":
        return ChainedParts(parts or [], limit)
    if split.method in ("seek", "rows"):
        if split.container == "plain":
            return BoundedFile(split.path, anchor)
        if split.container == "xz":
            fh = open_xz(split.path)
        else:
            import indexed_zstd

            fh = indexed_zstd.IndexedZstdFile(split.path)
        fh.seek(anchor)
        return ReadAdapter(fh)
    if split.container == "gz" and resync:  # WARC/WET: damaged members are skipped as in a one-task read
        from jacorpus.corpus.sources.gzip_members import ResyncingGzipReader

        return ResyncingGzipReader(split.path, start=anchor, stop=stop)
    raw = io.BufferedReader(BoundedFile(split.path, anchor, stop), buffer_size=CHUNK)
    if split.container == "gz":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if split.container == "zst":  # frames of an object (members): see splits.inspect_file
        from jacorpus.corpus.sources.compression import ZstdFrameReader

        return io.BufferedReader(ZstdFrameReader(raw), buffer_size=CHUNK)  # type: ignore[return-value]
    return bz2.BZ2File(raw, "rb")  # type: ignore[return-value]


def open_xz(path: str) -> Any:
    """A seekable python-xz file (it takes a file object: a URL is read with ranged requests)."""
    import xz

    from jacorpus.corpus.sources.compression import closing_both

    from jacorpus.foundation import storage

    raw = storage.open(path, "rb")
    return closing_both(xz.open(raw, "rb"), raw)


@dataclass
class SplitInfo:
    """What a read task knows about its split once the split stage ran."""

    anchor: int  # where its stream starts (resolved)
    range_bytes: int | None  # decompressed bytes from its anchor to the next split's (None: to the end)
    base_bytes: int  # decompressed bytes before its anchor
    base_lines: int  # newlines before its anchor
    starts_line: bool  # its anchor is at a line start
    parts: list[str] = field(default_factory=list)  # cut: the parts from this split's on
    error: str | None = None
    limit: int | None = None  # cut: decompressed bytes readable from this split's part on (a fault ended the file)
    empty: bool = False  # rows: no row starts in this split's share of the file
    header_bytes: int = 0  # rows: length of the CSV header row read before this split's rows


def blank_line(line: bytes, codec: str, limit: int) -> bool:
    """Blank as ``text.paragraphs`` sees it: decoded, end of line and NULs removed, only whitespace left."""
    if len(line) > limit:
        return False
    text = line.decode(codec, errors="replace").rstrip("\r\n").replace("\x00", "")
    return not text.strip()


def is_page_line(line: bytes) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(b"<page>") or stripped.startswith(b"<page ")


class AlignedStream(io.RawIOBase):
    """The bytes of one split: from the first record boundary at or after its anchor to the first one at or after
    the next split's anchor (``range_bytes`` further on), by ``rule``:

    - ``line``: a line start;
    - ``blank_line``: the end of a blank line that starts at a line start;
    - ``warc``: a line start whose line is ``WARC/x.y``;
    - ``page``: a line start whose line opens a ``<page>`` (Wikipedia XML).

    Only lines near the two anchors are looked at; the bytes between pass through in large reads.
    ``base_line`` / ``base_offset`` (file-wide newlines / decompressed bytes before the first byte it returns) are
    known once it is constructed."""

    def __init__(self, raw: BinaryIO, rule: str, info: SplitInfo, first: bool, codec: str = "utf-8",
                 max_line: int = 1 << 20, prefix: bytes = b"", suffix: bytes = b"") -> None:
        self.stream = io.BufferedReader(raw, buffer_size=CHUNK)  # type: ignore[arg-type]
        self.rule, self.codec, self.limit = rule, codec, max(16, min(max_line, 1 << 20))
        self.end_at = info.range_bytes  # relative to the anchor; None: read to the end of the file
        self.position = 0  # relative to the anchor, of the next byte of ``self.stream``
        self.at_line_start = info.starts_line
        self.pending = b""  # read but not yet handed out (a line that opened the split)
        self.done = False
        skipped_lines = 0
        if not first:
            skipped_lines, self.pending, self.done, witness = self._skip_to_boundary()
            # the boundary that opens this split may already be the next split's: then this split is empty
            self.done = self.done or (self.end_at is not None and witness >= self.end_at)
        self.base_line = info.base_lines + skipped_lines
        self.base_offset = info.base_bytes + self.position - len(self.pending)
        self.head, self.tail = prefix if not first else b"", suffix if self.end_at is not None else b""
        self.empty = prefix + suffix  # what an empty split reads as (Wikipedia: a dump without pages)
        self.out: Iterator[bytes] = self._chunks()

    def readable(self) -> bool:
        return True

    def _line(self) -> tuple[bytes, bool]:
        """The next piece of a line (a whole line when shorter than the limit) and whether it starts a line."""
        starts = self.at_line_start
        piece = self.stream.readline(self.limit)
        self.position += len(piece)
        self.at_line_start = piece.endswith(b"\n")
        return piece, starts

    def _boundary(self, piece: bytes, starts: bool, after: int) -> str | None:
        """'before' (boundary at the piece's start), 'after' (at its end) or None; only pieces starting at or after
        relative offset ``after`` count."""
        if not starts or self.position - len(piece) < after:
            return None
        if self.rule == "line":
            return "before"
        if self.rule == "blank_line":
            full = piece.endswith(b"\n") or len(piece) < self.limit
            return "after" if full and blank_line(piece, self.codec, self.limit) else None
        if self.rule == "warc":
            return "before" if VERSION_LINE.match(piece) else None
        if self.rule == "page":
            return "before" if is_page_line(piece) else None
        raise ValueError(f"unknown split rule {self.rule!r}")

    def _skip_to_boundary(self) -> tuple[int, bytes, bool, int]:
        """(newlines skipped, the line opening the split, whether nothing is left, where the boundary's line starts)"""
        lines = 0
        while True:
            if self.end_at is not None and self.position >= self.end_at:
                # past the next split's anchor with no boundary: any boundary from here on opens a later split, so
                # this one is empty. Without this stop, every split inside one huge record (a decompression bomb,
                # a 10 GB line) scanned to that record's end: quadratic in the record's length over its splits.
                return lines, b"", True, self.position
            piece, starts = self._line()
            if not piece:
                return lines, b"", True, self.position
            where = self._boundary(piece, starts, 0)
            if where == "before":
                return lines, piece, False, self.position - len(piece)
            lines += piece.count(b"\n")
            if where == "after":
                return lines, b"", False, self.position - len(piece)

    def _chunks(self) -> Iterator[bytes]:
        if self.done:
            if self.empty:
                yield self.empty
            return
        if self.head:
            yield self.head
        if self.pending:
            yield self.pending
        if self.end_at is None:  # the file's last split: everything to the end
            while chunk := self.stream.read(CHUNK):
                yield chunk
            return
        while self.position < self.end_at:  # up to the next split's anchor in large reads
            chunk = self.stream.read(min(CHUNK, self.end_at - self.position))
            if not chunk:
                return
            self.position += len(chunk)
            self.at_line_start = chunk.endswith(b"\n")
            yield chunk
        while True:  # then line by line to the next boundary
            piece, starts = self._line()
            if not piece:
                break
            where = self._boundary(piece, starts, self.end_at)
            if where == "before":
                break
            yield piece
            if where == "after":
                break
        if self.tail:
            yield self.tail

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self.pending_out:
            try:
                self.pending_out = next(self.out)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self.pending_out))
        buffer[:n] = self.pending_out[:n]
        self.pending_out = self.pending_out[n:]
        return n

    pending_out = b""

    def close(self) -> None:
        self.stream.close()
        super().close()
