"""Sudachi and MeCab user dictionaries from terms, and the compiled Sudachi ``user.dic``.

Sudachi's user-dictionary source is a headerless CSV (see Sudachi's docs/user_dict.md); SudachiPy 0.7 reads 18
columns plus an optional 19th (synonym groups), and we write all 19:
headword (Sudachi-normalized, as the analyzer looks words up), left id, right id, cost, surface, POS 1-6, reading,
normalized form, dictionary-form id, split type, A split, B split, word structure, synonym groups.

Connection ids: 5146 is 名詞,普通名詞,一般 in the system dictionary's connection matrix (UniDic 2.1.2 ids, listed in
Sudachi's user_dict.md). Cost: ``base + per_char * len(term)`` (6000 - 1000/char by default): two-character terms cost
like ordinary nouns (Sudachi recommends 5000-9000) and every extra character makes a term cheaper, so a long term wins
over the shorter terms nested in it. A fixed negative cost does the opposite: a chain of nested terms, each cheap,
beats the long one (on MedTxt, -5000 kept 94% of term occurrences whole against 98.5% for the default).
"""

from __future__ import annotations

import csv
import os
import re
import time
from dataclasses import dataclass

COMMON_NOUN_ID = 5146  # 名詞,普通名詞,一般
DEFAULT_COST = 6000
DEFAULT_COST_PER_CHAR = -1000
POS = ("名詞", "普通名詞", "一般", "*", "*", "*")
MAX_BUILD_RETRIES = 25


def system_dic_path() -> str:
    import sudachidict_core

    return os.path.join(os.path.dirname(sudachidict_core.__file__), "resources", "system.dic")


@dataclass
class UserEntry:
    headword: str
    term: str
    normalized: str
    where: str  # the term's origin, for problem reports


def sudachi_headword(normalizer, term: str) -> str:
    """The form Sudachi looks up (lower case, NFKC, rewrite.def), which a user entry must be keyed by."""
    return normalizer.normalize(term)


def normalized_field(entry: UserEntry) -> str:
    """Sudachi reads a normalized form holding commas, or only digits, as a reference to another word."""
    value = entry.normalized
    if not value or "," in value or value.lstrip("-").isdigit():
        return entry.term
    return value


def entry_cost(term: str, base: int, per_char: int) -> int:
    return max(-32767, min(32767, base + per_char * len(term)))


def sudachi_row(entry: UserEntry, base: int, per_char: int) -> list[str]:
    cost = entry_cost(entry.term, base, per_char)
    return [
        entry.headword, str(COMMON_NOUN_ID), str(COMMON_NOUN_ID), str(cost), entry.term, *POS,
        "", normalized_field(entry), "*", "*", "*", "*", "*", "*",
    ]


def write_sudachi_csv(path: str, entries: list[UserEntry], base: int, per_char: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for entry in entries:
            writer.writerow(sudachi_row(entry, base, per_char))


def mecab_row(entry: UserEntry, base: int, per_char: int) -> list:
    """A UniDic row (26 features, the dictionary of the MeCab pretokenizer: unidic-lite) for a common noun; empty
    context ids are filled in by ``mecab-dict-index`` from the dictionary's rewrite.def. Cost as for Sudachi."""
    t = entry.term
    lemma = entry.normalized if entry.normalized and "," not in entry.normalized else t
    features = ["名詞", "普通名詞", "一般", "*", "*", "*", t, lemma, t, "*", t, "*", "*", *["*"] * 13]
    return [t, "", "", entry_cost(t, base, per_char), *features]


def write_mecab_csv(path: str, entries: list[UserEntry], base: int = DEFAULT_COST,
                    per_char: int = DEFAULT_COST_PER_CHAR) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for entry in entries:
            if "," not in entry.term and '"' not in entry.term:
                writer.writerow(mecab_row(entry, base, per_char))


MECAB_TOOL_DIRS = ("/usr/lib/mecab", "/usr/libexec/mecab", "/usr/local/libexec/mecab", "/usr/lib/x86_64-linux-gnu/mecab")


def mecab_dict_index() -> str | None:
    """The ``mecab-dict-index`` program: on PATH, where ``mecab-config --libexecdir`` says, or where Debian's
    mecab-utils puts it (/usr/lib/mecab, not on PATH)."""
    import shutil
    import subprocess

    found = shutil.which("mecab-dict-index")
    if found:
        return found
    dirs = list(MECAB_TOOL_DIRS)
    if shutil.which("mecab-config"):
        out = subprocess.run(["mecab-config", "--libexecdir"], capture_output=True, text=True, check=False)
        dirs.insert(0, out.stdout.strip())
    for folder in dirs:
        path = os.path.join(folder, "mecab-dict-index")
        if folder and os.access(path, os.X_OK):
            return path
    return None


def build_mecab_dic(csv_path: str, dic_path: str) -> dict:
    """Compile the MeCab user dictionary against unidic-lite; says why not where it cannot."""
    import subprocess

    tool = mecab_dict_index()
    if tool is None:
        return {"compiled": False, "reason": "mecab-dict-index not found (Debian: apt-get install mecab-utils); "
                "mecab_user.csv is the plain source, and MeCab tokenizers keep the terms as added tokens"}
    try:
        import unidic_lite
    except ImportError:
        return {"compiled": False, "reason": "unidic-lite (the MeCab pretokenizer's dictionary) is not installed"}
    started = time.perf_counter()
    result = subprocess.run([tool, "-d", unidic_lite.DICDIR, "-u", dic_path, "-f", "utf-8", "-t", "utf-8", csv_path],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not os.path.exists(dic_path):
        message = (result.stderr or result.stdout).strip().splitlines()
        return {"compiled": False, "reason": f"mecab-dict-index failed: {message[-1] if message else result.returncode}"}
    return {"compiled": True, "tool": tool, "system_dictionary": "unidic-lite",
            "build_seconds": round(time.perf_counter() - started, 2)}


def compile_mecab_terms_dic(dict_dir: str, terms: list[str], csv_path: str, dic_path: str) -> dict:
    """A MeCab user dictionary with only ``terms``, from the rows of a dictionary folder's mecab_user.csv (as
    ``compile_terms_dic`` for Sudachi); says why not where it cannot (no such rows, no ``mecab-dict-index``)."""
    wanted = set(terms)
    source = os.path.join(dict_dir, "mecab_user.csv")
    if not os.path.exists(source):
        return {"compiled": False, "reason": f"{source} not found (made by `jacorpus dict build`)"}
    with open(source, encoding="utf-8", newline="") as fh:
        rows = [row for row in csv.reader(fh) if row and row[0] in wanted]
    if not rows:
        return {"compiled": False, "reason": "no kept term has a row in mecab_user.csv"}
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return {**build_mecab_dic(csv_path, dic_path), "rows": len(rows)}


_ERROR_LINE = re.compile(r"\.csv:(\d+)")


def build_user_dic(
    entries: list[UserEntry], csv_path: str, dic_path: str,
    base: int = DEFAULT_COST, per_char: int = DEFAULT_COST_PER_CHAR,
):
    """Compile entries into ``dic_path``; rows the builder rejects are removed one by one and returned.

    Returns (kept entries, [(entry, Sudachi's message)], seconds). SudachiPy stops at the first bad row, naming
    its line, so the loop drops that row and builds again.
    """
    from sudachipy import sudachipy as native

    rejected: list[tuple[UserEntry, str]] = []
    started = time.perf_counter()
    for _ in range(MAX_BUILD_RETRIES):
        write_sudachi_csv(csv_path, entries, base, per_char)
        if os.path.exists(dic_path):
            os.remove(dic_path)
        if not entries:
            return entries, rejected, time.perf_counter() - started
        try:
            native.build_user_dic(system=system_dic_path(), lex=[csv_path], output=dic_path, description="jacorpus")
            return entries, rejected, time.perf_counter() - started
        except BaseException as exc:  # SudachiError "<path>:<line>\t<reason>"; a Rust panic is a BaseException
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise
            match = _ERROR_LINE.search(str(exc))
            if not match or not 1 <= int(match.group(1)) <= len(entries):
                raise RuntimeError(f"Sudachi could not build {dic_path} and named no row: {exc}") from exc
            index = int(match.group(1)) - 1
            rejected.append((entries[index], str(exc).split("\t")[-1].strip()))
            entries = entries[:index] + entries[index + 1 :]
    raise RuntimeError(f"Sudachi rejected more than {MAX_BUILD_RETRIES} user dictionary rows; see {csv_path}")


def compile_terms_dic(dict_dir: str, terms: list[str], csv_path: str, dic_path: str) -> int:
    """A user dictionary with only ``terms``, from the rows of a dictionary folder's user.csv; returns its size.

    Terms that base Sudachi already keeps whole have no row (and need none). Those rows compiled once already,
    so they compile again.
    """
    from sudachipy import sudachipy as native

    wanted = set(terms)
    with open(os.path.join(dict_dir, "user.csv"), encoding="utf-8", newline="") as fh:
        rows = [row for row in csv.reader(fh) if len(row) > 4 and row[4] in wanted]
    if not rows:
        return 0
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    native.build_user_dic(system=system_dic_path(), lex=[csv_path], output=dic_path, description="jacorpus terms")
    return len(rows)


def whole_word_counts(terms: list[str], mode: str, user_dic: str | None) -> int:
    """How many terms Sudachi returns as one word when given alone."""
    from jacorpus.tokenizers.sudachi_split import SudachiWords

    sudachi = SudachiWords(mode, [user_dic] if user_dic else [])
    return sum(1 for term in terms if len(sudachi.spans(term)) == 1)


def occurrences_kept_whole(
    texts: list[str], matcher, mode: str, user_dic: str | None, only: set[str] | None = None
) -> tuple[int, int]:
    """(occurrences that are exactly one Sudachi word, all occurrences) of the matcher's terms in texts.

    Occurrences are the matcher's leftmost-longest ones, so a term nested in a longer term is not counted;
    ``only`` restricts the count to some terms (e.g. the seed terms).
    """
    from jacorpus.tokenizers.sudachi_split import SudachiWords

    sudachi = SudachiWords(mode, [user_dic] if user_dic else [])
    whole = total = 0
    for text in texts:
        spans = set(sudachi.spans(text))
        for start, end, term in matcher.find_longest(text):
            if only is None or term in only:
                total += 1
                whole += (start, end) in spans
    return whole, total
