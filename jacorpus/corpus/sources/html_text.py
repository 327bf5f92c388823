"""HTML (already decoded to str) -> main text, title and canonical URL. Shared by the warc and html sources.

Main text comes from trafilatura. When it finds nothing (table-layout shop pages, very short pages), a small
block-level extractor keeps the text blocks that are not mostly links. Furigana (``<rt>``/``<rp>`` of
``<ruby>``) is removed first so "大雨(おおあめ)" does not become "大雨おおあめ". Entities and numeric character
references are decoded by the HTML parser.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from jacorpus.corpus.limits import RecordTimeout, record_deadline

MAX_HTML_CHARS = 4_000_000  # beyond this a "page" is a data dump; parsing it all buys nothing
DROP_TAGS = ("script", "style", "noscript", "template", "svg", "math", "iframe", "object", "select", "button",
             "head", "nav", "header", "footer", "aside", "form", "textarea")  # fmt: skip
BLOCK_TAGS = frozenset(
    "address article blockquote body dd div dl dt figcaption h1 h2 h3 h4 h5 h6 li main ol p pre section table "
    "tbody td th tr ul caption center".split()
)
FORM_CONTENT_CHARS = 100
MIN_BLOCK_CHARS = 8  # shorter blocks are menu items, buttons, breadcrumbs
MAX_LINK_SHARE = 0.5
TABLE_ROW = re.compile(r"^\|(.*)\|[ \t]*$", re.M)
SPACES = re.compile(r"[ \t\u00a0\r\f\v]+")  # U+3000 is left alone: in Japanese it is text, not layout
Extractor = Literal["trafilatura", "basic"]


@dataclass(frozen=True)
class PageText:
    text: str
    title: str | None
    canonical_url: str | None
    extractor: str  # which extractor produced ``text``: trafilatura | basic | "" when nothing was found


def parse_html(html: str) -> Any | None:
    """lxml tree of the page, or None when there is nothing to parse. Fed as UTF-8 bytes so a leftover
    ``<meta charset>`` or ``<?xml encoding?>`` declaration cannot make lxml decode a second time."""
    import lxml.html
    from lxml import etree

    data = html[:MAX_HTML_CHARS].replace("\x00", "").encode("utf-8", "replace")
    if not data.strip():
        return None
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        tree = lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None
    etree.strip_elements(tree, "rt", "rp", with_tail=False)
    unwrap_content_forms(tree)
    return tree


def unwrap_content_forms(tree: Any) -> None:
    """Keep the content of forms that hold the page (shop pages, ASP.NET pages wrap everything in ``<form>``).
    Both extractors discard forms; small ones (search boxes, log-ins) still go."""
    for form in [form for form in tree.iter("form") if len(clean_lines(form.text_content())) >= FORM_CONTENT_CHARS]:
        form.tag = "div"


def clean_lines(text: str) -> str:
    lines = (SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def page_title(tree: Any) -> str | None:
    for xpath in ("//meta[@property='og:title']/@content", "//title//text()", "//h1//text()"):
        found = clean_lines(" ".join(tree.xpath(xpath))).replace("\n", " ")
        if found:
            return found
    return None


def canonical_url(tree: Any) -> str | None:
    found = tree.xpath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
    return found[0].strip() if found and found[0].strip() else None


def trafilatura_text(tree: Any, url: str | None) -> str:
    import trafilatura

    # tables kept: old Japanese sites lay out their main text in tables
    text = trafilatura.extract(tree, url=url, include_comments=False, include_tables=True, deduplicate=False)
    return clean_lines(TABLE_ROW.sub(table_row_text, text or ""))


def table_row_text(match: re.Match[str]) -> str:
    """trafilatura writes table rows as "| cell | cell |"; the pipes are markup, not text."""
    return " ".join(cell.strip() for cell in match.group(1).split("|") if cell.strip())


def basic_text(tree: Any) -> str:
    """Text of blocks that are not mostly link text, in document order (the fallback extractor)."""
    from lxml import etree

    body = tree.find("body")
    root = body if body is not None else tree
    etree.strip_elements(root, *DROP_TAGS, with_tail=False)
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    kept: list[str] = []
    for block in root.iter(*BLOCK_TAGS):
        own, link_chars = own_text(block)
        text = clean_lines(own)
        if len(text.replace("\n", "")) >= MIN_BLOCK_CHARS and link_chars <= MAX_LINK_SHARE * len(own.strip()):
            kept.append(text)
    return clean_lines("\n".join(kept))


def own_text(element: Any, in_link: bool = False) -> tuple[str, int]:
    """Text of a block outside its nested blocks (they are visited on their own), and how much of it is link text."""
    in_link = in_link or element.tag == "a"
    parts, link_chars = [element.text or ""], len(element.text or "") if in_link else 0
    for child in element:
        if isinstance(child.tag, str) and child.tag not in BLOCK_TAGS:
            text, links = own_text(child, in_link)
            parts.append(text)
            link_chars += links
        elif isinstance(child.tag, str):
            parts.append("\n")
        parts.append(child.tail or "")
        link_chars += len(child.tail or "") if in_link else 0
    return "".join(parts), link_chars


def extract_page(
    html: str, url: str | None = None, extractor: Extractor = "trafilatura", max_seconds: float | None = None
) -> PageText:
    """Main text of a page. trafilatura gets half of ``max_seconds``, then the basic extractor runs on what is
    left; past that ``RecordTimeout`` reaches the caller (which drops the page with reason ``timeout``)."""
    started = time.monotonic()
    with record_deadline(max_seconds):
        tree = parse_html(html)
    if tree is None:
        return PageText("", None, None, "")
    title, canonical = page_title(tree), canonical_url(tree)
    text = ""
    if extractor == "trafilatura":
        from copy import deepcopy

        try:
            with record_deadline(max_seconds / 2 if max_seconds else None):
                text = trafilatura_text(deepcopy(tree), url)  # trafilatura prunes the tree it is given
        except RecordTimeout:
            text = ""
        if text:
            return PageText(text, title, canonical, "trafilatura")
    left = max_seconds - (time.monotonic() - started) if max_seconds else None
    with record_deadline(max(left, 0.01) if left is not None else None):
        text = basic_text(tree)
    return PageText(text, title, canonical, "basic" if text else "")
