"""Plain text (`text`, split by file, blank line or line) and the CC-100 layout (`cc100`).

``encoding`` is a codec name or ``auto``: the charset of each file is then taken from its first MiB (decompressed)
with the web sources' rules (byte-order mark, ISO-2022-JP escapes, strict UTF-8, detection; see ``charset.py``)
and the whole file is read with it. Bytes the codec cannot decode become U+FFFD and NUL bytes are removed; either
is reported once per file, with the number of lines hit and the first position, not once per line.
"""

from __future__ import annotations

import io
import re
from typing import Any, Iterator, Literal

from datatrove.data import Document
from pydantic import field_validator

from jacorpus.corpus.sources.base import Source, SourceError, SourceOptions, register_source
from jacorpus.corpus.sources.charset import canonical_codec, decode_bytes
from jacorpus.corpus.sources.compression import SPLIT_OPENERS, iter_lines, open_counted

AUTO = "auto"
SNIFF_BYTES = 1 << 20  # what ``encoding: auto`` looks at: enough for detection, bounded for huge files


def known_encoding(value: str) -> str:
    """Plan-time check of an ``encoding`` option: ``auto`` or a codec Python knows (labels as in ``charset.py``)."""
    if value != AUTO and canonical_codec(value) is None:
        raise ValueError(f"unknown encoding {value!r}: give a codec name (utf-8, euc_jp, cp932, ...) or 'auto'")
    return value


class TextOptions(SourceOptions):
    split: Literal["file", "blank_line", "line"] = "blank_line"
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def encoding_is_known(cls, value: str) -> str:
        return known_encoding(value)


def file_encoding(path: str, encoding: str) -> str:
    """The codec to read ``path`` with: the option itself, or for ``auto`` what its first MiB decodes as."""
    if encoding != AUTO:
        return canonical_codec(encoding) or encoding
    with io.BufferedReader(open_counted(path, whole=True)) as stream:  # the file's head, not a split's
        head = stream.read(SNIFF_BYTES)
    charset = decode_bytes(head).charset
    return {"ascii": "utf-8", "utf-8-sig": "utf-8"}.get(charset, charset)  # ASCII head: UTF-8 may follow


class FaultSummary:
    """One error entry per file and kind of fault: how many lines, and where the first one is."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[Any]] = {}  # kind -> [lines, first position, first message]

    def add(self, position: dict[str, int], message: str) -> None:
        kind = "nul" if message.startswith("NUL") else "decode"
        if kind in self.kinds:
            self.kinds[kind][0] += 1
        else:
            self.kinds[kind] = [1, dict(position), message]

    def report(self, reader: Source, path: str, encoding: str) -> None:
        for kind, (lines, first, message) in self.kinds.items():
            what = (f"NUL bytes removed on {lines} line(s)" if kind == "nul"
                    else f"bytes not valid {encoding} replaced by U+FFFD on {lines} line(s)")
            detail = message.split(": ", 1)[1] if kind == "decode" and ": " in message else ""
            where = f"first at line {first['line']}, byte {first['byte']}" + (f" ({detail})" if detail else "")
            reader.error(path, {**first, "lines": lines}, f"{what}; {where}")
        self.kinds.clear()


# an RSS/Atom feed's root element after the XML declaration, comments and a doctype (markup is ASCII in every
# charset Japanese feeds use)
FEED_ROOT = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:(?:<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)\s*)*<(rss|rdf:RDF|feed)\b",
                       re.S | re.I)


def refuse_feed(path: str) -> None:
    """Line-based sources do not read RSS/Atom feeds: read as lines they give feed markup (``]]>``, URLs, dates) in
    every document, and U+FFFD where the feed is not UTF-8. The file is an input error naming the ``feed`` type."""
    with io.BufferedReader(open_counted(path)) as stream:
        head = stream.read(8192)
    match = FEED_ROOT.match(head)
    if match:
        root = match.group(1).decode()
        raise SourceError(f"an RSS/Atom feed (<{root}>), not text: read it with `type: feed` (one document per item)", 0)


def lines_of(path: str, encoding: str, reader: Source) -> Iterator[tuple[int, int, str | None]]:
    """``iter_lines`` that reports bad bytes and NULs (once per file, see ``FaultSummary``) as errors of
    ``reader`` and tracks its position. ``encoding`` may be ``auto``. A line over ``max_record_bytes`` comes as ``None``.
    An RSS/Atom feed is not read (``refuse_feed``)."""
    refuse_feed(path)
    codec = file_encoding(path, encoding)
    if encoding == AUTO:
        reader.file_charset = codec
    faults = FaultSummary()

    def fault(position: dict[str, int], message: str) -> None:
        # decoding faults repeat line after line: summed per file; any other fault (an oversized line) is its own
        if message.startswith(("NUL", "invalid")):
            faults.add(position, message)
        else:
            reader.error(path, position, message)

    number = 0
    try:
        for number, offset, line in iter_lines(path, codec, on_fault=fault, max_line_bytes=reader.options.max_record_bytes,
                                                  mark_skipped=True):
            reader._position = {"line": number, "byte": offset}
            yield number, offset, line
    finally:  # also when a truncated stream ends the file: the faults seen so far are reported
        faults.report(reader, path, codec)
    if number == 0 and path not in SPLIT_OPENERS:  # an empty file on disk is caught before reading; this is an
        # empty compressed one (a split of a file may hold no line: the one before it ended past its range)
        reader.error(path, 0, "empty file: no content after decompression")


def paragraphs(path: str, encoding: str, reader: Source) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated blocks as (first line number, lines). Tracks position for error reports.

    A block over ``max_record_bytes`` (or holding an oversized line) is dropped as an error entry and its lines
    are not kept while the rest of it is read past; reading goes on at the next blank line."""
    limit = reader.options.max_record_bytes
    block: list[str] = []
    start = start_byte = 0
    skipping = False  # inside a block already reported as oversized
    for number, offset, line in lines_of(path, encoding, reader):
        if line is not None and not line.strip():
            if block and not skipping:
                yield start, block
            block, skipping = [], False
            continue
        if not block and not skipping:
            start, start_byte = number, offset
        if skipping:
            continue
        # bytes before this line plus its characters (no re-encoding on the hot path; a char is >= 1 byte)
        size = offset - start_byte + (len(line) if line is not None else limit + 1)
        if size > limit:
            if line is not None:  # an oversized line is reported by lines_of already
                reader.error(path, {"line": start, "byte": start_byte, "size": size},
                             f"paragraph over max_record_bytes ({limit}) from line {start}: skipped")
            block, skipping = [], True
            continue
        block.append(line)
    if block and not skipping:
        yield start, block


@register_source("text")
class TextSource(Source):
    Options = TextOptions

    def record_rule(self) -> str | None:
        return {"line": "line", "blank_line": "blank_line"}.get(self.options.split)  # split: file is one record

    def read_file(self, path: str) -> Iterator[Document]:
        opts: TextOptions = self.options
        meta = self.charset_meta
        if opts.split == "line":
            for number, _, line in lines_of(path, opts.encoding, self):
                if line is not None and line.strip():
                    yield self.document(line, path, f"L{number}", **meta())
        elif opts.split == "blank_line":
            for start, block in paragraphs(path, opts.encoding, self):
                yield self.document("\n".join(block), path, f"L{start}", **meta())
        else:
            lines = []
            for _, offset, line in lines_of(path, opts.encoding, self):
                size = offset + (len(line) if line is not None else 0)
                if line is None or size > opts.max_record_bytes:  # the whole file is the record: skip it
                    self.error(path, {"byte": 0, "size": size},
                               f"file over max_record_bytes ({opts.max_record_bytes}) as one document: skipped")
                    return
                lines.append(line)
            text = "\n".join(lines).strip("\n")
            if text.strip():
                yield self.document(text, path, "file", **meta())

    def charset_meta(self) -> dict[str, str]:
        """With ``encoding: auto`` each document records the charset its file was read with."""
        return {"charset": self.file_charset} if self.options.encoding == AUTO else {}


class CC100Options(SourceOptions):
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def encoding_is_known(cls, value: str) -> str:
        return known_encoding(value)


@register_source("cc100")
class CC100Source(Source):
    """CC-100: one paragraph per line, documents separated by blank lines; kept as lines of one document."""

    Options = CC100Options
    split_rule = "blank_line"

    def read_file(self, path: str) -> Iterator[Document]:
        for start, block in paragraphs(path, self.options.encoding, self):
            yield self.document("\n".join(block), path, f"L{start}")
