"""`pii`: mask e-mail addresses, phone numbers, postal codes, IP addresses, card numbers and My Numbers.

Each type is a candidate regex plus, where syntax is not enough, a check in Python (Luhn for cards, the official
check digit for My Number, Japanese numbering-plan lengths for phones, octet ranges and ``ipaddress`` for IPs).
Candidates must stand alone (no digit, dot or hyphen glued on either side) so dates (2024-01-15), prices
(1,234,567円), years, version strings (バージョン3.4.0.97) and long IDs are left alone. Full-width digits are
accepted, so the step works without ``normalize`` too. Counts go to the manifest: ``steps.pii["masked:<type>"]``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Callable, Literal

from datatrove.data import Document
from pydantic import Field

from jacorpus.corpus.steps import JaMapper, StepOptions, register_step

PiiType = Literal["email", "phone", "postal", "ip", "card", "mynumber"]
ALL_TYPES: tuple[PiiType, ...] = ("email", "postal", "card", "mynumber", "phone", "ip")  # order of application
DEFAULT_PLACEHOLDERS = {t: f"<{t.upper()}>" for t in ALL_TYPES}

_D = "[0-9０-９]"
_TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")
_DIGIT_GROUPS = re.compile("[0-9]+")
_HY = "[-‐‑‒–−－﹣ー]"  # hyphens as written in Japanese text (ー after a digit is a common typo for －)
_NB = "[0-9０-９A-Za-zＡ-Ｚａ-ｚ_.,．，/\\-+＋@]"  # a number must not continue a number, word or path
_NOT_AFTER = f"(?!{_D}|[.,．，]{_D}|{_HY}{_D}|[A-Za-z_])"
_SEP = f"(?: ?{_HY} ?| |[)）] ?|[(（])"  # between phone digit groups

_EMAIL = re.compile(
    "[A-Za-z0-9](?<![A-Za-z0-9._%+\\-].)[A-Za-z0-9._%+\\-]*[@＠]"
    "(?:[A-Za-z0-9](?:[A-Za-z0-9\\-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\\-])"
)
_POSTAL = re.compile(f"(?P<mark>〒 ?|郵便番号[ :：]*){_D}{{3}}{_HY}?{_D}{{4}}" + _NOT_AFTER)
_IPV6_GATE = re.compile(":[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")  # literal first: a fast scan before the slow one
_IPV6 = re.compile("[0-9A-Fa-f:](?<![0-9A-Za-z:.\\-_].)(?:(?<=:)(?=:)|[0-9A-Fa-f]{0,3})(?::[0-9A-Fa-f]{0,4}){2,7}"
                   "(?![0-9A-Za-z:\\-_])")

# Card, My Number, phone and IPv4 share one pass. The pattern opens with a single character class and each branch
# checks the character before it with a width-2 lookbehind, so sre skips straight to digits (a leading lookbehind
# made it 5x slower). An empty named group at the end of a branch says which type matched.
_NUMERIC_BRANCHES: dict[str, str] = {
    "card": f"(?<={_D})(?<!{_NB}.)(?:{_D}{{3}}(?P<cs>[ \\-]){_D}{{4}}(?P=cs){_D}{{4}}(?P=cs){_D}{{1,4}}"
            f"(?:(?P=cs){_D}{{3}})?|{_D}{{3}}(?P<ct>[ \\-]){_D}{{6}}(?P=ct){_D}{{4,5}}|{_D}{{13,18}})"
            f"{_NOT_AFTER}(?! {_D})",
    # (?! 1234): the start of a longer space-separated number (a card that failed Luhn) is not a My Number
    "mynumber": f"(?<={_D})(?<!{_NB}.){_D}{{3}}(?P<ms>[ \\-]?){_D}{{4}}(?P=ms){_D}{{4}}{_NOT_AFTER}(?! {_D})",
    # up to four digit groups; the numbering plan is checked in Python. TEL03-... is allowed, ABC03-... is not
    "phone": f"(?:(?<=TEL.|Tel.|tel.|FAX.|Fax.|fax.)|(?<!{_NB}.))(?:"
             f"(?<=[+＋])(?P<intl>(?:81|８１)[ \\-]?(?:[(（][0０][)）] ?)?)"
             f"(?:{_D}{{1,5}}(?:{_SEP}{_D}{{1,4}}){{1,3}}|{_D}{{9,11}})"
             f"|(?<=[(（])(?=[0０]){_D}{{1,5}}(?:{_SEP}{_D}{{1,4}}){{1,3}}"
             f"|(?<=[0０])(?:{_D}{{0,4}}(?:{_SEP}{_D}{{1,4}}){{1,3}}|{_D}{{8,10}}))" + _NOT_AFTER,
    # octets <= 255 without leading zeros are checked in Python; not part of a longer dotted number
    "ip": "(?<=[0-9])(?<![0-9A-Za-z.\\-].)[0-9]{0,2}(?:\\.[0-9]{1,3}){3}(?![0-9]|\\.[0-9])",
}
_FIRST_CHARS = {"card": "0-9０-９", "mynumber": "0-9０-９", "phone": "0０+＋(（", "ip": "0-9"}  # joined in one class

_IPV4_OCTET = re.compile("0|[1-9][0-9]{0,2}")
_VERSION_BEFORE = re.compile("(?:[vV]|[vV]er\\.?|[vV]ersion|バージョン|バージョン:|Ver\\.?|第|§) ?$")
_SECTION_AFTER = re.compile(" ?(?:項|節|章|条)")  # "ISO/TS 16949 本文の7.5.1.1項" is a section number
# issuer prefixes of the major networks (Visa, Mastercard, Amex, JCB, Diners, Discover, UnionPay): required for
# card numbers written without separators, which are otherwise often order or tracking numbers
_CARD_PREFIX = re.compile("4|5[1-5]|2(?:22[1-9]|2[3-9]|[3-6]|7[01]|720)|3[47]|35(?:2[89]|[3-8])|3(?:0[0-5]|[689])|"
                          "6(?:011|5|4[4-9]|2)")
_MYNUMBER_KEYWORD = re.compile("マイナンバー|個人番号|[Mm]y ?[Nn]umber")
# YYYYMMDDhhmm: a 12-digit timestamp is far likelier than a My Number that happens to read as one (~0.01%)
_TIMESTAMP12 = re.compile("(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?:[01][0-9]|2[0-3])[0-5][0-9]")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mynumber_valid(digits: str) -> bool:
    """Check digit of the Individual Number (総務省令 第5条): weights n+1 (n<=6) and n-5 (n>=7) from the right."""
    if len(digits) != 12 or len(set(digits)) == 1:
        return False
    body = digits[:11][::-1]
    remainder = sum(int(p) * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body, start=1)) % 11
    return int(digits[11]) == (0 if remainder <= 1 else 11 - remainder)


def phone_valid(text: str, international: bool) -> bool:
    """Japanese numbering plan: fixed 0AB..-CDE-FGHJ (10 digits, area+exchange = 6), mobile/IP 0X0-XXXX-XXXX
    (11 digits), toll-free 0120-XXX-XXX / 0800-XXX-XXXX, navi-dial 0570-XXX-XXX; +81 drops the leading 0."""
    groups = _DIGIT_GROUPS.findall(text.translate(_TO_ASCII))
    digits = "".join(groups)
    if international:
        national = "0" + digits[2:].lstrip("0")  # drop the country code 81 and a "(0)"
        return (len(national) == 10 and national[1] != "0") or (len(national) == 11 and national[2] == "0")
    if not digits.startswith("0") or digits[1] == "0":
        return False
    lengths = tuple(len(g) for g in groups)
    if len(digits) == 10:
        if lengths == (10,):
            return True
        if len(lengths) == 3 and lengths[2] == 4 and lengths[0] + lengths[1] == 6 and 2 <= lengths[0] <= 5:
            return True
        return lengths == (4, 3, 3) and digits[:4] in ("0120", "0570", "0990")
    if len(digits) == 11:
        mobile = digits[2] == "0" and lengths in ((11,), (3, 4, 4))
        return mobile or (digits.startswith("0800") and lengths in ((11,), (4, 3, 4)))
    return False


def ipv4_valid(m: re.Match[str]) -> bool:
    if not all(_IPV4_OCTET.fullmatch(o) and int(o) <= 255 for o in m.group().split(".")):
        return False
    version = _VERSION_BEFORE.search(m.string, max(0, m.start() - 12), m.start())
    return not (version or _SECTION_AFTER.match(m.string, m.end()))


def ipv6_valid(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False  # times (12:30:45), MAC addresses (6 groups) and the like
    groups = [g for g in candidate.split(":") if g]
    return len(groups) >= 3 or ("::" in candidate and any(len(g) >= 3 for g in groups))  # fe80::1, not a::b


# the URL-safe ASCII run right before a number: Japanese text has no spaces, so "…参照。電話03-…" ends a URL too
_URL_BEFORE = re.compile("(?:://|www\\.)[!-~]*\\Z")


def _in_url(text: str, start: int) -> bool:
    """Digits inside a URL (paths, query strings) are identifiers, not phone or card numbers."""
    return _URL_BEFORE.search(text, max(0, start - 200), start) is not None


class PiiOptions(StepOptions):
    types: list[PiiType] = Field(default_factory=lambda: list(ALL_TYPES))
    placeholders: dict[PiiType, str] = Field(default_factory=dict)  # overrides of <EMAIL>, <PHONE>, ...
    # 1 in 11 random 12-digit IDs passes the check digit; true: mask only within 40 characters after マイナンバー/個人番号
    mynumber_keyword: bool = False


@register_step
class Pii(JaMapper):
    name = "pii"
    Options = PiiOptions

    def __init__(self, options: PiiOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        self.types = [t for t in ALL_TYPES if t in self.options.types]
        self.placeholders = {**DEFAULT_PLACEHOLDERS, **self.options.placeholders}
        numeric = [t for t in ("card", "mynumber", "phone", "ip") if t in self.types]
        first = "".join(_FIRST_CHARS[t] for t in numeric)
        branches = "|".join(f"{_NUMERIC_BRANCHES[t]}(?P<is_{t}>)" for t in numeric)
        # (?<![digit].) once up front: a digit inside a run fails here instead of in every branch
        self._numeric = re.compile(f"[{first}](?<![0-9０-９].)(?:{branches})") if numeric else None
        self._numeric_types = numeric
        self._checks: dict[str, Callable[[re.Match[str]], bool]] = {
            "card": self._card, "mynumber": self._mynumber, "phone": self._phone, "ip": ipv4_valid,
        }

    def apply(self, doc: Document) -> str:
        text, counts = self.mask(doc.text)
        for pii_type, n in counts.items():
            self.ledger.count(self.name, f"masked:{pii_type}", n)
        return text

    def mask(self, text: str) -> tuple[str, dict[str, int]]:
        """Masked text and the number of masks per type."""
        counts: dict[str, int] = {}
        ph = self.placeholders
        if "email" in self.types and ("@" in text or "＠" in text):
            text, counts["email"] = _EMAIL.subn(ph["email"], text)
        if "postal" in self.types and ("〒" in text or "郵便番号" in text):
            text, counts["postal"] = _POSTAL.subn(lambda m: m.group("mark") + ph["postal"], text)
        if self._numeric is not None:
            text = self._numeric.sub(lambda m: self._replace_numeric(m, counts), text)
        if "ip" in self.types and ("::" in text or _IPV6_GATE.search(text)):
            text = _IPV6.sub(lambda m: self._count(counts, "ip") if ipv6_valid(m.group()) else m.group(), text)
        return text, {k: v for k, v in counts.items() if v}

    def _count(self, counts: dict[str, int], pii_type: str) -> str:
        counts[pii_type] = counts.get(pii_type, 0) + 1
        return self.placeholders[pii_type]

    def _replace_numeric(self, m: re.Match[str], counts: dict[str, int]) -> str:
        pii_type = next(t for t in self._numeric_types if m.group(f"is_{t}") is not None)
        if not self._checks[pii_type](m) or (pii_type != "ip" and _in_url(m.string, m.start())):
            return m.group()  # an IP in http://192.0.2.1/ is still an address
        return self._count(counts, pii_type)

    # -- checks beyond the regex (a candidate that fails is left as it was) -----------------------------------------
    @staticmethod
    def _card(m: re.Match[str]) -> bool:
        digits = "".join(_DIGIT_GROUPS.findall(m.group().translate(_TO_ASCII)))
        separated = m.group("cs") is not None or m.group("ct") is not None
        return luhn_valid(digits) and (separated or _CARD_PREFIX.match(digits) is not None)

    def _mynumber(self, m: re.Match[str]) -> bool:
        digits = "".join(_DIGIT_GROUPS.findall(m.group().translate(_TO_ASCII)))
        if not mynumber_valid(digits) or (not m.group("ms") and _TIMESTAMP12.fullmatch(digits)):
            return False
        keyword_before = _MYNUMBER_KEYWORD.search(m.string, max(0, m.start() - 40), m.start())
        return not self.options.mynumber_keyword or keyword_before is not None

    @staticmethod
    def _phone(m: re.Match[str]) -> bool:
        return phone_valid(m.group(), m.group("intl") is not None)
