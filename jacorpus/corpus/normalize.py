"""`normalize`: Unicode normalization safe for Japanese, neologdn-style rules, optional boilerplate-line stripping.

Every rule is a precompiled regex or a C-level call, switchable in ``Options``. Where plain NFKC or neologdn loses
meaning in Japanese text we deviate on purpose (docs/filters.md lists each case): ``～``/``〜`` variants are
unified instead of turned into ASCII ``~`` or deleted; ``－``/``−`` after katakana becomes ``ー`` only when it is
one character not followed by a digit or letter (``０３－１２３４`` stays a number), ``―``/``─`` stay dashes; ``…``,
``゛``, superscripts and ``㎡`` survive NFKC. Speed: NFKC runs only on the runs of characters it would change.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from datatrove.data import Document

from jacorpus.corpus.steps import JaMapper, StepOptions, register_step

# --- control characters and surrogates --------------------------------------------------------------------------
# Patterns start with one character class, never "[...]+" or an alternation of classes: only then does sre skip
# through the text to candidate characters (measured 2-12x faster on real text: [X][X]* rather than [X]+).
_NEWLINES = re.compile("[\r\x0b\x0c\x85\u2028\u2029](?:(?<=\r)\n)?")
# C0/C1 controls except \t \n, soft hyphen, zero-width space, bidi marks/embeddings, word joiner, BOM, noncharacters
_CONTROL_CLASS = ("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
                  "\u2066-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff]")
_CONTROL = re.compile(f"{_CONTROL_CLASS}{_CONTROL_CLASS}*")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

# --- tildes, dashes, long-vowel marks -----------------------------------------------------------------------------
_TILDE_VARIANTS = "～∼∾〜〰"  # FULLWIDTH TILDE, TILDE OPERATOR, INVERTED LAZY S, WAVE DASH, WAVY DASH
_TILDE_VARIANTS_RE = re.compile(f"[{_TILDE_VARIANTS}]")
_TILDE_ALL_RE = re.compile(f"[~{_TILDE_VARIANTS}][~{_TILDE_VARIANTS}]*")
_HYPHENS = "\u02d7\u058a\u2010\u2011\u2012\u2013\u2043\u207b\u208b\u2212"  # neologdn's hyphen set
_DASH_LIKE = _HYPHENS + "\ufe63\uff0d\u2014\u2015\u2500\u2501"  # + small/full-width hyphen-minus, dashes, box lines
# on real text (shared cc_ja + mC4) － after katakana was a long-vowel mark 92 of 92 times, − 4 of 5 ("シャンプ−");
# ― and ─ were dashes ("アート―音"), so they are never turned into ー
_LONG_VOWEL_LIKE = "\u2212\ufe63\uff0d"
_KATAKANA = "\u30a1-\u30fa\u30fc-\u30fe\uff66-\uff9f"  # incl. ー, ヽヾ and half-width katakana
_NOT_AFTER = "0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
# one such character right after katakana, not followed by a digit/letter or another dash, is a long-vowel mark;
# the class comes before the lookbehind so sre can skip straight to candidate characters
_LONG_VOWEL_LOOKALIKE = re.compile(f"[{_LONG_VOWEL_LIKE}](?<=[{_KATAKANA}].)(?![{_DASH_LIKE}{_NOT_AFTER}])")
_HYPHEN_RUN = re.compile(f"[{_HYPHENS}][{_HYPHENS}]*")
_LONG_VOWEL_RUN = re.compile("ーー+")

# --- NFKC with Japanese exceptions ----------------------------------------------------------------------------------
# NFKC would turn ㎡ into "m2" and ² into "2" (10³ -> 103): square units get their superscript spelling first
_SQUARE_UNITS = {"㎠": "cm²", "㎡": "m²", "㎢": "km²", "㎟": "mm²", "㎤": "cm³", "㎥": "m³", "㎣": "mm³", "㎦": "km³"}
_SQUARE_UNITS_RE = re.compile(f"[{''.join(_SQUARE_UNITS)}]")
# kept as is: ellipses (… -> "..." hides the Japanese ellipsis), spacing (han)dakuten (゛ -> " ゙"), super/subscripts
_NFKC_PROTECTED = "…‥゛゜¹²³" + "".join(map(chr, range(0x2070, 0x20A0)))


def _nfkc_unstable_bmp() -> list[int]:
    """The BMP code points NFKC changes, computed once from unicodedata (6 ms: ``is_normalized`` per character; the
    earlier ``normalize(...) == ch`` took 9 ms, and it ran once per class)."""
    is_normalized = unicodedata.is_normalized
    return [cp for cp in range(0x80, 0x10000) if not 0xD800 <= cp < 0xE000 and not is_normalized("NFKC", chr(cp))]


_UNSTABLE_BMP = _nfkc_unstable_bmp()


def _nfkc_unstable_class(protected: str) -> str:
    """Regex class of the BMP characters NFKC changes but ``protected``, plus all astral ones.

    sre tests the BMP part of a class with a bitmap but astral ranges one by one: listing the 143 astral ranges NFKC
    changes made the scan 20x slower, so the astral plane goes in as one range (emoji runs come back unchanged).
    """
    ranges: list[list[int]] = []
    for cp in _UNSTABLE_BMP:
        if chr(cp) in protected:
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    bmp = "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)
    return bmp + "\U00010000-\U0010ffff"


def _runs_of(char_class: str) -> re.Pattern[str]:
    return re.compile(f"[{char_class}][{char_class}]*")


_NFKC_RUNS = _runs_of(_nfkc_unstable_class(_NFKC_PROTECTED))
_NFKC_RUNS_KEEP_TILDES = _runs_of(_nfkc_unstable_class(_NFKC_PROTECTED + _TILDE_VARIANTS))
_SQUARE_SPLIT = re.compile(f"([{''.join(_SQUARE_UNITS)}])")


_NFKC_CACHE: dict[str, str] = {}  # short runs repeat endlessly: "（", "）", "１２", "　"


def _nfkc(match: re.Match[str]) -> str:
    run = match.group()
    cached = _NFKC_CACHE.get(run)
    if cached is not None:
        return cached
    if not _SQUARE_UNITS_RE.search(run):
        out = unicodedata.normalize("NFKC", run)
    else:  # odd indexes of the split are the square units themselves
        out = "".join(_SQUARE_UNITS[p] if i % 2 else unicodedata.normalize("NFKC", p)
                      for i, p in enumerate(_SQUARE_SPLIT.split(run)))
    if len(run) <= 4 and len(_NFKC_CACHE) < 100_000:
        _NFKC_CACHE[run] = out
    return out


def nfkc_japanese(text: str, keep_tildes: bool = False) -> str:
    """NFKC except the protected characters, applied only to the runs NFKC would change.

    Equal to NFKC of the whole text (tests compare on real and random text): runs are normalized on their own,
    then NFC, needed only when combining marks are present (NFD kana from macOS, ｶ + ﾞ), composes across runs.
    """
    text = (_NFKC_RUNS_KEEP_TILDES if keep_tildes else _NFKC_RUNS).sub(_nfkc, text)
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


_WIDTH_RE = _runs_of("\u3000\uff01-\uff5e\uff61-\uff9f")  # width-only mode (nfkc off)


def _to_width(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", match.group()))  # NFC: ｶﾞ -> ガ


# --- spaces -------------------------------------------------------------------------------------------------------
# Japanese script plus the full-width symbols used in Japanese text (… ※ arrows, ▲◆, ★♪)
_JA = ("\u2025\u2026\u203b\u2190-\u21ff\u25a0-\u25ff\u2600-\u26ff"
       "\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef")
# horizontal whitespace: Python's \s minus newline, spelled out so sre tests a bitmap, not Unicode categories
_HS = "[\t\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_NON_SPACE_HS = "[\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_SPACE_BETWEEN_JA = re.compile(f"{_HS}(?<=[{_JA}].){_HS}*(?=[{_JA}])")
_SPACE_AROUND_JA = re.compile(f"{_HS}(?:(?<=[{_JA}].){_HS}*(?=[!-~{_JA}])|(?<=[!-~].){_HS}*(?=[{_JA}]))")
# only runs that change: a non-" " space (tab, ideographic space...) or 2+ spaces
_HSPACE_TO_ONE = re.compile(f"{_HS}(?:(?<={_NON_SPACE_HS}){_HS}*|(?<= ){_HS}{_HS}*)")
_LINE_EDGE_SPACE = re.compile("[ \n](?:(?<= ) *\n *|(?<=\n)  *)")  # spaces before or after a newline
_BLANK_LINES = re.compile("\n\n\n+")

# --- boilerplate lines: whole lines only, each alternative a rule a person can check ------------------------------
_DECOR = "[ \t\u3000\xa0»≫>›→▶▷►▸«≪<‹←▲△↑⇧^|｜/・:：\\[\\]【】()（）「」『』]*"
_SHARE = ("シェア(?:する)?|ツイート(?:する)?|いいね[!！]?|リツイート|Tweet|Share|Like|はてブ|B!|Pocket|Feedly|RSS|"
          "LINE(?:で送る)?|Facebook|Twitter|X|Google\\+|Pinterest|Instagram|はてなブックマーク(?:に追加)?|"
          "メール|印刷|送る|保存|共有|(?:Facebook|Twitter|X|LINE|SNS)で(?:シェア|共有|送る)(?:する)?|"
          "この(?:記事|ページ)を(?:シェア|共有)(?:する)?|[0-9,]+(?![0-9,])")
_SHARE_STRONG = "シェア|ツイート|いいね|Tweet|Share|はてブ|LINEで送る|はてなブックマーク"
_NAV = ("続きを(?:読む|見る)|もっと(?:見る|読む)|全文を(?:読む|表示)|記事を読む|詳しくはこちら|詳細はこちら|"
        "(?:Read|read|READ) ?(?:more|More|MORE)|Continue reading|"
        "ページ(?:の)?(?:先頭|トップ|上部)(?:へ|に)?(?:戻る)?|(?:PAGE|Page|page) ?(?:TOP|Top|top)(?:へ|に)?(?:戻る)?|"
        "(?:トップ|TOP|Top|ホーム|HOME|一覧|記事一覧|先頭|上)(?:ページ)?(?:へ|に)戻る|"
        "(?:前|次)の(?:記事|ページ|投稿|エントリー?)(?:へ)?|(?:前|次)へ|(?:Prev|Previous|Next)(?: page)?|"
        "スポンサーリンク|スポンサードリンク|広告|PR|Sponsored(?: Links?)?|Advertisement|ADVERTISEMENT")
_HOME = "ホーム|HOME|Home|TOP|Top|トップ(?:ページ)?"
_SEP = "[>＞»›→/|｜]"
_BOILERPLATE_LINE = re.compile(
    f"(?=.*(?:{_SHARE_STRONG})){_DECOR}(?:(?:{_SHARE}){_DECOR}){{1,12}}"  # share-button rows
    # read more (WordPress adds the post title in quotes), page top, prev/next, ad labels
    f"|{_DECOR}(?:(?:{_NAV}){_DECOR}){{1,3}}(?:[\"“][^\"”]{{0,80}}[\"”])?{_DECOR}"
    # copyright footer; "(c)" alone is a list label in legal text ("(c) 糖類"), so it needs a year after it
    f"|[ \t]*(?:©|Ⓒ|(?:Copyright|COPYRIGHT|copyright) ?(?:©|\\([Cc]\\)|&copy;|(?=.{{0,20}}(?:19|20)\\d\\d))"
    f"|\\([Cc]\\) ?(?:19|20)\\d\\d).{{0,160}}"
    # breadcrumb: starts at the site root, short items joined by separators, no sentence punctuation
    f"|[ \t]*(?:{_HOME}) *{_SEP}(?: *[^。、！？!?>＞»›→/|｜]{{1,40}} *{_SEP}){{0,7}} *[^。、！？!?]{{0,60}}"
)
_RESERVED = re.compile("[Aa]ll [Rr]ights [Rr]eserved|ALL RIGHTS RESERVED|無断(?:転載|複製|転用).{0,20}?禁")
_BOILERPLATE_MAX_LINE = 240  # longer lines are content


def strip_boilerplate_lines(text: str) -> tuple[str, int]:
    """Remove whole lines that a rule identifies as boilerplate; returns (text, lines removed)."""
    lines = text.split("\n")
    kept = [
        line for line in lines
        if len(line) > _BOILERPLATE_MAX_LINE
        or not (_BOILERPLATE_LINE.fullmatch(line) or (len(line) <= 200 and _RESERVED.search(line)))
    ]
    return ("\n".join(kept), len(lines) - len(kept)) if len(kept) < len(lines) else (text, 0)


def remove_surrogates(text: str) -> str:
    """Join valid surrogate pairs (text decoded with surrogatepass) and drop lone surrogates: Arrow rejects them."""
    if not _SURROGATE.search(text):
        return text
    text = _SURROGATE_PAIR.sub(
        lambda m: chr(0x10000 + ((ord(m.group()[0]) - 0xD800) << 10) + (ord(m.group()[1]) - 0xDC00)), text
    )
    return _SURROGATE.sub("", text)


class NormalizeOptions(StepOptions):
    nfkc: bool = True  # NFKC (implies the width rules) minus the Japanese exceptions above
    width: bool = True  # when nfkc is off: full-width ASCII -> half-width, half-width katakana -> full-width
    tildes: Literal["wave", "ascii", "remove", "keep"] = "wave"  # wave: ～∼∾〰 -> 〜 (ASCII ~ untouched)
    dashes: bool = True  # hyphen variants -> "-", a dash after katakana -> ー (see module docstring)
    collapse_long_vowels: bool = True  # ーーー -> ー
    spaces: Literal["between_japanese", "around_japanese", "keep"] = "between_japanese"  # around: as neologdn
    collapse_whitespace: bool = True  # runs of spaces/tabs -> one space, trim lines, at most one blank line
    control_chars: bool = True  # drop C0/C1 controls (not \n, \t), zero-width and bidi marks, BOM
    boilerplate_lines: bool = False  # drop share-button / read-more / copyright / page-top / breadcrumb lines


@register_step
class Normalize(JaMapper):
    name = "normalize"
    Options = NormalizeOptions

    def apply(self, doc: Document) -> str:
        text, removed = self.normalize(doc.text)
        if removed:
            self.ledger.count(self.name, "boilerplate_lines", removed)
        return text

    def normalize(self, text: str) -> tuple[str, int]:
        """Normalized text and the number of boilerplate lines removed."""
        opts: NormalizeOptions = self.options
        text = remove_surrogates(text)  # always: a lone surrogate cannot be written to Arrow
        if opts.control_chars:
            text = _CONTROL.sub("", _NEWLINES.sub("\n", text))
        if opts.tildes == "wave":
            text = _TILDE_VARIANTS_RE.sub("〜", text)
        elif opts.tildes == "ascii":
            text = _TILDE_ALL_RE.sub("~", text)
        elif opts.tildes == "remove":  # neologdn's default
            text = _TILDE_ALL_RE.sub("", text)
        if opts.dashes:  # before NFKC, which turns － into "-" and so would hide "コンピュ－タ"
            text = _HYPHEN_RUN.sub("-", _LONG_VOWEL_LOOKALIKE.sub("ー", text))
        if opts.nfkc:
            text = nfkc_japanese(text, keep_tildes=opts.tildes == "keep")
        elif opts.width:
            text = _WIDTH_RE.sub(_to_width, text)
        if opts.collapse_long_vowels:
            text = _LONG_VOWEL_RUN.sub("ー", text)
        if opts.collapse_whitespace:
            text = _HSPACE_TO_ONE.sub(" ", text)
        if opts.spaces == "between_japanese":
            text = _SPACE_BETWEEN_JA.sub("", text)
        elif opts.spaces == "around_japanese":
            text = _SPACE_AROUND_JA.sub("", text)
        removed = 0
        if opts.boilerplate_lines:
            text, removed = strip_boilerplate_lines(text)
        if opts.collapse_whitespace:
            text = _BLANK_LINES.sub("\n\n", _LINE_EDGE_SPACE.sub("\n", text)).strip()
        return text, removed
