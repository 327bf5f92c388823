"""RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom 0.3/1.0 feeds (`feed`): one document per item.

A document is the item's title, a blank line, then its body: the longest of ``content:encoded`` / Atom
``content`` and ``description`` / ``summary``, whose HTML (escaped or CDATA) goes through the same extractor as
the ``html`` source. Metadata: the item ``url`` (link), ``date`` (pubDate, dc:date, published, updated, issued,
modified), ``feed_title``, ``feed_format`` and the ``charset`` the feed was decoded with. An item with no body
text is dropped as ``no_text``.

Bytes are decoded with the web sources' charset rules (``<?xml encoding?>`` and other declarations, then
detection; see ``charset.py``), so EUC-JP / Shift_JIS / ISO-2022-JP blogs that lie about their encoding still
read. The text is then parsed by lxml with DTDs, network access and entity expansion off (no external entities,
no "billion laughs"). HTML named entities such as ``&nbsp;``, common in hand-written feeds but undefined in XML,
are turned into character references first. A file that is not a feed (an HTML page saved as ``.xml``) or is
malformed is an input error with its line and column; the items completed before a fault are kept.
"""

from __future__ import annotations

import html
import html.entities
import io
import re
from typing import Any, Iterator

from datatrove.data import Document

from jacorpus.corpus.sources.base import SourceError, register_source
from jacorpus.corpus.sources.html_text import clean_lines, extract_page
from jacorpus.corpus.sources.web import HtmlOptions, HtmlSource

FEED_ROOTS = {"rss": "rss", "RDF": "rss1", "feed": "atom"}
ITEM_TAGS = frozenset({"item", "entry"})
BODY_TAGS = ("encoded", "content", "description", "summary")  # local names; the first with text wins (full
# text before the excerpt: content:encoded / Atom content hold the post, description / summary often a cut "...")
DATE_TAGS = ("pubDate", "date", "published", "updated", "issued", "modified", "created")
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
NAMED_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{1,31});")


class FeedOptions(HtmlOptions):
    extensions: list[str] = [".xml", ".rss", ".rdf", ".atom"]  # of feeds found in folders and globs


def local_name(element: Any) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def html_entities_as_references(text: str) -> str:
    """``&nbsp;`` -> ``&#160;``: XML knows five named entities; feeds written by hand use HTML's."""

    def replace(match: re.Match[str]) -> str:
        codepoint = html.entities.name2codepoint.get(match.group(1))
        return f"&#{codepoint};" if codepoint is not None else match.group(0)

    return NAMED_ENTITY.sub(replace, text)


def element_markup(element: Any) -> str:
    """The HTML an item field carries: escaped or CDATA text, or (Atom ``type="xhtml"``) inline elements."""
    from lxml import etree

    parts = [element.text or ""]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


def item_link(item: Any) -> str | None:
    """RSS ``<link>text``; Atom ``<link rel="alternate" href>`` (rel defaults to alternate); else the guid."""
    fallback = None
    for child in item:
        name = local_name(child)
        if name == "link":
            href = child.get("href")
            if href is None and (child.text or "").strip():
                return child.text.strip()
            if href and child.get("rel", "alternate") == "alternate":
                return href.strip()
        elif name in ("guid", "id") and (child.text or "").strip().startswith("http"):
            fallback = child.text.strip()
    about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    return fallback or (about.strip() if about else None)


@register_source("feed")
class FeedSource(HtmlSource):
    Options = FeedOptions

    def read_file(self, path: str) -> Iterator[Document]:
        from lxml import etree

        decoded = self.read_decoded(path, "feed")
        # already decoded: the declaration must not make lxml decode again (it is kept as a line, for positions)
        text = XML_DECLARATION.sub(lambda m: "\n" * m.group(0).count("\n"), decoded.text.lstrip("\ufeff"), count=1)
        xml = html_entities_as_references(text).encode("utf-8")
        parser = etree.iterparse(
            io.BytesIO(xml), events=("start", "end"), load_dtd=False, no_network=True, resolve_entities=False,
            huge_tree=False, remove_comments=True, remove_pis=True,
        )
        feed_format = feed_title = None
        number = 0
        try:
            for event, element in parser:
                name = local_name(element)
                if feed_format is None:
                    feed_format = FEED_ROOTS.get(name)
                    if feed_format is None:
                        raise SourceError(f"not an RSS or Atom feed: root element <{name}>", {"line": element.sourceline})
                    continue
                if event != "end":
                    continue
                parent = element.getparent()
                if name == "title" and feed_title is None and parent is not None and local_name(parent) in ("channel", "feed"):
                    feed_title = clean_lines(element_text(element)).replace("\n", " ") or None
                elif name in ITEM_TAGS:
                    number += 1
                    self._position = {"item": number, "line": element.sourceline}
                    doc = self.item_document(element, path, number, feed_format, feed_title, decoded.charset)
                    if doc is not None:
                        yield doc
                    element.clear()
                    while element.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as exc:
            line, column = exc.position
            where = {"line": line, "column": column, "items_before": number}
            raise SourceError(f"malformed feed: {exc.msg}; {number} item(s) before it kept", where) from exc
        if feed_format is None:
            raise SourceError("not an RSS or Atom feed: no root element", 0)

    def item_document(self, item: Any, path: str, number: int, feed_format: str, feed_title: str | None,
                      charset: str) -> Document | None:
        fields: dict[str, list[Any]] = {}
        for child in item:
            fields.setdefault(local_name(child), []).append(child)
        # titles are plain text by the specs, yet feeds escape HTML in them ("&amp;lt;DVD&amp;gt;"): unescaped once
        title = " ".join(element_text(e) for e in fields.get("title", [])[:1])
        title = clean_lines(html.unescape(title) if "&" in title else title).replace("\n", " ")
        body = next((text for tag in BODY_TAGS for e in fields.get(tag, []) if (text := self.body_text(e))), "")
        date = next((clean_lines(element_text(fields[t][0])) for t in DATE_TAGS if t in fields), None)
        meta = {"title": title or None, "url": item_link(item), "date": date or None, "feed_title": feed_title,
                "feed_format": feed_format, "charset": charset}
        text = "\n\n".join(t for t in (title, body) if t)
        doc = self.document(text, path, f"item={number}", **meta)
        if not body:
            self.drop(doc, "no_text")
            return None
        return doc

    def body_text(self, element: Any) -> str:
        kind = (element.get("type") or "").lower()
        if kind in ("text", "text/plain"):
            return clean_lines(element_text(element))
        markup = element_markup(element)
        if not markup.strip():
            return ""
        page = extract_page(f"<html><body>{markup}</body></html>", extractor=self.options.extractor)
        return page.text


def element_text(element: Any) -> str:
    from lxml import etree

    return etree.tostring(element, method="text", encoding="unicode", with_tail=False)
