"""Plain text (`text`, split by file, blank line or line) and the CC-100 layout (`cc100`)."""

from __future__ import annotations

from typing import Iterator, Literal

from datatrove.data import Document

from jacorpus.corpus.sources.base import Source, SourceOptions, register_source
from jacorpus.corpus.sources.compression import iter_lines


class TextOptions(SourceOptions):
    split: Literal["file", "blank_line", "line"] = "blank_line"
    encoding: str = "utf-8"


def paragraphs(path: str, encoding: str, reader: Source) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated blocks as (first line number, lines). Tracks position for error reports."""
    block: list[str] = []
    start = 0
    for number, offset, line in iter_lines(path, encoding):
        reader._position = {"line": number, "byte": offset}
        if "\x00" in line:
            line = line.replace("\x00", "")
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
            for number, offset, line in iter_lines(path, opts.encoding):
                self._position = {"line": number, "byte": offset}
                line = line.replace("\x00", "")
                if line.strip():
                    yield self.document(line, path, f"L{number}")
        elif opts.split == "blank_line":
            for start, block in paragraphs(path, opts.encoding, self):
                yield self.document("\n".join(block), path, f"L{start}")
        else:
            lines = [line.replace("\x00", "") for _, _, line in iter_lines(path, opts.encoding)]
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
