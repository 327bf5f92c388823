"""JSON lines with a configurable text field; an input `id` is kept as the document id, other fields as metadata."""

from __future__ import annotations

from typing import Iterator

import orjson
from datatrove.data import Document

from jacorpus.corpus.sources.base import Source, SourceOptions, register_source
from jacorpus.corpus.sources.text import lines_of


def json_objects(source: Source, path: str, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """(line number, object) for each JSON line; a line that is not a JSON object is an error entry, then skipped."""
    for number, offset, line in lines_of(path, encoding, source):
        if line is None or not line.strip():  # None: over max_record_bytes, reported by lines_of
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            source.error(path, {"line": number, "byte": offset}, f"invalid JSON: {exc}")
            continue
        if not isinstance(record, dict):
            source.error(path, {"line": number, "byte": offset}, "a JSON line must be an object")
            continue
        yield number, record


class JsonlOptions(SourceOptions):
    text_field: str = "text"
    id_field: str | None = "id"


@register_source("jsonl")
class JsonlSource(Source):
    Options = JsonlOptions

    def read_file(self, path: str) -> Iterator[Document]:
        opts: JsonlOptions = self.options
        for number, record in json_objects(self, path):
            if not isinstance(record.get(opts.text_field), str):
                self.error(path, {"line": number}, f"no string field {opts.text_field!r}")
                continue
            text = record.pop(opts.text_field)
            if "\x00" in text:  # a JSON-escaped \u0000 decodes to NUL, which is never text
                text = text.replace("\x00", "")
                self.error(path, {"line": number}, f"NUL character(s) removed from {opts.text_field!r}")
            doc_id = record.pop(opts.id_field, None) if opts.id_field else None
            doc = self.document(text, path, f"L{number}", doc_id=None if doc_id in (None, "") else str(doc_id))
            doc.metadata["meta"].update(record)  # not as keywords: a field named "path" or "locator" is fine
            if not text.strip():
                self.drop(doc, "empty_text")
                continue
            yield doc
