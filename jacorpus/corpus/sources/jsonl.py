"""JSON lines with a configurable text field; an input `id` is kept as the document id, other fields as metadata.

``markup: wikitext`` (Wikipedia redistributed as JSON lines of raw wikitext) cleans the text with the ``wikipedia``
source's cleaner and drops redirects and disambiguation pages with the same reasons (``redirect``,
``disambiguation``; ``empty`` when nothing is left); ``title_field`` names the page title, which the
disambiguation test also looks at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

import orjson
from datatrove.data import Document
from pydantic import Field, model_validator

from jacorpus.corpus.sources.base import Source, SourceOptions, register_source
from jacorpus.corpus.sources.text import lines_of
from jacorpus.corpus.sources.wikitext_regex import TAIL_SECTIONS, is_disambiguation, redirect_target

if TYPE_CHECKING:
    from jacorpus.corpus.sources.wikitext import WikitextCleaner

WIKITEXT_ONLY = ("title_field", "keep_redirects", "keep_disambiguation", "drop_sections", "max_parse_chars")


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
    markup: Literal["none", "wikitext"] = "none"
    # markup: wikitext (as the wikipedia source)
    title_field: str | None = None
    keep_redirects: bool = False
    keep_disambiguation: bool = False
    drop_sections: list[str] = Field(default_factory=lambda: list(TAIL_SECTIONS))
    max_parse_chars: int = Field(1_000_000, gt=0)

    @model_validator(mode="after")
    def wikitext_options_need_wikitext(self) -> "JsonlOptions":
        misplaced = sorted(set(WIKITEXT_ONLY) & self.model_fields_set)
        if misplaced and self.markup != "wikitext":
            raise ValueError(f"option(s) {', '.join(misplaced)} apply to markup: wikitext only")
        return self


@register_source("jsonl")
class JsonlSource(Source):
    Options = JsonlOptions
    split_rule = "line"

    def read_file(self, path: str) -> Iterator[Document]:
        opts: JsonlOptions = self.options
        cleaner = None
        if opts.markup == "wikitext":  # the tokenizer (mwparserfromhell, ~12 ms to import) loads only for wikitext
            from jacorpus.corpus.sources.wikitext import WikitextCleaner

            cleaner = WikitextCleaner(opts.drop_sections, (), opts.max_parse_chars)
        try:
            yield from self.records(path, cleaner)
        finally:
            if cleaner is not None and cleaner.fallbacks:
                self.ledger.count(self.source_name, "wikitext_regex_fallback", cleaner.fallbacks)

    def records(self, path: str, cleaner: WikitextCleaner | None) -> Iterator[Document]:
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
            if cleaner is not None:
                reason = self.wikitext_reason(doc, record, cleaner)
                if reason is not None:
                    self.drop(doc, reason)
                    continue
            yield doc

    def wikitext_reason(self, doc: Document, record: dict, cleaner: WikitextCleaner) -> str | None:
        """Clean ``doc`` in place, or say why it is dropped (the wikipedia source's reasons, its raw text kept)."""
        opts: JsonlOptions = self.options
        title = record.get(opts.title_field) if opts.title_field else None
        title = title if isinstance(title, str) else ""
        target = redirect_target(doc.text)
        if target is not None and not opts.keep_redirects:
            return "redirect"
        if target is None and not opts.keep_disambiguation and is_disambiguation(doc.text, title):
            return "disambiguation"
        doc.text = cleaner.clean(doc.text)
        if target is not None:
            doc.metadata["meta"]["redirect"] = target
        return None if doc.text.strip() else "empty"
