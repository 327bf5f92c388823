"""Japanese sentence splitting for corpus building (abstract sentences, case reports, novels).

Rules, in the order they apply:
- a line break always ends a sentence (brackets never span lines, so a stray bracket cannot swallow a paragraph);
- a sentence ends after a run of terminators 。｡！？!?‼⁇⁈⁉ and full-width ．(medical texts such as MedTxt write ．，
  for 。、), together with the closing brackets and quotes that follow it: ``そうだ。」`` stays whole;
- a terminator inside a matched bracket pair on the same line does not end the sentence:
  ``「はい。そうです。」と言った。`` is one sentence. Unmatched brackets are ignored;
- ．between digits is a decimal point (``０．５ｍｇ``), and ASCII ``!``/``?`` followed by an ASCII letter, digit or
  URL character is not a terminator (``?q=1``);
- ！？ followed (after spaces) by the quotative と or って does not end a sentence (``ドン！と音がした``);
- a quotation closing with a terminator and directly followed by another quotation ends a sentence
  (``「はい。」「いいえ。」`` is two sentences, ``「はい。」と言った。`` one).
"""

from __future__ import annotations

import re

TERMINATORS = frozenset("。｡！？!?‼⁇⁈⁉．")
ASCII_TERMINATORS = frozenset("!?")
EXCLAMATIONS = frozenset("！？!?‼⁇⁈⁉")
BRACKETS = {"「": "」", "『": "』", "（": "）", "(": ")", "【": "】", "“": "”", "‘": "’", "〔": "〕", "［": "］",
            "[": "]", "｛": "｝", "{": "}", "〈": "〉", "《": "》", "〘": "〙", "〖": "〗", "«": "»"}
CLOSERS = frozenset(BRACKETS.values()) | frozenset("\"'")
QUOTE_OPENERS = frozenset("「『“")
# ASCII characters that keep a following-ASCII "!"/"?" inside a token (URLs, code, "Yahoo!Japan")
ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=&/%_.-+#~")
STRIP = " \t\u3000\r\n\u2028\u2029"
_LINE = re.compile("[^\n\r\u2028\u2029]+")
_OPENER = re.compile("[" + re.escape("".join(BRACKETS)) + "]")
_BRACKET = re.compile("[" + re.escape("".join(BRACKETS) + "".join(BRACKETS.values())) + "]")
_CANDIDATE = re.compile("[" + re.escape("".join(TERMINATORS | CLOSERS)) + "]")


def _depths(line: str) -> list[int] | None:
    """Bracket depth per character of one line, counting only pairs that close (mismatches are ignored).

    None when the line has no opening bracket (the common case): depth 0 everywhere.
    """
    if not _OPENER.search(line):
        return None
    delta = [0] * (len(line) + 1)
    stack: list[tuple[str, int]] = []  # (expected closer, index of opener)
    for m in _BRACKET.finditer(line):
        i, ch = m.start(), m.group()
        if ch in BRACKETS:
            stack.append((BRACKETS[ch], i))
            continue
        for k in range(len(stack) - 1, -1, -1):
            if stack[k][0] == ch:  # close the nearest matching opener, dropping unmatched ones inside it
                delta[stack[k][1] + 1] += 1  # depth + 1 strictly between the opener and the closer
                delta[i] -= 1
                del stack[k:]
                break
    depth, running = [0] * len(line), 0
    for i in range(len(line)):
        running += delta[i]
        depth[i] = running
    return depth


def _is_terminator(text: str, i: int) -> bool:
    ch = text[i]
    if ch not in TERMINATORS:
        return False
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch == "．" and i > 0 and text[i - 1].isdecimal() and nxt.isdecimal():
        return False  # decimal point: ０．５
    if ch in ASCII_TERMINATORS and nxt and nxt in ASCII_WORD:
        return False
    if ch in EXCLAMATIONS:
        j = i + 1
        while j < len(text) and (text[j] in " \u3000" or text[j] in EXCLAMATIONS):
            j += 1
        if text.startswith(("と", "って"), j):
            return False  # quotative: ドン！と音がした, 大和魂！　と云う
    return True


def _ends_quoted_sentence(text: str, depth: list[int], i: int) -> bool:
    """The closer at ``i`` ends a bracket pair whose content ends with a terminator (closers in between allowed)."""
    k = i - 1
    while k >= 0 and text[k] in CLOSERS and depth[k] > 0:
        k -= 1
    return k >= 0 and depth[k] > 0 and _is_terminator(text, k)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, surrounding whitespace excluded, empty sentences skipped."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):  # line breaks are hard boundaries: memory and brackets stay per line
        _line_spans(line.group(), line.start(), spans)
    return spans


def _line_spans(line: str, offset: int, spans: list[tuple[int, int]]) -> None:
    depth = _depths(line)
    n, start, done = len(line), 0, 0  # done: characters already consumed by a sentence end

    def close(end: int) -> None:
        s, e = start, end
        while s < e and line[s] in STRIP:
            s += 1
        while e > s and line[e - 1] in STRIP:
            e -= 1
        if e > s:
            spans.append((offset + s, offset + e))

    for m in _CANDIDATE.finditer(line):
        i = m.start()
        if i < done or (depth is not None and depth[i] > 0):
            continue
        if _is_terminator(line, i):
            j = i + 1
            while j < n and (line[j] in TERMINATORS or line[j] in "…‥"):
                j += 1
            while j < n and line[j] in CLOSERS:
                j += 1
            close(j)
            start = done = j
        elif depth is not None and line[i] in CLOSERS and _ends_quoted_sentence(line, depth, i):
            # 「はい。」「いいえ。」: a finished quotation directly followed by another one
            j = i + 1
            while j < n and line[j] in CLOSERS:
                j += 1
            if j < n and line[j] in QUOTE_OPENERS:
                close(j)
                start = j
            done = j
    close(n)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` in order, stripped of surrounding whitespace."""
    return [text[s:e] for s, e in sentence_spans(text)]
