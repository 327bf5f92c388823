"""Plain text (`text`, split by file, blank line or line) and the CC-100 layout (`cc100`)."""

from __future__ import annotations

from typing import Iterator, Literal

from datatrove.data import Document

from jacorpus.corpus.sources.base import Source, SourceOptions, register_source
from jacorpus.corpus.sources.compression import iter_lines


class TextOptions(SourceOptions):
    split: Literal["file", "blank_line", "line"] = "blank_line"
    encoding: str = "utf-8"


def lines_of(path: str, encoding: str, reader: Source) -> Iterator[tuple[int, int, str | None]]:
    """``iter_lines`` that reports bad bytes, NULs and lines over ``max_record_bytes`` as errors of ``reader`` and
    tracks its position. An oversized line comes as ``None`` (read past, never held)."""

    def fault(position: dict[str, int], message: str) -> None:
        reader.error(path, position, message)

    number = 0
    limit = reader.options.max_record_bytes
    for number, offset, line in iter_lines(path, encoding, on_fault=fault, max_line_bytes=limit, mark_skipped=True):
        reader._position = {"line": number, "byte": offset}
        yield number, offset, line
    if number == 0:  # an empty file on disk is caught before reading; this is an empty compressed one
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

    def read_file(self, path: str) -> Iterator[Document]:
        opts: TextOptions = self.options
        if opts.split == "line":
            for number, _, line in lines_of(path, opts.encoding, self):
                if line is not None and line.strip():
                    yield self.document(line, path, f"L{number}")
        elif opts.split == "blank_line":
            for start, block in paragraphs(path, opts.encoding, self):
                yield self.document("\n".join(block), path, f"L{start}")
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
                yield self.document(text, path, "file")


class CC100Options(SourceOptions):
    encoding: str = "utf-8"


@register_source("cc100")
class CC100Source(Source):
    """CC-100: one paragraph per line, documents separated by blank lines; kept as lines of one document."""

    Options = CC100Options

    def read_file(self, path: str) -> Iterator[Document]:
        for start, block in paragraphs(path, self.options.encoding, self):
            yield self.document("\n".join(block), path, f"L{start}")
