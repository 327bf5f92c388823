"""Plain text (`text`, split by file, blank line or line) and the CC-100 layout (`cc100`)."""

from __future__ import annotations

from typing import Iterator, Literal

from datatrove.data import Document

from jacorpus.corpus.sources.base import Source, SourceOptions, register_source
from jacorpus.corpus.sources.compression import iter_lines


class TextOptions(SourceOptions):
    split: Literal["file", "blank_line", "line"] = "blank_line"
    encoding: str = "utf-8"


def lines_of(path: str, encoding: str, reader: Source) -> Iterator[tuple[int, int, str]]:
    """``iter_lines`` that reports bad bytes and NULs as errors of ``reader`` and tracks its position."""

    def fault(position: dict[str, int], message: str) -> None:
        reader.error(path, position, message)

    number = 0
    for number, offset, line in iter_lines(path, encoding, on_fault=fault):
        reader._position = {"line": number, "byte": offset}
        yield number, offset, line
    if number == 0:  # an empty file on disk is caught before reading; this is an empty compressed one
        reader.error(path, 0, "empty file: no content after decompression")


def paragraphs(path: str, encoding: str, reader: Source) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated blocks as (first line number, lines). Tracks position for error reports."""
    block: list[str] = []
    start = 0
    for number, _, line in lines_of(path, encoding, reader):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


@register_source("text")
class TextSource(Source):
    Options = TextOptions

    def read_file(self, path: str) -> Iterator[Document]:
        opts: TextOptions = self.options
        if opts.split == "line":
            for number, _, line in lines_of(path, opts.encoding, self):
                if line.strip():
                    yield self.document(line, path, f"L{number}")
        elif opts.split == "blank_line":
            for start, block in paragraphs(path, opts.encoding, self):
                yield self.document("\n".join(block), path, f"L{start}")
        else:
            lines = [line for _, _, line in lines_of(path, opts.encoding, self)]
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
