"""Tolerant WARC record iteration over the decompressed stream (plain .warc or .warc.gz/.bz2/.xz/.zst).

Our own parser rather than warcio, because warcio stops at the first damaged record and cannot resynchronise.
Tolerates WARC/0.18 (ClueWeb09: invalid dates, CRLF or LF lines) and any header values. Faults end the file only
when nothing after them can be read: a malformed header or a wrong Content-Length yields a ``WarcFault`` and reading
resumes at the next ``WARC/<version>`` line; a .gz member that does not inflate is skipped (see gzip_members); a
record cut short by the end of the file yields a fault and ends the iteration. Offsets are byte offsets in the
decompressed stream, where each record starts with its ``WARC/`` line.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from jacorpus.corpus.sources.base import SourceError
from jacorpus.corpus.sources.compression import open_counted
from jacorpus.corpus.sources.gzip_members import ResyncingGzipReader

VERSION_LINE = re.compile(rb"^WARC/\d+\.\d+\r?\n$")
NEXT_RECORD = re.compile(rb"\r?\n(WARC/\d+\.\d+\r?\n)")
MAX_LINE = 1 << 16  # longer "lines" are never headers; read in pieces so garbage cannot exhaust memory
MAX_HEADER_LINES = 256
MAX_BLOCK_BYTES = 1 << 32  # a Content-Length beyond this is corruption, not a record
MAX_READ_BYTES = 64 << 20  # wanted records larger than this (videos, disk images) are skipped with a fault


@dataclass
class WarcRecord:
    offset: int  # of the "WARC/..." line in the decompressed stream
    version: str
    headers: dict[str, str]  # names lower-cased; a repeated name keeps its first value
    block: bytes = field(repr=False)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def type(self) -> str:
        return (self.header("warc-type") or "").strip().lower()


@dataclass(frozen=True)
class WarcFault:
    offset: int
    message: str


class LineReader:
    """Buffered reads that keep the absolute offset of the next byte, with push-back of bytes already read."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = io.BufferedReader(stream, buffer_size=1 << 20)  # type: ignore[arg-type]
        self.offset = 0
        self.pending = b""  # pushed-back bytes, consumed before the stream

    def readline(self) -> bytes:
        if self.pending:
            end = self.pending.find(b"\n", 0, MAX_LINE)
            if end >= 0 or len(self.pending) >= MAX_LINE:
                end = end + 1 if end >= 0 else MAX_LINE
                line, self.pending = self.pending[:end], self.pending[end:]
            else:
                line, self.pending = self.pending + self.stream.readline(MAX_LINE - len(self.pending)), b""
        else:
            line = self.stream.readline(MAX_LINE)
        self.offset += len(line)
        return line

    def read(self, size: int) -> bytes:
        data, self.pending = self.pending[:size], self.pending[size:]
        chunks, remaining = [data], size - len(data)
        while remaining > 0:
            chunk = self.stream.read(min(remaining, 1 << 22))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        self.offset += len(data)
        return data

    def skip(self, size: int) -> int:
        """Pass over ``size`` bytes without keeping them; returns how many there were."""
        skipped = 0
        while skipped < size:
            chunk = self.read(min(size - skipped, 1 << 22))
            if not chunk:
                break
            skipped += len(chunk)
        return skipped

    def unread(self, data: bytes) -> None:
        self.pending = data + self.pending
        self.offset -= len(data)


def read_headers(reader: LineReader) -> tuple[dict[str, str] | None, str | None]:
    """Named fields up to the blank line. Returns (headers, None) or (None, problem)."""
    headers: dict[str, str] = {}
    last = None
    for _ in range(MAX_HEADER_LINES):
        line = reader.readline()
        if not line:
            return None, "truncated record header"
        if not line.strip():
            return headers, None
        if VERSION_LINE.match(line):
            reader.unread(line)
            return None, "record header interrupted by another WARC/ line"
        if line[:1] in (b" ", b"\t") and last:  # folded continuation line
            headers[last] += " " + line.strip().decode("utf-8", "replace")
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name.strip() or len(line) >= MAX_LINE:
            return None, f"malformed header line {line[:60]!r}"
        last = name.strip().decode("latin-1").lower()
        headers.setdefault(last, value.strip().decode("utf-8", "replace"))
    return None, "too many header lines"


def iter_records(stream: BinaryIO, types: frozenset[str] | None = None) -> Iterator[WarcRecord | WarcFault]:
    """Records (only those whose WARC-Type is in ``types``, when given; the others are skipped unread) and faults."""
    yield from parse_records(stream, types)
    yield from stream_faults(stream)


def parse_records(stream: BinaryIO, types: frozenset[str] | None) -> Iterator[WarcRecord | WarcFault]:
    reader = LineReader(stream)
    reader.offset = getattr(getattr(stream, "stream", None), "base_offset", 0)  # a split: where it starts in the file
    skipped_at: int | None = None  # start of bytes skipped while looking for the next record
    explained = False  # the skip follows a fault already reported, which said we would resynchronise
    start = 0
    try:
        while True:
            yield from stream_faults(stream)
            start = reader.offset
            line = reader.readline()
            if not line:
                break
            if not VERSION_LINE.match(line):
                if line.strip() and skipped_at is None:
                    skipped_at = start
                continue
            if skipped_at is not None and not explained:
                yield WarcFault(skipped_at, f"skipped {start - skipped_at} bytes that are not a WARC record")
            skipped_at, explained = None, False
            headers, problem = read_headers(reader)
            length = content_length(headers) if headers is not None else None
            if headers is None or length is None:
                if problem == "truncated record header":
                    yield WarcFault(start, problem)
                    return
                problem = problem or f"invalid Content-Length {headers.get('content-length') if headers else None!r}"
                yield WarcFault(start, f"{problem}; resuming at the next record")
                explained = True
                continue
            wanted = types is None or headers.get("warc-type", "").strip().lower() in types
            readable = wanted and length <= MAX_READ_BYTES
            block = reader.read(length) if readable else b""
            got = len(block) if readable else reader.skip(length)
            if got < length:
                yield WarcFault(start, f"truncated record: block has {got} of {length} bytes")
                return
            block, fault = check_record_end(reader, start, block)
            if fault is not None:
                yield fault
                explained = True
            if wanted and not readable:
                yield WarcFault(start, f"record of {length} bytes not read: over the {MAX_READ_BYTES} byte limit")
            elif wanted:
                yield WarcRecord(start, line.strip().decode("ascii")[5:], headers, block)
        if skipped_at == 0:
            yield WarcFault(0, f"not a WARC file: no WARC/ record header in {reader.offset} bytes")
        elif skipped_at is not None and not explained:
            yield WarcFault(skipped_at, f"{reader.offset - skipped_at} bytes at the end are not a WARC record")
    except SourceError as exc:  # the compressed stream itself is cut or corrupt: nothing after it can be read
        yield WarcFault(start, f"{exc}; the last record read starts here, {reader.offset - start} bytes of it read")


def content_length(headers: dict[str, str]) -> int | None:
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        return None
    return length if 0 <= length <= MAX_BLOCK_BYTES else None


def stream_faults(stream: BinaryIO) -> Iterator[WarcFault]:
    """Faults a resynchronising decompressor noted (see gzip_members)."""
    faults = getattr(stream, "faults", None)
    while faults:
        offset, message = faults.pop(0)
        yield WarcFault(offset, message)


def check_record_end(reader: LineReader, start: int, block: bytes) -> tuple[bytes, WarcFault | None]:
    """A block is followed by a blank line, then the next record or the end. When it is not, Content-Length lied:
    if the block swallowed the next record's WARC/ line, cut it there and give the rest back to the reader."""
    trailer = reader.read(4)
    rest = trailer.lstrip(b"\r\n")
    reader.unread(trailer)
    if not rest or b"WARC/".startswith(rest):
        return block, None
    overrun = NEXT_RECORD.search(block)
    if overrun is None:
        return block, WarcFault(start, "record does not end where its Content-Length says; resuming at the next record")
    reader.unread(block[overrun.start(1) :])
    block = block[: overrun.start()]
    block = block[:-2] if block.endswith(b"\r\n") else block[:-1] if block.endswith(b"\n") else block
    return block, WarcFault(start, "Content-Length runs into the next record; record cut at its WARC/ line")


def iter_warc_file(path: str, types: frozenset[str] | None = None) -> Iterator[WarcRecord | WarcFault]:
    from jacorpus.corpus.sources.compression import SPLIT_OPENERS

    if path in SPLIT_OPENERS:  # one split of the file (splits.py); its offsets are the file's
        stream = open_counted(path)
    else:
        stream = ResyncingGzipReader(path) if path.endswith(".gz") else open_counted(path)
    try:
        yield from iter_records(stream, types)
    finally:
        stream.close()
