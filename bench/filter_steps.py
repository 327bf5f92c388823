"""Speed of the normalize, pii and ngwords steps against peers: the figures of docs/filters.md, "Measurements".

    .venv/bin/python bench/filter_steps.py [--quick] [--out bench/results]

Text: the 99 ABEJA-CC-JA web documents plus the 1,082 distinct mC4-ja paragraphs (about 1.0 M characters), the
same texts as bench/filters.py. Each group's contenders run in this process, taking turns within each round, each
over every text, one call per text. Reported: the best round of each as millions of characters per second, and the
median over rounds of the per-round time ratio (peer time / our time), which cancels most of the load from other
processes. Groups:
- normalize (all default rules; with `boilerplate_lines`) vs bare `unicodedata` NFKC and HojiChar's
  DocumentNormalizer (NFKC only); neologdn 0.5.6 too when it is importable (it is not a project dependency:
  `pip install --target DIR neologdn==0.5.6` and run with PYTHONPATH=DIR).
- pii (six types) vs HojiChar MaskPersonalInformation (phone, e-mail) and datatrove PIIFormatter (e-mail, IPv4).
- ngwords matching (WordMatcher.count) vs one regex alternation (longest word first, `findall`) and HojiChar
  NgWordsFilterJa (`search`, stops at the first hit), with HojiChar's adult_keywords_ja.txt, on lower-cased text.
Besides time, each contender's work on the last round is recorded (documents changed, items found), to show that
the contenders do comparable work. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any, Callable

from _common import REPO, cc_ja_texts, mc4_texts, results_dir, shared_data_dir, take_turns

# odd counts: a true median; pii rounds are short, so it gets more of them
ROUNDS = {"quick": {"normalize": 5, "pii": 5, "ngwords": 3}, "full": {"normalize": 31, "pii": 51, "ngwords": 15}}


def compare(group: str, contenders: dict[str, Callable[[str], Any]], texts: list[str], rounds: int,
            work: Callable[[str, list[Any]], int]) -> dict[str, Any]:
    """Time the contenders over `texts`; the first one is ours, the others are compared with it."""
    for fn in contenders.values():  # warm caches and lazy compiles outside the timed part
        for text in texts[:50]:
            fn(text)
    runs = {name: (lambda fn=fn: [fn(text) for text in texts]) for name, fn in contenders.items()}
    times, outputs = take_turns(runs, rounds, progress=group)
    ours = next(iter(contenders))
    chars = sum(map(len, texts))
    return {
        "rounds": rounds,
        "mchars_per_s_best": {name: round(chars / min(t) / 1e6, 2) for name, t in times.items()},
        # > 1: ours is faster by this factor
        "time_ratio_vs_ours": {name: round(statistics.median(a / b for a, b in zip(t, times[ours])), 2)
                               for name, t in times.items() if name != ours},
        "ratio_spread": {name: [round(min(a / b for a, b in zip(t, times[ours])), 2),
                                round(max(a / b for a, b in zip(t, times[ours])), 2)]
                         for name, t in times.items() if name != ours},
        "work": {name: work(name, out) for name, out in outputs.items()},
    }


def changed(texts: list[str]) -> Callable[[str, list[Any]], int]:
    """Work of a rewriting contender: how many documents it changed."""
    def count(name: str, outputs: list[Any]) -> int:
        as_text = [o[0] if isinstance(o, tuple) else getattr(o, "text", o) for o in outputs]
        return sum(a != b for a, b in zip(as_text, texts))
    return count


def normalize_group(texts: list[str], rounds: int) -> dict[str, Any]:
    from hojichar import Document as HDoc
    from hojichar.filters.document_filters import DocumentNormalizer

    from jacorpus.corpus.normalize import Normalize, NormalizeOptions

    ours, with_lines, hojichar = Normalize(), Normalize(NormalizeOptions(boilerplate_lines=True)), DocumentNormalizer()
    contenders: dict[str, Callable[[str], Any]] = {
        "jacorpus_normalize": ours.normalize, "jacorpus_normalize_boilerplate_lines": with_lines.normalize,
        "unicodedata_nfkc": lambda t: unicodedata.normalize("NFKC", t),
        "hojichar_DocumentNormalizer": lambda t: hojichar.apply(HDoc(t)),
    }
    try:
        import neologdn  # optional: not a project dependency (see the module docstring)

        contenders["neologdn"] = neologdn.normalize
        version = getattr(neologdn, "__version__", "installed")
    except ImportError:
        version = None
    figures = compare("normalize", contenders, texts, rounds, changed(texts))
    figures["neologdn"] = version
    return figures


def pii_group(texts: list[str], rounds: int) -> dict[str, Any]:
    from datatrove.pipeline.formatters import PIIFormatter
    from hojichar import Document as HDoc
    from hojichar.filters.document_filters import MaskPersonalInformation

    from jacorpus.corpus.pii import Pii

    ours, hojichar, datatrove = Pii(), MaskPersonalInformation(), PIIFormatter()
    contenders: dict[str, Callable[[str], Any]] = {
        "jacorpus_pii": ours.mask, "hojichar_MaskPersonalInformation": lambda t: hojichar.apply(HDoc(t)),
        "datatrove_PIIFormatter": datatrove.format,
    }
    figures = compare("pii", contenders, texts, rounds, changed(texts))
    _, masked = zip(*map(ours.mask, texts))  # items, not documents: what the docs' "16 items" counts
    figures["jacorpus_masked_items"] = {t: sum(m.get(t, 0) for m in masked) for t in ours.types}
    return figures


def ngwords_group(texts: list[str], rounds: int) -> dict[str, Any]:
    from hojichar import Document as HDoc
    from hojichar.filters.document_filters import NgWordsFilterJa

    from jacorpus.corpus.ngwords import WordMatcher, read_word_list

    path = str(importlib.resources.files("hojichar") / "dict" / "adult_keywords_ja.txt")
    words = sorted(set(read_word_list(path)))  # normalized and lower-cased, as the step reads a list
    matcher = WordMatcher(words)
    alternation = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
    hojichar = NgWordsFilterJa(path)
    lowered = [t.lower() for t in texts]  # the step lower-cases once before matching; every contender gets it
    contenders: dict[str, Callable[[str], Any]] = {
        "jacorpus_WordMatcher": matcher.count, "regex_alternation": alternation.findall,
        "hojichar_NgWordsFilterJa": lambda t: hojichar.apply(HDoc(t)),
    }

    def work(name: str, outputs: list[Any]) -> int:  # occurrences found; HojiChar: documents with a hit
        if name == "hojichar_NgWordsFilterJa":
            return sum(doc.is_rejected for doc in outputs)
        return sum(outputs) if name == "jacorpus_WordMatcher" else sum(map(len, outputs))

    figures = compare("ngwords", contenders, lowered, rounds, work)
    figures["words"] = len(words)
    figures["jacorpus_documents_with_a_hit"] = sum(matcher.count(t) > 0 for t in lowered)
    return figures


def write_markdown(path: Path, figures: dict[str, Any]) -> None:
    lines = ["# Filter step speed (bench/filter_steps.py)", "",
             f"Mode: {figures['mode']}. {figures['documents']:,} real Japanese web documents "
             f"({figures['characters']:,} chars), one core; contenders take turns within each round. Speed: best "
             "round, M chars/s. Ratio: median over rounds of peer time / our time (> 1: ours faster), with the "
             f"lowest and highest round. Load average at start {figures['load_average'][0]}, at end "
             f"{figures['load_average'][1]} (2 cores).", ""]
    for group in ("normalize", "pii", "ngwords"):
        g = figures[group]
        ours = next(iter(g["mchars_per_s_best"]))
        lines += [f"## {group} ({g['rounds']} rounds)", "", "| contender | M chars/s | ratio (min-max) | work |",
                  "|---|---:|---|---:|"]
        for name, speed in g["mchars_per_s_best"].items():
            low, high = g["ratio_spread"].get(name, (None, None))
            ratio = "" if name == ours else f"{g['time_ratio_vs_ours'][name]} ({low}-{high})"
            lines.append(f"| {name} | {speed} | {ratio} | {g['work'][name]:,} |")
        lines.append("")
    lines += ["Work: normalize and pii, documents changed; ngwords, occurrences found (HojiChar: documents with a "
              f"hit, it stops at the first). NG words: {figures['ngwords']['words']:,}. jacorpus pii masked items: "
              f"{figures['pii']['jacorpus_masked_items']}. "
              f"neologdn: {figures['normalize']['neologdn'] or 'not installed'}.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (results are not written)")
    parser.add_argument("--out", type=Path, default=results_dir())
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    data = shared_data_dir()
    texts = cc_ja_texts(data) + mc4_texts(data)
    load_start = _load_average()
    started = time.perf_counter()
    figures: dict[str, Any] = {"mode": mode, "documents": len(texts), "characters": sum(map(len, texts))}
    for group, run in (("normalize", normalize_group), ("pii", pii_group), ("ngwords", ngwords_group)):
        figures[group] = run(texts, ROUNDS[mode][group])
    figures["seconds"] = round(time.perf_counter() - started, 1)
    figures["load_average"] = [load_start, _load_average()]

    if not args.quick:  # --quick is a smoke run; the recorded results are the full ones
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "filter_steps.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
        write_markdown(args.out / "filter_steps.md", figures)
    summary = {k: figures[k] for k in ("mode", "documents", "characters", "seconds", "load_average")}
    for group in ("normalize", "pii", "ngwords"):
        summary[group] = {k: figures[group][k] for k in ("mchars_per_s_best", "time_ratio_vs_ours")}
    print(json.dumps(summary, ensure_ascii=False))


def _load_average() -> float | None:
    try:
        return round(float(Path("/proc/loadavg").read_text().split()[0]), 1)
    except (OSError, ValueError, IndexError):
        return None


if __name__ == "__main__":
    sys.exit(main())
