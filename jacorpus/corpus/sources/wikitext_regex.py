"""The regex side of wikitext cleaning: a fallback renderer for pages the tokenizer should not see, the final
scrub every output passes, the estimate of how long the tokenizer would backtrack on unclosed markup, and the
page classifiers (redirect, disambiguation) that work on raw wikitext."""

from __future__ import annotations

import html
import re
from typing import Callable

# sections dropped by default (the wikipedia source and JSON lines with markup: wikitext); here, not in
# wikitext.py, so that a recipe's options need not load the tokenizer (mwparserfromhell)
TAIL_SECTIONS = (
    "脚注", "注釈", "注", "註", "註釈", "出典", "参考文献", "参考", "参考資料", "参照", "引用", "引用文献", "文献",
    "関連項目", "関連文献", "関連書籍", "外部リンク", "関連リンク", "参考サイト", "参考リンク",
    "see also", "references", "notes", "footnotes", "citations", "sources", "bibliography", "further reading",
    "external links", "external link", "works cited",
)

HEADING_MARK = "\x1e"  # "\x1e<level>\x1f<title>" on its own line, never in real text (control chars)


def _flags(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags | re.IGNORECASE)


COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
REF = _flags(r"<ref\b[^<>]{0,1000}?/>|<ref\b[^<>]{0,1000}(?<!/)>(?:(?!<ref\b).)*?</ref\s*>", re.S)  # unclosed: STRAY
DROPPED_BLOCK = _flags(r"<(math|gallery|pre|source|syntaxhighlight|timeline|score|chem|ce|references|imagemap|"
                       r"templatedata|graph|mapframe|hiero|table)\b[^<>]{0,1000}>(?:(?!<\1\b).)*?</\1\s*>", re.S)
TABLE = re.compile(r"^[ \t:]*\{\|(?:(?!^[ \t:]*\{\|).)*?^[ \t]*\|\}", re.S | re.M)  # innermost wiki table
TEMPLATE = re.compile(r"\{\{(?:(?!\{\{|\}\}).)*\}\}", re.S)  # innermost template
LINK = re.compile(r"\[\[((?:(?!\[\[|\]\]).)*)\]\]", re.S)  # innermost wikilink
EXTERNAL = _flags(r"\[(?:https?:|ftp:)?//[^\s\]\[]{0,2000}[ \t]*([^\]\[\n]{0,500})\]")  # bounded: linear on junk
BARE_URL = _flags(r"\bhttps?://[^\s<>\]\[|]+")
BREAK = _flags(r"<br\s*/?>|<hr\s*/?>")
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
HEADING = re.compile(r"^(={1,6})\s*(.+?)\s*\1\s*$", re.M)
LIST_MARKER = re.compile(r"^[*#:;]+[ \t]*", re.M)
QUOTES = re.compile(r"'{2,}")
MAGIC_WORDS = re.compile(r"__(?:[A-Z]{2,}|目次|目次非表示|目次強制|節編集非表示|新しい節リンク|新しい節リンク非表示|"
                         r"索引|索引拒否|非表示カテゴリ|曖昧さ回避|カテゴリ非表示)__")
EMPTY_BRACKETS = re.compile(r"（[\s、，,;；:：]*）|\([\s、，,;；:]*\)")
STRAY = re.compile(r"\{\{+|\}\}+|\[\[+|\]\]+|\{\||\|\}|</?ref(?![a-z])(?:[^<>\n]{0,200}?>)?|'{2,}", re.I)
SPACES = re.compile(r"[ \t]{2,}")
RESIDUE = re.compile(r"^(?:\{\||\|[-+}]?|!)")  # lines of a table the tokenizer could not balance


def _repeat(pattern: re.Pattern[str], replace, text: str, limit: int = 30) -> str:
    """Innermost-first substitution, so nested constructs resolve inside out."""
    for _ in range(limit):
        text, n = pattern.subn(replace, text)
        if not n:
            break
    return text


def regex_render(wikitext: str, link: Callable[[str, str | None], str]) -> str:
    text = DROPPED_BLOCK.sub("", REF.sub("", COMMENT.sub("", wikitext)))
    text = _repeat(TABLE, "", text)
    text = _repeat(TEMPLATE, "", text)
    text = _inline_regex(text, link)
    text = HEADING.sub(lambda m: f"{HEADING_MARK}{len(m.group(1))}\x1f{m.group(2)}", text)
    return html.unescape(LIST_MARKER.sub("", text)).replace("\xa0", " ")


def _inline_regex(text: str, link: Callable[[str, str | None], str]) -> str:
    def one_link(m: re.Match[str]) -> str:
        title, bar, label = m.group(1).partition("|")
        return link(title, label if bar else None)

    text = _repeat(LINK, one_link, text)
    text = EXTERNAL.sub(lambda m: m.group(1).strip(), text)
    text = BREAK.sub("\n", text)
    return HTML_TAG.sub("", text)


def scrub(rendered: str, link: Callable[[str, str | None], str]) -> str:
    """Applied to every output: style quotes, magic words, empty brackets left by removed templates, URLs, and
    whatever markup an unbalanced page left behind."""
    text = QUOTES.sub("", MAGIC_WORDS.sub("", rendered))
    if "{{" in text or "[[" in text or "<" in text:
        text = _repeat(TEMPLATE, "", REF.sub("", COMMENT.sub("", text)))
        text = _inline_regex(text, link)
    text = EMPTY_BRACKETS.sub("", BARE_URL.sub("", text))
    return _repeat(STRAY, "", text, limit=10)  # removing "}}" from "|}}}" leaves "|}": repeat until none is left


def is_markup_residue(line: str) -> bool:
    return bool(RESIDUE.match(line))


# -- tokenizer guard -------------------------------------------------------------------------------------------------
OPENERS_CLOSERS = re.compile(
    r"\{+|\}+|\[+|\]+|<!--|-->|<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*?(?:(/?)(>)|(?=<)|\Z)"  # a tag, closed by > or not
)
VOID_TAGS = frozenset({"br", "wbr", "hr", "meta", "link", "img"})


def unclosed_cost(text: str) -> float:
    """Sum, over openers never closed ({{, [[, <tag>, <!--), of the text after them. The C tokenizer tries each
    such opener to the end of the page before giving up (measured: ~0.2 s per opener per MB), so this predicts
    its time in one linear pass. Braces and brackets count by characters, so {{{ }}} and }}}} pair up."""
    open_at: dict[str, list[int]] = {}
    for match in OPENERS_CLOSERS.finditer(text):
        token = match.group(0)
        first = token[0]
        if first in "{[":
            open_at.setdefault(first, []).extend([match.start()] * len(token))
        elif first in "}]":
            stack = open_at.get("{" if first == "}" else "[", [])
            del stack[max(0, len(stack) - len(token)):]
        elif match.group(2):
            name = match.group(2).casefold()
            if match.group(4) is None:  # "<ref name=x" with no ">": the tokenizer retries it to the end
                open_at.setdefault("<", []).append(match.start())
                continue
            if match.group(3) or name in VOID_TAGS:
                continue
            stack = open_at.setdefault(name, [])
            if not match.group(1):
                stack.append(match.start())
            elif stack:
                stack.pop()
        elif token == "<!--":
            open_at.setdefault(token, []).append(match.start())
        elif open_at.get("<!--"):
            open_at["<!--"].pop()
    n = len(text)
    return sum((n - at) / (2 if key in "{[" else 1) for key, stack in open_at.items() for at in stack)


# -- page classifiers ----------------------------------------------------------------------------------------------
REDIRECT = _flags(r"^\s*#\s*(?:redirect|転送|リダイレクト)\s*:?\s*\[\[([^\]|]*)")
REDIRECT_DIRECTIVE = _flags(r"^\s*#\s*(?:redirect|転送|リダイレクト)\s*:?(?=\s*\[\[)")
DISAMBIGUATION_TEMPLATE = _flags(
    r"\{\{\s*(?:template:|テンプレート:)?\s*(?:aimai|(?:[^{}|\s]{1,6}の)?曖昧さ回避|disambig|disambiguation|dab|disamb|"
    r"geodis|hndis|numberdis|schooldis|hospitaldis|mathdab|roaddis|letter-numbercombdisambig)\s*(?:\||\}\})"
)
DISAMBIGUATION_CATEGORY = _flags(  # [[Category:曖昧さ回避]], [[Category:山の曖昧さ回避]] (not 要曖昧さ回避 tags)
    r"\[\[\s*(?:category|カテゴリ)\s*:\s*(?:[^\]|]{0,20}の)?(?:曖昧さ回避|disambiguation pages)\s*(?:\||\]\])"
)
DISAMBIGUATION_TITLE = _flags(r"[（(](?:曖昧さ回避|disambiguation)[)）]\s*$")


def redirect_target(wikitext: str) -> str | None:
    """The target of a redirect page written as text (schema 0.3 has no <redirect> element)."""
    match = REDIRECT.match(wikitext)
    return match.group(1).strip() if match else None


def is_disambiguation(wikitext: str, title: str = "") -> bool:
    return bool(
        DISAMBIGUATION_TITLE.search(title)
        or DISAMBIGUATION_TEMPLATE.search(wikitext)
        or DISAMBIGUATION_CATEGORY.search(wikitext)
    )
