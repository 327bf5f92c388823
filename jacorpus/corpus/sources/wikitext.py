"""Wikitext to clean plain text, plus the page classifiers (redirect, disambiguation) the wikipedia source uses.

mwparserfromhell's C tokenizer does the hard part (balanced templates, links, tags, tables); its Python tree
builder costs ~6x the tokenizer, so ``WikitextCleaner`` renders the flat token stream itself with a frame stack.
Pages above ``max_parse_chars``, pages whose unclosed markup would make the tokenizer backtrack for long
(``unclosed_cost``), and pages the tokenizer rejects go through a regex cleaner instead, and every
output passes a final scrub, so no markup survives either way. Headings travel as marker lines until
``finish`` decides which sections to keep (tail sections such as 脚注/参考文献/外部リンク are dropped).
"""

from __future__ import annotations

import html
import re
import time
from typing import Callable, Iterable

from mwparserfromhell.parser import tokens as T

try:
    from mwparserfromhell.parser._tokenizer import CTokenizer as Tokenizer
except ImportError:  # pure-Python build of mwparserfromhell: same tokens, slower
    from mwparserfromhell.parser.tokenizer import Tokenizer  # type: ignore[assignment]

from jacorpus.corpus.limits import DEFAULT_MAX_RECORD_SECONDS, RecordTimeout, record_deadline
from jacorpus.corpus.sources.wikitext_regex import (
    HEADING_MARK,
    REDIRECT_DIRECTIVE,
    SPACES,
    TAIL_SECTIONS,
    is_markup_residue,
    regex_render,
    scrub,
    unclosed_cost,
)


OPENERS = {
    T.TemplateOpen: "template", T.ArgumentOpen: "argument", T.WikilinkOpen: "link", T.ExternalLinkOpen: "extlink",
    T.HTMLEntityStart: "entity", T.HeadingStart: "heading", T.CommentStart: "comment", T.TagOpenOpen: "tag",
}
SEPARATORS = (T.TemplateParamSeparator, T.ArgumentSeparator, T.WikilinkSeparator, T.ExternalLinkSeparator)
CLOSERS = (
    T.TemplateClose, T.ArgumentClose, T.WikilinkClose, T.ExternalLinkClose, T.HTMLEntityEnd, T.HeadingEnd,
    T.CommentEnd, T.TagCloseSelfclose, T.TagCloseClose,
)


# -- rules ---------------------------------------------------------------------------------------------------------
SECTION_SEPARATORS = re.compile(r"\s*(?:[・、，,/／&＆]|および|及び|と|\band\b)\s*")


def section_words(title: str) -> list[str]:
    """"脚注・出典" -> ["脚注", "出典"]; a heading is a tail section when all its words are tail words."""
    return [p.replace(" ", "") for p in SECTION_SEPARATORS.split(title.strip().casefold()) if p]


# links into these namespaces are not shown as text (files, categories); siteinfo adds the dump's local names
HIDDEN_LINK_PREFIXES = frozenset({"file", "image", "media", "category", "ファイル", "画像", "メディア", "カテゴリ"})
INTERLANGUAGE = re.compile(r"^(?:[a-z]{2,3}(?:-[a-z0-9]+)*|simple)$")  # [[en:Foo]] at the page bottom
SISTER_PREFIXES = {"mw", "voy", "wmf"}
PIPE_TRICK = re.compile(r"\s*[（(][^()（）]*[)）]\s*$")


def link_text(title: str, text: str | None, hidden_prefixes: frozenset[str] | set[str]) -> str:
    title = title.strip()
    inline = title.startswith(":")  # [[:Category:X]] links to the page instead of categorising
    title = title.lstrip(":").strip()
    prefix, colon, rest = title.partition(":")
    if colon and not inline:
        if prefix.strip().casefold() in hidden_prefixes:
            return ""
        if INTERLANGUAGE.match(prefix.strip()) and prefix.strip() not in SISTER_PREFIXES:
            return ""
    if text is not None:
        if text.strip():
            return text
        return PIPE_TRICK.sub("", rest if colon else title)  # [[a (b)|]] shows "a"
    return title.lstrip("#")


def entity(name: str, numeric: bool, hexadecimal: bool) -> str:
    try:
        char = chr(int(name, 16 if hexadecimal else 10)) if numeric else html.unescape(f"&{name};")
    except (ValueError, OverflowError):
        return ""
    return " " if char in ("\xa0", "\u2009", "\u200b") or char == f"&{name};" else char


# tags whose contents are not prose (references, tables, code, formulas, galleries, ruby readings...)
DROPPED_TAGS = frozenset({
    "ref", "references", "table", "gallery", "math", "chem", "ce", "score", "timeline", "imagemap", "syntaxhighlight",
    "source", "pre", "templatedata", "templatestyles", "mapframe", "maplink", "graph", "hiero", "includeonly", "rt",
    "rp", "style", "script", "indicator", "categorytree", "inputbox", "charinsert", "section", "caption",
})
BLOCK_TAGS = frozenset({"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "center", "poem", "tr",
                        "h1", "h2", "h3", "h4", "h5", "h6"})


def render_tag(name: str, body: str, selfclose: bool) -> str:
    name = name.strip().casefold()
    if selfclose:  # <br/>, <hr/>, and list markers (* # ; :) which the tokenizer emits as empty tags
        return "\n" if name in ("br", "hr") else ""
    if name in DROPPED_TAGS:
        return ""
    return f"\n{body}\n" if name in BLOCK_TAGS else body


def _param(positional: list[str], named: dict[str, str], n: int) -> str:
    return named.get(str(n)) or (positional[n - 1] if len(positional) >= n else "")


def _date(positional: list[str], named: dict[str, str], first: int) -> str:
    y, m, d = (_param(positional, named, first + i) for i in range(3))
    return "".join(f"{v}{unit}" for v, unit in ((y, "年"), (m, "月"), (d, "日")) if v)


TemplateRule = Callable[[list[str], dict[str, str]], str]
# templates whose output is part of the sentence; every other template (infobox, navbox, 要出典...) is removed
INLINE_TEMPLATES: dict[str, TemplateRule] = {
    "lang": lambda p, n: _param(p, n, 2),
    "color": lambda p, n: _param(p, n, 2),
    "colour": lambda p, n: _param(p, n, 2),
    "読み仮名": lambda p, n: _param(p, n, 1) + (f"（{_param(p, n, 2)}）" if _param(p, n, 2) else ""),
    "読み仮名 ruby不使用": lambda p, n: _param(p, n, 1) + (f"（{_param(p, n, 2)}）" if _param(p, n, 2) else ""),
    "生年月日と年齢": lambda p, n: _date(p, n, 1),
    "死亡年月日と没年齢": lambda p, n: _date(p, n, 4),
    "convert": lambda p, n: " ".join(x for x in (_param(p, n, 1), _param(p, n, 2)) if x),
    "quote": lambda p, n: _param(p, n, 1) or n.get("text", ""),
    "blockquote": lambda p, n: _param(p, n, 1) or n.get("text", ""),
}
FIRST_PARAM_TEMPLATES = frozenset({
    "仮リンク", "ill", "illm", "interlanguage link", "interlanguage link multi", "ruby", "ルビ", "nihongo", "nowrap",
    "nobr", "small", "smaller", "big", "larger", "visible anchor", "vanc", "unicode", "math", "mvar", "abbr",
    "cquote", "quotation", "keep together",
})


# jawiki's language shortcuts ({{el|και}} = {{lang|el|και}}); a closed list, since {{efn|...}} or {{sfn|...}} look alike
LANGUAGE_SHORTCUTS = frozenset(
    "en fr de la el grc it es pt ru uk pl cs nl sv da no fi is hu ro tr ar fa he hi sa th vi id ms ko zh zh-tw zh-cn "
    "mn bo ain eo ga cy gd".split()
)
CONSTANT_TEMPLATES = {"nbsp": " ", "spaces": " ", "snd": " – ", "ndash": "–", "mdash": "—", "'": "'", "dot": "·", "·": "·"}


def render_template(name: str, positional: list[str], named: dict[str, str]) -> str:
    key = " ".join(name.replace("_", " ").split()).casefold()
    for prefix in ("subst:", "safesubst:", "template:", "テンプレート:"):
        key = key.removeprefix(prefix)
    if key in INLINE_TEMPLATES:
        return INLINE_TEMPLATES[key](positional, named)
    if key in FIRST_PARAM_TEMPLATES or key.startswith(("lang-", "ipa-")) or key == "ipa" or key.endswith(("範囲", "フォント")):
        return _param(positional, named, 1)  # {{lang-en|x}}, {{要出典範囲|x}}, {{補助漢字フォント|x}}, {{IPA|x}}
    if key in CONSTANT_TEMPLATES:
        return CONSTANT_TEMPLATES[key]
    if key in LANGUAGE_SHORTCUTS and len(positional) == 1:
        return positional[0]  # jawiki's language shortcuts: {{el|και}}, {{en|...}}
    return ""


# -- regex path (huge pages, tokenizer faults) and the final scrub -------------------------------------------------
class Frame:
    """An open construct: its text so far, split into segments at separators (template params, link text)."""

    __slots__ = ("kind", "segments", "token", "equals", "body", "selfclose", "numeric", "hexadecimal")

    def __init__(self, kind: str, token: T.Token | None = None) -> None:
        self.kind = kind
        self.token = token
        self.segments: list[list[str]] = [[]]
        self.equals: dict[int, int] = {}  # template param index -> position of its first "="
        self.body = -1  # tag: segment index of the contents
        self.selfclose = self.numeric = self.hexadecimal = False

    def joined(self, index: int) -> str:
        return "".join(self.segments[index]) if index < len(self.segments) else ""


class WikitextCleaner:
    def __init__(
        self,
        drop_sections: Iterable[str] = TAIL_SECTIONS,
        hidden_link_prefixes: Iterable[str] = (),
        max_parse_chars: int = 1_000_000,
        max_unclosed_cost: float = 5_000_000,  # ~1 s of tokenizer backtracking at worst (2e-7 s per unit)
        max_seconds: float | None = DEFAULT_MAX_RECORD_SECONDS,  # per page, both paths together
    ) -> None:
        self.drop_sections = {w for s in drop_sections for w in section_words(s)}
        self.hidden_prefixes = HIDDEN_LINK_PREFIXES | {p.casefold() for p in hidden_link_prefixes}
        self.max_parse_chars = max_parse_chars
        self.max_unclosed_cost = max_unclosed_cost
        self.max_seconds = max_seconds
        self.fallbacks = 0  # pages cleaned by the regex path (size guard, tokenizer failure or timeout)
        self.timeouts = 0  # pages whose tokenizer path went past half of max_seconds (then cleaned by regex)

    def clean(self, wikitext: str) -> str:
        """Clean text of one page. The tokenizer path gets half of ``max_seconds`` (the cost estimate misses some
        misnested markup: measured 40 s for 96 KB), the regex path what is left; past that ``RecordTimeout``."""
        wikitext = REDIRECT_DIRECTIVE.sub("", wikitext, count=1)  # a kept redirect reads as its target
        if not wikitext.strip():
            return ""
        started = time.monotonic()
        if len(wikitext) <= self.max_parse_chars and (
            len(wikitext) ** 2 <= self.max_unclosed_cost or unclosed_cost(wikitext) <= self.max_unclosed_cost
        ):
            try:
                with record_deadline(self.max_seconds / 2 if self.max_seconds else None):
                    # style tags ('' ''') are left as text and stripped later: their backtracking is the slow part
                    return self.finish(self.render(Tokenizer().tokenize(wikitext, 0, True)))
            except RecordTimeout:
                self.timeouts += 1
            except Exception:  # noqa: BLE001 - the tokenizer's own faults: use the regex path
                pass
        self.fallbacks += 1
        left = self.max_seconds - (time.monotonic() - started) if self.max_seconds else None
        with record_deadline(max(left, 0.01) if left is not None else None):  # RecordTimeout goes to the caller
            return self.finish(regex_render(wikitext, self.link_text))

    # -- token stream -> text ------------------------------------------------------------------------------------
    def render(self, tokens: list[T.Token]) -> str:
        stack = [Frame("root")]
        for token in tokens:
            cls = type(token)
            top = stack[-1]
            if cls is T.Text:
                top.segments[-1].append(token["text"])
            elif cls in OPENERS:
                stack.append(Frame(OPENERS[cls], token))
            elif cls in SEPARATORS:
                if top.kind == "link" and len(top.segments) > 1:
                    top.segments[-1].append("|")  # [[a|b|c]]: only the first pipe separates
                else:
                    top.segments.append([])
            elif cls is T.TemplateParamEquals:
                top.equals.setdefault(len(top.segments) - 1, len(top.segments[-1]))
            elif cls is T.TagAttrStart:
                if len(top.segments) == 1:
                    top.segments.append([])  # attributes: collected apart from the name, then ignored
            elif cls is T.TagCloseOpen:
                top.body = len(top.segments)
                top.segments.append([])
            elif cls is T.TagOpenClose:
                top.segments.append([])  # closing tag name, ignored
            elif cls is T.HTMLEntityNumeric:
                top.numeric = True
            elif cls is T.HTMLEntityHex:
                top.hexadecimal = True
            elif cls in CLOSERS and len(stack) > 1:
                top.selfclose = cls is T.TagCloseSelfclose
                stack.pop()
                stack[-1].segments[-1].append(self.close(top))
        while len(stack) > 1:  # the tokenizer balances its output; this is only a safety net
            frame = stack.pop()
            stack[-1].segments[-1].append(self.close(frame))
        return stack[0].joined(0)

    def close(self, frame: Frame) -> str:
        kind = frame.kind
        if kind == "template":
            positional, named = [], {}
            for i in range(1, len(frame.segments)):
                parts = frame.segments[i]
                if i in frame.equals:
                    cut = frame.equals[i]
                    named["".join(parts[:cut]).strip()] = "".join(parts[cut:]).strip()
                else:
                    positional.append("".join(parts).strip())
            return render_template(frame.joined(0), positional, named)
        if kind == "link":
            return self.link_text(frame.joined(0), frame.joined(1) if len(frame.segments) > 1 else None)
        if kind == "extlink":  # [url label] -> label; [url] and bare URLs -> nothing
            return frame.joined(1).strip() if frame.token.get("brackets") else ""
        if kind == "entity":
            return entity(frame.joined(0), frame.numeric, frame.hexadecimal)
        if kind == "heading":
            title = " ".join(frame.joined(0).split())
            return f"\n{HEADING_MARK}{frame.token.get('level', 2)}\x1f{title}\n"
        if kind == "tag":
            return render_tag(frame.joined(0), frame.joined(frame.body) if frame.body >= 0 else "", frame.selfclose)
        return ""  # comments, {{{arguments}}}

    def link_text(self, title: str, text: str | None) -> str:
        return link_text(title, text, self.hidden_prefixes)

    # -- lines, sections, leftovers ------------------------------------------------------------------------------
    def finish(self, rendered: str) -> str:
        rendered = scrub(rendered, self.link_text)
        items: list[tuple[int, str]] = []  # (heading level or 0 for a text line, text)
        skipping = 0  # level of the tail section being dropped, 0 when keeping
        for line in rendered.split("\n"):
            if line.startswith(HEADING_MARK):
                level_text, _, title = line[1:].partition("\x1f")
                level = int(level_text) if level_text.isdigit() else 2
                if skipping and level > skipping:
                    continue
                words = section_words(title)
                skipping = level if words and all(w in self.drop_sections for w in words) else 0
                if not skipping and title:
                    items.append((level, title))
                continue
            line = SPACES.sub(" ", line.strip())  # removed markup leaves double spaces behind
            if skipping or not line or is_markup_residue(line):
                continue
            items.append((0, line))
        # a heading with nothing under it (its section was all tables or images) is noise
        kept: list[str] = []
        next_level = 99  # level of the next kept item: 0 = a text line, 99 = the end
        for level, text in reversed(items):
            if level and (next_level == 99 or 0 < next_level <= level):
                continue
            kept.append(text)
            next_level = level
        return "\n".join(reversed(kept))


def wikitext_to_text(wikitext: str, **options) -> str:
    return WikitextCleaner(**options).clean(wikitext)
