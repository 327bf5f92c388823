"""Web sources: Common Crawl / ClueWeb WARC (`warc`), WET (`wet`) and saved HTML pages (`html`).

WARC: only ``response`` records are documents; request/metadata/warcinfo/revisit records are skipped without
being counted. A response is dropped with a reason when it is not an HTML page (``not_html``), is not a 2xx answer
(``http_status``) or has no extractable main text (``no_text``). Faults in the file are errors with the byte offset
of the record in the decompressed stream; reading resumes at the next record when it can.
"""

from __future__ import annotations

import glob
import io
import os
from typing import Any, Iterator, Literal

from datatrove.data import Document
from pydantic import Field, field_validator

from jacorpus.corpus.limits import RecordTimeout
from jacorpus.corpus.sources.base import Source, SourceError, SourceOptions, register_source
from jacorpus.corpus.sources.charset import canonical_codec, charset_from_content_type, decode_bytes
from jacorpus.corpus.sources.compression import COMPRESSED_SUFFIXES, open_counted
from jacorpus.foundation import storage
from jacorpus.corpus.sources.html_text import extract_page
from jacorpus.corpus.sources.http_response import parse_http_response
from jacorpus.corpus.sources.text import FEED_ROOT
from jacorpus.corpus.sources.warc_records import WarcFault, WarcRecord, iter_warc_file

HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xhtml", "text/xhtml")
BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"OggS")
VAGUE_TYPES = ("text/plain", "application/octet-stream", "unknown/unknown")  # servers send HTML under these too


def mime_of(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml")) or any(
        tag in head for tag in (b"<head", b"<body", b"<title", b"<meta", b"<div", b"<p>")
    )


def is_html(content_type: str | None, identified: str | None, body: bytes) -> bool:
    """Declared HTML that is not binary, or undeclared bytes that look like HTML."""
    utf16 = body.startswith((b"\xff\xfe", b"\xfe\xff"))
    if body.startswith(BINARY_MAGIC) or (b"\x00" in body[:1024] and not utf16):
        return False
    mime = mime_of(content_type)
    if mime:
        return mime in HTML_TYPES or (mime in VAGUE_TYPES and looks_like_html(body))
    return mime_of(identified) in HTML_TYPES or looks_like_html(body) or utf16


class WarcOptions(SourceOptions):
    extractor: Literal["trafilatura", "basic"] = "trafilatura"


def records(source: Source, path: str, warc_type: str) -> Iterator[WarcRecord]:
    """Records of one type; faults become error entries (file, offset), and the position is kept current."""
    for item in iter_warc_file(path, frozenset({warc_type})):
        if isinstance(item, WarcFault):
            source.error(path, {"offset": item.offset}, item.message)
            continue
        source._position = {"offset": item.offset}
        yield item


@register_source("warc")
class WarcSource(Source):
    Options = WarcOptions
    split_rule = "warc"

    def read_file(self, path: str) -> Iterator[Document]:
        for record in records(self, path, "response"):
            try:
                doc = self.response_document(path, record)
            except Exception as exc:  # noqa: BLE001 - one page that breaks the parser must not end the file
                self.error(path, {"offset": record.offset}, f"{type(exc).__name__}: {exc}")
                continue
            if doc is not None:
                yield doc

    def response_document(self, path: str, record: WarcRecord) -> Document | None:
        """The page as a document, or None after dropping it with a reason."""
        http = parse_http_response(record.block)
        content_type = http.headers.get("content-type") if http else None
        meta: dict[str, Any] = {
            "url": record.header("warc-target-uri"),
            "warc_record_id": record.header("warc-record-id"),
            "warc_date": record.header("warc-date"),
            "content_type": content_type,
        }
        if record.header("warc-trec-id"):
            meta["trec_id"] = record.header("warc-trec-id")
        if record.header("warc-truncated"):
            meta["warc_truncated"] = record.header("warc-truncated")
        locator = f"offset={record.offset}"
        if http is not None and http.status is not None and not 200 <= http.status < 300:
            self.drop(self.document("", path, locator, http_status=http.status, **meta), "http_status")
            return None
        if http is None or not is_html(content_type, record.header("warc-identified-payload-type"), http.body):
            self.drop(self.document("", path, locator, **meta), "not_html")
            return None
        decoded = decode_bytes(http.body, charset_from_content_type(content_type))
        try:
            page = extract_page(decoded.text, url=meta["url"], extractor=self.options.extractor,
                                max_seconds=self.options.max_record_seconds)
        except RecordTimeout:
            self.drop(self.document("", path, locator, **meta), "timeout")
            return None
        meta.update(charset=decoded.charset, title=page.title)
        doc = self.document(page.text, path, locator, **meta)
        if not page.text:
            self.drop(doc, "no_text")
            return None
        return doc


@register_source("wet")
class WetSource(Source):
    """WET ``conversion`` records: text already extracted by Common Crawl (UTF-8 by the format's definition)."""

    split_rule = "warc"

    def read_file(self, path: str) -> Iterator[Document]:
        for record in records(self, path, "conversion"):
            meta = {
                "url": record.header("warc-target-uri"),
                "warc_record_id": record.header("warc-record-id"),
                "warc_date": record.header("warc-date"),
            }
            if record.header("warc-identified-content-language"):
                meta["language"] = record.header("warc-identified-content-language")
            text = record.block.replace(b"\x00", b"").decode("utf-8", "replace").replace("\r\n", "\n").strip()
            doc = self.document(text, path, f"offset={record.offset}", **meta)
            if not text:
                self.drop(doc, "no_text")
                continue
            yield doc


class HtmlOptions(SourceOptions):
    extensions: list[str] = [".html", ".htm", ".xhtml", ".shtml"]  # of pages found in folders and globs
    encoding: str | None = None  # force a charset instead of sniffing (meta tags and detection)
    extractor: Literal["trafilatura", "basic"] = "trafilatura"
    max_bytes: int = Field(32 << 20, gt=0)

    @field_validator("encoding")
    @classmethod
    def known_encoding(cls, value: str | None) -> str | None:
        if value == "auto":  # as for the text sources: detect per file, which is what these sources do by default
            return None
        if value is not None and canonical_codec(value) is None:
            raise ValueError(f"unknown encoding {value!r}")
        return value


@register_source("html")
class HtmlSource(Source):
    """Saved pages: a folder (searched recursively), a glob or files; .gz/.bz2/.xz/.zst pages are read too."""

    Options = HtmlOptions

    def files(self) -> list[str]:
        """Named files as given; folders searched recursively and glob matches kept when they are pages."""
        found: list[str] = []
        for pattern in self.paths:
            full = storage.resolve(pattern, self.base_dir)  # a path or a URL (s3://...)
            if not glob.has_magic(full):
                found.extend(self.pages_under(full) if storage.isdir(full) else [full])
                continue
            for match in storage.glob(full):
                found.extend(self.pages_under(match) if storage.isdir(match) else [match] if self.is_page(match) else [])
        return list(dict.fromkeys(found))

    def pages_under(self, folder: str) -> list[str]:
        return [p for p in storage.glob(storage.join(storage.escape(folder), "**", "*")) if self.is_page(p)]

    def is_page(self, path: str) -> bool:
        name = path.lower()
        for suffix in COMPRESSED_SUFFIXES:
            name = name.removesuffix(suffix)
        # a URL glob lists objects only; a local one lists folders too
        return (storage.is_url(path) or os.path.isfile(path)) and name.endswith(tuple(e.lower() for e in self.options.extensions))

    def read_decoded(self, path: str, what: str = "page"):
        """The whole file, at most ``max_bytes`` of it, decoded by the charset rules (forced, declared, detected)."""
        opts: HtmlOptions = self.options
        with io.BufferedReader(open_counted(path)) as stream:
            data = stream.read(opts.max_bytes + 1)
        if len(data) > opts.max_bytes:
            raise SourceError(f"{what} larger than max_bytes={opts.max_bytes}", 0)
        return decode_bytes(data, forced=opts.encoding)

    def read_file(self, path: str) -> Iterator[Document]:
        opts: HtmlOptions = self.options
        decoded = self.read_decoded(path)
        feed = FEED_ROOT.match(decoded.text.encode("utf-8", "replace")[:8192])
        if feed:  # a whole feed as one page keeps its markup (]]>, URLs, dates) as text: refused, naming the type
            raise SourceError(f"an RSS/Atom feed (<{feed.group(1).decode()}>), not a page: read it with `type: feed` "
                              "(one document per item)", 0)
        try:
            page = extract_page(decoded.text, extractor=opts.extractor, max_seconds=opts.max_record_seconds)
        except RecordTimeout:
            self.drop(self.document("", path, "page"), "timeout")
            return
        meta = {"title": page.title, "url": page.canonical_url, "charset": decoded.charset}
        doc = self.document(page.text, path, "page", **meta)
        if not page.text:
            self.drop(doc, "no_text")
            return
        yield doc
