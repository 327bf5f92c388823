"""Bytes of a web page or feed -> text, with the charset rules of the web sources.

Order of evidence: byte-order mark; ISO-2022-JP escapes; strict UTF-8 (valid multi-byte UTF-8 is almost never an
accident); strong declarations (HTTP header, then ``<meta charset>`` / http-equiv / ``<?xml encoding?>``) that decode
strictly; UTF-8 with a few bad bytes; detection (charset-normalizer); a declared or detected multi-byte codec with a
few bad bytes; weak declarations; whatever replaces fewest bytes. A "weak" declaration is a single-byte Latin label
(ISO-8859-1, ASCII, windows-1252): servers send it by default, and old Japanese pages served that way are really
Shift_JIS or EUC-JP.
Declared Japanese labels decode with the vendor supersets browsers use (Shift_JIS -> CP932, EUC-JP -> EUC-JIS-2004),
so NEC/IBM extension characters (①, ㈱, 髙) do not turn into U+FFFD.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# label (lower-case, as found in the wild) -> Python codec, for labels Python's codec registry does not know
LABEL_ALIASES = {
    "windows-31j": "cp932", "x-sjis": "cp932", "x-shift-jis": "cp932", "x-shift_jis": "cp932", "csshiftjis": "cp932",
    "shift-jis": "shift_jis", "x-euc-jp": "euc_jp", "x-euc": "euc_jp", "cseucpkdfmtjapanese": "euc_jp",
    "x-gbk": "gbk", "x-gb2312": "gb2312", "unicode-1-1-utf-8": "utf-8", "x-user-defined": "cp1252",
}
# canonical codec -> codecs tried in order (strictly); first is the superset real pages need
CODEC_FAMILIES = {
    "shift_jis": ("cp932", "shift_jis_2004"),
    "cp932": ("cp932", "shift_jis_2004"),
    "shift_jis_2004": ("shift_jis_2004", "cp932"),
    "shift_jisx0213": ("shift_jis_2004", "cp932"),
    "euc_jp": ("euc_jis_2004", "euc_jp"),
    "euc_jis_2004": ("euc_jis_2004", "euc_jp"),
    "euc_jisx0213": ("euc_jis_2004", "euc_jp"),
    "iso2022_jp": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004"),
    "iso2022_jp_1": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004"),
    "iso2022_jp_2": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004"),
    "iso2022_jp_3": ("iso2022_jp_2004", "iso2022_jp_2"),
    "iso2022_jp_ext": ("iso2022_jp_ext", "iso2022_jp_2"),
    # WHATWG encoding standard: these labels mean the larger superset in every browser
    "gb2312": ("gb18030",), "gbk": ("gb18030",), "big5": ("big5hkscs", "cp950"), "euc_kr": ("cp949",),
    "ascii": ("cp1252",), "iso8859-1": ("cp1252",), "latin-1": ("cp1252",), "iso8859-9": ("cp1254",),
    "tis-620": ("cp874",), "iso8859-11": ("cp874",), "utf-8": ("utf-8",),
    # a UTF-16 label on bytes without a BOM is a copy-paste error on a UTF-8 page
    "utf-16": ("utf-8",), "utf-16-le": ("utf-8",), "utf-16-be": ("utf-8",),
}
WEAK_CODECS = {"ascii", "iso8859-1", "latin-1", "cp1252"}
# a detector's multi-byte guess that decodes strictly is better evidence than a weak single-byte declaration
MULTIBYTE_PREFIXES = ("shift_jis", "cp932", "euc_", "iso2022", "gb", "big5", "cp949", "cp950", "utf-", "hz")

SNIFF_BYTES = 32768
HIGH_BYTE = re.compile(rb"[\x80-\xff]")
# "nearly decodes": enough real characters, and at most 3 of them or 2% replaced
MIN_GOOD_CHARS, MAX_BAD_CHARS, MAX_DAMAGE = 20, 3, 0.02
DETECT_BYTES = 1 << 20
META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
META_EQUIV_CHARSET = re.compile(
    rb"""<meta[^>]*?http-equiv\s*=\s*["']?charset["']?[^>]*?content\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I
)
XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']\s*([A-Za-z0-9._:-]+)""", re.I)
HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I", b"\x1b$(D", b"\x1b$(Q")
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the Python codec that produced ``text``
    evidence: str  # forced | bom | iso2022 | ascii | utf-8 | http | meta | damaged | detected | fallback
    replaced: int = 0  # undecodable bytes replaced by U+FFFD (0 when a codec decoded strictly)


def canonical_codec(label: str | None) -> str | None:
    """A charset label from a header or tag -> Python's canonical codec name, or None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = LABEL_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def charset_from_content_type(value: str | None) -> str | None:
    match = HTTP_CHARSET.search(value or "")
    return match.group(1) if match else None


def declared_charsets(data: bytes) -> list[str]:
    """Charset labels the document declares about itself, in document order (meta tags and XML declaration)."""
    head = data[:SNIFF_BYTES]
    patterns = (META_CHARSET, META_EQUIV_CHARSET, XML_ENCODING)
    found = [(m.start(), m.group(1)) for rx in patterns for m in rx.finditer(head)]
    return [label.decode("ascii", "ignore") for _, label in sorted(found)]


def family(codec: str) -> tuple[str, ...]:
    return CODEC_FAMILIES.get(codec, (codec,))


def try_strict(data: bytes, codecs_to_try: tuple[str, ...]) -> tuple[str, str] | None:
    """First codec that decodes strictly. A character cut at the very end (a WARC record truncated at its size
    limit) is forgiven: the incomplete tail is left out rather than failing the whole page."""
    for name in codecs_to_try:
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            cut_at_end = exc.end >= len(data) and len(data) - exc.start <= 4
            if not (cut_at_end and exc.reason.startswith(("unexpected end", "incomplete"))):
                continue
            try:
                text = data[: exc.start].decode(name)
            except UnicodeDecodeError:
                continue
        except LookupError:
            continue
        if not name.startswith(("cp932", "shift_jis")) or plausible_shift_jis(text):
            return text, name
    return None


def plausible_shift_jis(text: str) -> bool:
    """EUC-JP bytes often decode "strictly" as Shift_JIS into half-width katakana soup; real pages are not that."""
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    halfwidth = sum(1 for ch in text if "\uff61" <= ch <= "\uff9f")
    return non_ascii < 20 or halfwidth <= 0.5 * non_ascii


def detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes  # imported lazily: only pages without a usable declaration need it

    best = from_bytes(data[:DETECT_BYTES]).best()
    return canonical_codec(best.encoding) if best is not None else None


def decode_bytes(data: bytes, http_charset: str | None = None, forced: str | None = None) -> Decoded:
    """Decode a page or feed. ``forced`` (a label the user gave) beats all evidence; bytes it cannot decode
    become U+FFFD."""
    if forced:
        codec = canonical_codec(forced)
        if codec is None:
            raise LookupError(f"unknown encoding {forced!r}")
        hit = try_strict(data, family(codec))
        return Decoded(hit[0], hit[1], "forced") if hit else least_damaged(data, list(family(codec)))
    for bom, name in BOMS:
        if data.startswith(bom):
            return Decoded(data.decode(name, "replace"), name, "bom")
    data = data.replace(b"\x00", b"")  # NUL is never part of a multi-byte character in ASCII-compatible codecs
    if any(esc in data for esc in ISO2022_ESCAPES) and not HIGH_BYTE.search(data, 0, SNIFF_BYTES):
        if hit := try_strict(data, family("iso2022_jp")):
            return Decoded(hit[0], hit[1], "iso2022")
    if not HIGH_BYTE.search(data):
        return Decoded(data.decode("ascii"), "ascii", "ascii")
    if hit := try_strict(data, ("utf-8",)):
        return Decoded(hit[0], "utf-8", "utf-8")

    labels = [(http_charset, "http")] + [(label, "meta") for label in declared_charsets(data)]
    strong = [(c, how) for label, how in labels if (c := canonical_codec(label)) and c not in WEAK_CODECS]
    weak = [(c, how) for label, how in labels if (c := canonical_codec(label)) and c in WEAK_CODECS]
    for codec, how in strong:
        if hit := try_strict(data, family(codec)):
            return Decoded(hit[0], hit[1], how)
    # a few bad bytes in a UTF-8 page (a cut or a stray byte): still UTF-8; a detector would pick a wrong codec
    if damaged := nearly_decodes(data, ["utf-8"]):
        return damaged
    guessed = detect(data)
    multibyte_guess = guessed if guessed and guessed.startswith(MULTIBYTE_PREFIXES) else None
    if multibyte_guess and (hit := try_strict(data, family(multibyte_guess))):
        return Decoded(hit[0], hit[1], "detected")
    declared_or_guessed = [family(c)[0] for c, _ in strong] + ([family(multibyte_guess)[0]] if multibyte_guess else [])
    if damaged := nearly_decodes(data, declared_or_guessed):
        return damaged
    for codec, how in weak:
        if hit := try_strict(data, family(codec)):
            return Decoded(hit[0], hit[1], how)
    if guessed and (hit := try_strict(data, family(guessed))):
        return Decoded(hit[0], hit[1], "detected")
    return least_damaged(data, declared_or_guessed + [guessed or "utf-8", "utf-8", "cp1252"])


def nearly_decodes(data: bytes, candidates: list[str]) -> Decoded | None:
    """The candidate that decodes all but a very few characters (3, or 2% of the non-ASCII ones)."""
    best: Decoded | None = None
    for name in dict.fromkeys(candidates):
        text = data.decode(name, "replace")
        bad = text.count("\ufffd") - (data.count(b"\xef\xbf\xbd") if name == "utf-8" else 0)
        good = len(text) - len(text.encode("ascii", "ignore")) - bad
        if name.startswith(("cp932", "shift_jis")) and not plausible_shift_jis(text):
            continue
        if good >= MIN_GOOD_CHARS and bad <= max(MAX_BAD_CHARS, MAX_DAMAGE * good) and (best is None or bad < best.replaced):
            best = Decoded(text, name, "damaged", bad)
    return best


def least_damaged(data: bytes, candidates: list[str]) -> Decoded:
    """No codec decodes strictly (a truncated or mixed page): keep the one that replaces fewest characters."""
    best: Decoded | None = None
    for name in dict.fromkeys(candidates):
        try:
            text = data.decode(name, "replace")
        except LookupError:
            continue
        replaced = text.count("\ufffd")
        if best is None or replaced < best.replaced:
            best = Decoded(text, name, "fallback", replaced)
    assert best is not None  # cp1252 with "replace" always decodes
    return best
