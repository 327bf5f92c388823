"""MediaWiki pages-articles XML dumps (plain, .bz2 incl. multistream), export schema 0.3 onward.

Expat streams the decompressed bytes and keeps one page in memory at a time; it also gives exact byte offsets,
so a cut or malformed dump is reported where it breaks while every complete page before the fault is kept.
Schema 0.3 (2006) has neither <ns> nor <redirect>: the namespace comes from the title prefix and the
<namespaces> block of <siteinfo>, a redirect from its "#REDIRECT [[...]]" text.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator
from urllib.parse import quote
from xml.parsers import expat

from datatrove.data import Document
from pydantic import Field

from jacorpus.corpus.sources.base import Source, SourceError, SourceOptions, register_source
from jacorpus.corpus.sources.compression import open_counted
from jacorpus.corpus.limits import DEFAULT_MAX_RECORD_BYTES, RecordTimeout
from jacorpus.corpus.sources.wikitext import TAIL_SECTIONS, WikitextCleaner
from jacorpus.corpus.sources.wikitext_regex import is_disambiguation, redirect_target

CHUNK_BYTES = 1 << 20
# English canonical names work in every wiki's titles besides the local names in <siteinfo>
CANONICAL_NAMESPACES = {
    "media": -2, "special": -1, "talk": 1, "user": 2, "user talk": 3, "project": 4, "project talk": 5, "file": 6,
    "image": 6, "file talk": 7, "image talk": 7, "mediawiki": 8, "template": 10, "template talk": 11, "help": 12,
    "category": 14, "category talk": 15, "module": 828,
}
HIDDEN_NAMESPACES = (-2, 6, 14)  # links into these (media, files, categories) show no text
TRUNCATION_ERRORS = {expat.errors.codes[m] for m in (
    expat.errors.XML_ERROR_NO_ELEMENTS, expat.errors.XML_ERROR_UNCLOSED_TOKEN,
    expat.errors.XML_ERROR_PARTIAL_CHAR, expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
)}


class WikipediaOptions(SourceOptions):
    namespaces: list[int] = Field(default_factory=lambda: [0], min_length=1)
    keep_redirects: bool = False
    keep_disambiguation: bool = False
    min_chars: int = Field(0, ge=0)  # shorter cleaned pages are dropped as "short"
    drop_sections: list[str] = Field(default_factory=lambda: list(TAIL_SECTIONS))
    max_parse_chars: int = Field(1_000_000, gt=0)  # larger pages use the regex cleaner (guards the tokenizer)
    base_url: str | None = None  # e.g. https://ja.wikipedia.org/wiki/ ; default from <dbname>/<base>
    # a multistream dump's `-index.txt.bz2` (lines offset:pageid:title): its stream offsets split the dump; by default
    # the index lying beside the dump under its usual name, else stream starts are found and verified
    index: str | None = None


@dataclass
class SiteInfo:
    dbname: str = ""
    base: str = ""
    namespaces: dict[int, str] = field(default_factory=dict)

    def namespace_of(self, title: str) -> int:
        prefix, colon, _ = title.partition(":")
        if not colon:
            return 0
        key = " ".join(prefix.replace("_", " ").split()).casefold()
        return self.namespace_keys.get(key, CANONICAL_NAMESPACES.get(key, 0))

    @cached_property
    def namespace_keys(self) -> dict[str, int]:  # first used by the first page, after <siteinfo> is complete
        return {" ".join(n.replace("_", " ").split()).casefold(): k for k, n in self.namespaces.items() if n}

    def url_prefix(self) -> str | None:
        if self.dbname == "jawiki":
            return "https://ja.wikipedia.org/wiki/"
        match = re.match(r"^(https?)(://[^/]+/(?:wiki/)?)", self.base)
        if match:
            scheme = "https" if match.group(2).endswith(".wikipedia.org/wiki/") else match.group(1)
            return scheme + match.group(2)
        lang = re.fullmatch(r"([a-z_]+)wiki", self.dbname)
        return f"https://{lang.group(1).replace('_', '-')}.wikipedia.org/wiki/" if lang else None


@dataclass
class Page:
    byte: int  # offset of <page> in the decompressed stream
    title: str = ""
    ns: int | None = None
    page_id: int | None = None
    revision_id: int | None = None
    timestamp: str | None = None
    text: str = ""
    redirect: str | None = None
    oversized: bool = False  # over max_record_bytes: its text is not collected and the page is skipped


def _int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


class DumpParser:
    """Expat callbacks that assemble <siteinfo> and one <page> at a time; finished pages wait in ``pages``."""

    LEAVES = frozenset({"title", "ns", "id", "timestamp", "text", "dbname", "base", "namespace"})

    def __init__(self, max_page_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        self.max_page_bytes = max_page_bytes
        self.oversized: deque[tuple[Page, int]] = deque()  # (page, bytes seen) found over the limit, to report
        self.expat = expat.ParserCreate()
        self.expat.buffer_text = True
        self.expat.buffer_size = 1 << 16
        self.expat.StartElementHandler = self.start
        self.expat.EndElementHandler = self.end
        self.expat.CharacterDataHandler = self.characters
        self.site = SiteInfo()
        self.pages: deque[Page] = deque()
        self.page: Page | None = None
        self.completed = 0
        self.last_page_id: int | None = None
        self.root: str | None = None
        self.stack: list[str] = []
        self.chars: list[str] | None = None  # collecting the text of a wanted leaf element
        self.namespace_key: int | None = None

    def feed(self, data: bytes, final: bool) -> None:
        self.expat.Parse(data, final)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag.rpartition(":")[2]
        if self.root is None:
            self.root = name
        self.stack.append(name)
        if name == "page":
            self.page = Page(byte=self.expat.CurrentByteIndex)
        elif name == "redirect" and self.page is not None:
            self.page.redirect = attrs.get("title", "")
        elif name == "namespace":
            self.namespace_key = _int(attrs.get("key", ""))
        self.chars = [] if name in self.LEAVES and not (self.page is not None and self.page.oversized) else None

    def characters(self, data: str) -> None:
        if self.chars is None:
            return
        page = self.page
        if page is not None:  # bytes of the decompressed stream since <page>: exact, and costs no encoding
            seen = self.expat.CurrentByteIndex - page.byte
            if seen > self.max_page_bytes:
                page.oversized, page.text, self.chars = True, "", None
                self.oversized.append((page, seen))
                return
        elif sum(map(len, self.chars)) > self.max_page_bytes:  # a bloated <siteinfo> leaf: stop collecting it
            self.chars = None
            return
        self.chars.append(data)

    def end(self, tag: str) -> None:
        name = self.stack.pop()
        parent = self.stack[-1] if self.stack else ""
        value = "".join(self.chars) if self.chars is not None else ""
        self.chars = None
        page = self.page
        if name == "page" and page is not None:
            if not page.oversized:
                self.pages.append(page)
            self.completed += 1
            self.last_page_id = page.page_id
            self.page = None
        elif page is not None and parent == "page":
            if name == "title":
                page.title = value
            elif name == "ns":
                page.ns = _int(value)
            elif name == "id":
                page.page_id = _int(value)
        elif page is not None and parent == "revision":  # several revisions: the last one wins
            if name == "id":
                page.revision_id = _int(value)
            elif name == "timestamp":
                page.timestamp = value
            elif name == "text":
                page.text = value
        elif parent == "siteinfo" and name in ("dbname", "base"):
            setattr(self.site, name, value.strip())
        elif name == "namespace" and self.namespace_key is not None:
            self.site.namespaces[self.namespace_key] = value.strip()

    def kept(self) -> str:
        return f"{self.completed} complete pages before it kept (last page id {self.last_page_id})"

    def fault(self, error: expat.ExpatError, final: bool) -> SourceError:
        position = {"byte": self.expat.ErrorByteIndex, "line": error.lineno, "column": error.offset}
        kept = self.kept()
        if self.root is None:
            return SourceError(f"no XML document: {expat.errors.messages[error.code]}", position)
        if final and error.code in TRUNCATION_ERRORS:
            inside = "/".join(self.stack) or self.root
            return SourceError(f"stream ended early: XML cut inside <{inside}>, no closing </{self.root}>; {kept}",
                               position)
        return SourceError(f"malformed XML: {expat.errors.messages[error.code]}; {kept}", position)


@register_source("wikipedia")
class WikipediaSource(Source):
    Options = WikipediaOptions
    default_license = "cc-by-sa-4.0"  # Wikipedia text is CC BY-SA 4.0
    split_rule = "page"  # a split gets the dump's header before its pages and a closing </mediawiki> after

    def read_file(self, path: str) -> Iterator[Document]:
        parser = DumpParser(self.options.max_record_bytes)
        stream = open_counted(path)  # raises SourceError (with the byte offset) on a cut or corrupt .bz2
        cleaner: WikitextCleaner | None = None
        try:
            while True:
                try:
                    chunk = stream.read(CHUNK_BYTES)
                except SourceError as exc:  # cut or corrupt .bz2: same position shape as XML faults
                    raise SourceError(f"{exc}; {parser.kept()}", {"byte": exc.position}) from exc
                fault = None
                try:
                    parser.feed(chunk, final=not chunk)
                except expat.ExpatError as exc:
                    fault = parser.fault(exc, final=not chunk)
                if parser.root not in (None, "mediawiki"):
                    raise SourceError(f"not a MediaWiki export: root element <{parser.root}>", 0)
                while parser.oversized:
                    page, seen = parser.oversized.popleft()
                    self.error(path, {"byte": page.byte, "page_id": page.page_id, "size": seen},
                               f"page over max_record_bytes ({parser.max_page_bytes}, {seen} bytes seen): skipped")
                while parser.pages:  # pages completed before a fault are still kept
                    cleaner = cleaner or self.make_cleaner(parser.site)
                    doc = self.page_document(parser.pages.popleft(), parser.site, path, cleaner)
                    if doc is not None:
                        yield doc
                if fault is not None:
                    raise fault
                if not chunk:
                    break
        finally:
            stream.close()
            if cleaner is not None and cleaner.fallbacks:
                self.ledger.count(self.source_name, "wikitext_regex_fallback", cleaner.fallbacks)
            if cleaner is not None and cleaner.timeouts:
                self.ledger.count(self.source_name, "wikitext_tokenizer_timeout", cleaner.timeouts)

    def make_cleaner(self, site: SiteInfo) -> WikitextCleaner:
        hidden = [site.namespaces[k] for k in HIDDEN_NAMESPACES if site.namespaces.get(k)]
        opts: WikipediaOptions = self.options
        return WikitextCleaner(opts.drop_sections, hidden, opts.max_parse_chars, max_seconds=opts.max_record_seconds)

    def page_document(self, page: Page, site: SiteInfo, path: str, cleaner: WikitextCleaner) -> Document | None:
        opts: WikipediaOptions = self.options
        self._position = {"byte": page.byte, "page_id": page.page_id}
        prefix = opts.base_url or site.url_prefix()
        meta = {
            "title": page.title,
            "page_id": page.page_id,
            "revision_id": page.revision_id,
            "timestamp": page.timestamp,
            "url": prefix + quote(page.title.replace(" ", "_"), safe=";:@$!*(),/~") if prefix else None,
        }
        locator = f"page={page.page_id}" if page.page_id is not None else f"byte={page.byte}"
        namespace = page.ns if page.ns is not None else site.namespace_of(page.title)
        target = page.redirect if page.redirect is not None else redirect_target(page.text)

        reason = None
        if namespace not in opts.namespaces:
            reason = "namespace"
        elif target is not None and not opts.keep_redirects:
            reason = "redirect"
        elif not opts.keep_disambiguation and target is None and is_disambiguation(page.text, page.title):
            reason = "disambiguation"
        if reason is not None:  # dropped pages keep their wikitext (cleaning them would cost time for nothing)
            self.drop(self.document(page.text, path, locator, **meta), reason)
            return None

        try:
            text = cleaner.clean(page.text)
        except RecordTimeout:  # both cleaners past max_record_seconds: dropped, its wikitext kept for inspection
            self.drop(self.document(page.text, path, locator, **meta), "timeout")
            return None
        if target is not None:
            meta["redirect"] = target
        doc = self.document(text, path, locator, **meta)
        if not text.strip() or len(text) < opts.min_chars:
            self.drop(doc, "empty" if not text.strip() else "short")
            return None
        return doc
