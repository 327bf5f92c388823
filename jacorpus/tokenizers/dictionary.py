"""`jacorpus dict build`: domain-term dictionary from a corpus and seed dictionaries.

Writes into the output folder:
- ``terms.tsv``: term, normalized, score, frequency, origin (seed|extracted), standard, where (one row per term);
- ``user.csv`` + ``user.dic``: the Sudachi user dictionary source and its compiled form;
- ``mecab_user.csv`` (+ ``mecab_user.dic``): the same terms as a UniDic-style MeCab user dictionary source, compiled
  against unidic-lite when ``mecab-dict-index`` is available (else the report says why not);
- ``report.json``: counts, the rows left out with their line, and how Sudachi segments the seed terms.
"""

from __future__ import annotations

import csv
import json
import os
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from jacorpus.tokenizers.terms import Problem, SeedFile, TermMatcher, read_seed, term_key, term_problem

TERMS_FILE = "terms.tsv"
TERMS_HEADER = ["term", "normalized", "score", "frequency", "origin", "standard", "where"]


@dataclass
class Term:
    term: str
    score: float = 0.0
    frequency: int = 0
    origin: str = "extracted"
    standard: str = ""
    where: str = ""

    @property
    def normalized(self) -> str:
        return term_key(self.term)


@dataclass
class DictionaryOptions:
    seeds: list[str] = field(default_factory=list)
    mode: str = "C"  # split mode of the report's segmentation checks
    cost: int = 6000  # user-dictionary cost of a term: cost + cost_per_char * its length
    cost_per_char: int = -1000
    extract: bool = True
    min_frequency: int = 2
    min_score: float = 2.0
    max_words: int = 8
    max_terms: int = 20000
    max_documents: int | None = None
    max_characters: int | None = 50_000_000


def merge_terms(seeds: list[SeedFile], extracted: Iterable[Any]) -> tuple[dict[str, Term], list[Problem]]:
    """Seed terms first (their first spelling wins), then extracted ones; duplicates by normalized key merge."""
    terms: dict[str, Term] = {}
    problems: list[Problem] = []
    for seed in seeds:
        for s in seed.terms:
            why = term_problem(s.term)
            if why:
                problems.append(Problem(*_where_of(s.where), why, s.term))
            elif term_key(s.term) not in terms:
                terms[term_key(s.term)] = Term(s.term, origin="seed", standard=s.standard, where=s.where)
    for x in extracted:
        key = term_key(x.term)
        if key in terms:
            terms[key].score = max(terms[key].score, x.score)
        elif not term_problem(x.term):
            terms[key] = Term(x.term, score=round(x.score, 3), origin="extracted")
    return terms, problems


def write_terms(path: str, terms: Iterable[Term]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(TERMS_HEADER)
        for t in terms:
            writer.writerow([t.term, t.normalized, t.score, t.frequency, t.origin, t.standard, t.where])


def read_terms(dict_dir_or_file: str, min_frequency: int = 0) -> list[dict[str, str]]:
    """Rows of a terms.tsv (a dictionary folder or the file itself), or of a plain one-term-per-line list."""
    path = os.path.join(dict_dir_or_file, TERMS_FILE) if os.path.isdir(dict_dir_or_file) else dict_dir_or_file
    with open(path, encoding="utf-8", newline="") as fh:
        first = fh.readline().rstrip("\r\n").split("\t")
        fh.seek(0)
        if first == TERMS_HEADER:
            rows = list(csv.DictReader(fh, delimiter="\t"))
            return [r for r in rows if int(r["frequency"] or 0) >= min_frequency]
        return [{"term": line.strip()} for line in fh if line.strip() and not line.startswith("#")]


class DictionaryBuilder:
    """Reads the corpus sample once, extracts and merges terms, compiles the user dictionary, reports."""

    def __init__(self, corpus: list[str], out_dir: str, options: DictionaryOptions) -> None:
        self.corpus, self.out_dir, self.options = corpus, out_dir, options

    def run(self, progress: bool = True) -> dict[str, Any]:
        from tqdm.auto import tqdm

        from jacorpus.tokenizers import sudachi_dict as sd
        from jacorpus.tokenizers.corpus_text import SampleCap, iter_texts
        from jacorpus.tokenizers.extract import TermExtractor

        o = self.options
        os.makedirs(self.out_dir, exist_ok=True)
        seeds = [read_seed(path) for path in o.seeds]
        cap = SampleCap(o.max_documents, o.max_characters)
        texts = [unicodedata.normalize("NFKC", t) for t in tqdm(iter_texts(self.corpus, cap), desc="read corpus",
                                                                 unit="doc", disable=not progress)]
        extractor = TermExtractor(o.max_words, o.min_frequency, o.min_score, o.max_terms)
        if o.extract:
            for text in tqdm(texts, desc="extract terms", unit="doc", disable=not progress):
                extractor.add(text)
        terms, problems = merge_terms(seeds, extractor.terms() if o.extract else [])
        problems = [p for seed in seeds for p in seed.problems] + problems
        counts = TermMatcher(t.term for t in terms.values()).count(texts)
        for t in terms.values():
            t.frequency = counts.get(t.term, 0)
        ordered = sorted(terms.values(), key=lambda t: (t.origin != "seed", -t.frequency, -t.score, t.term))

        entries = self._user_entries(ordered, problems, progress)
        dic = os.path.join(self.out_dir, "user.dic")
        kept, rejected, seconds = sd.build_user_dic(
            entries, os.path.join(self.out_dir, "user.csv"), dic, o.cost, o.cost_per_char
        )
        for entry, message in rejected:
            problems.append(Problem(*_where_of(entry.where), f"Sudachi rejected it: {message}", entry.term))
        rejected_terms = {entry.term for entry, _ in rejected}
        final = [t for t in ordered if t.term not in rejected_terms]
        write_terms(os.path.join(self.out_dir, TERMS_FILE), final)
        mecab_csv = os.path.join(self.out_dir, "mecab_user.csv")
        sd.write_mecab_csv(mecab_csv, [sd.UserEntry(t.term, t.term, t.standard, t.where) for t in final],
                           o.cost, o.cost_per_char)
        mecab = sd.build_mecab_dic(mecab_csv, os.path.join(self.out_dir, "mecab_user.dic"))
        report = {
            "corpus": {"documents": len(texts), "characters": sum(map(len, texts))},
            "seed_files": [{"path": s.path, "rows": s.rows, "terms": len(s.terms), "problems": len(s.problems)}
                           for s in seeds],
            "terms": {"total": len(final), "seed": sum(t.origin == "seed" for t in final),
                      "extracted": sum(t.origin == "extracted" for t in final)},
            "user_dic": {"entries": len(kept), "rejected": len(rejected), "build_seconds": round(seconds, 2)},
            "mecab_user_dic": mecab,
            **self._segmentation_report(final, texts, dic if kept else None),
            "problems": [asdict(p) for p in problems],
        }
        with open(os.path.join(self.out_dir, "report.json"), "w", encoding="utf-8") as fh:
            json.dump(report, fh, ensure_ascii=False, indent=2)
        return report

    def _user_entries(self, ordered: list[Term], problems: list[Problem], progress: bool) -> list:
        """One Sudachi entry per headword, except for terms the base dictionary already returns as one word even
        in split mode A (an entry would only replace the system word's part of speech)."""
        from tqdm.auto import tqdm

        from jacorpus.tokenizers import sudachi_dict as sd
        from jacorpus.tokenizers.sudachi_split import SudachiWords

        base_a = SudachiWords("A")
        normalizer = base_a.dictionary.text_normalizer()
        entries, headwords = [], set()
        for t in tqdm(ordered, desc="user dictionary", unit="term", disable=not progress):
            head = sd.sudachi_headword(normalizer, t.term)
            if not head.strip():
                problems.append(Problem(*_where_of(t.where), "empty after Sudachi's normalization", t.term))
            elif head not in headwords and len(base_a.spans(t.term)) != 1:
                headwords.add(head)
                entries.append(sd.UserEntry(head, t.term, t.standard, t.where))
        return entries

    def _segmentation_report(self, final: list[Term], texts: list[str], user_dic: str | None) -> dict[str, Any]:
        """Seed terms found in the corpus, and how many Sudachi keeps whole, alone and in running text."""
        from jacorpus.tokenizers import sudachi_dict as sd

        mode = self.options.mode
        seed_in_corpus = [t.term for t in final if t.origin == "seed" and t.frequency > 0]
        matcher, seed_set = TermMatcher(t.term for t in final if t.frequency > 0), set(seed_in_corpus)
        return {
            "split_mode": mode,
            "seed_terms_in_corpus": len(seed_in_corpus),
            "seed_terms_whole_base": sd.whole_word_counts(seed_in_corpus, mode, None),
            "seed_terms_whole_user_dic": sd.whole_word_counts(seed_in_corpus, mode, user_dic),
            "seed_occurrences_whole_base": list(sd.occurrences_kept_whole(texts, matcher, mode, None, seed_set)),
            "seed_occurrences_whole_user_dic": list(
                sd.occurrences_kept_whole(texts, matcher, mode, user_dic, seed_set)
            ),
        }


def _where_of(where: str) -> tuple[str, int | None]:
    file, sep, line = where.rpartition(":")
    return (file, int(line)) if sep and line.isdigit() else ("extracted", None)

