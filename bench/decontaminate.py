"""Recall, false positives and speed of the `decontaminate` step: the figures of docs/filters.md, "Decontamination".

    .venv/bin/python bench/decontaminate.py [--per-benchmark 60] [--rounds 3] [--out bench/results]

Benchmarks (the recipe's `benchmarks:` list, all from ../shared/data): JGLUE v1.3 valid sets (JSTS, JNLI sentences;
JCommonsenseQA questions and choices; JSQuAD contexts and questions), IgakuQA 2018-2020 problems and choices, and
JMMLU-Med (a JMMLU-style CSV). Hosts: the jawiki samples (2006, 2022-07; pages cleaned by the wikipedia source) and
the 99 ABEJA-CC-JA web documents.

- Planted: for each benchmark, `--per-benchmark` items drawn at random (seed 0) among those with at least `ngram`
  normalized characters, each planted once per variant into a host (alternately Wikipedia and web; at most 2,000
  characters of it) at a sentence end near its middle. Variants: `verbatim`; `normalized` (ASCII and digits to
  full width, katakana to half width, upper case, a line break and spaces inserted: what the dedup normalization
  is meant to undo); `edited` (one character replaced every 15: not promised, shows where n-grams stop).
  Recall = share of planted documents flagged with the planted item's benchmark.
- Clean: every host document as it is; false-positive rate = flagged documents / documents. A flagged clean page
  is listed with the item it matched, so a real overlap (JSQuAD contexts are Wikipedia paragraphs) can be told
  from a false one.
- Speed: the step (char and word units) against datatrove 0.10.1's NGramsDecontFilter (the same n-gram size in words) (language ja: spaCy over
  SudachiPy words; its index written with the indexer's own `compute_hashes`, since the indexer's `run` needs
  lighteval, which is not installed), over the first `--speed-chars` characters of the clean hosts, taking turns.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import types
import unicodedata
from pathlib import Path
from typing import Any

from _common import REPO, cc_ja_texts, results_dir, shared_data_dir, take_turns

sys.path.insert(0, str(REPO))

from datatrove.data import Document  # noqa: E402

from jacorpus.corpus.decontaminate import (  # noqa: E402
    BenchmarkSpec, Decontaminate, DecontaminateOptions, benchmark_items,
)
from jacorpus.corpus.dedup.textnorm import _nfkc_table, normalize_for_dedup  # noqa: E402

HOST_CHARS = 2000


def benchmark_specs(data: Path) -> list[BenchmarkSpec]:
    g = data / "jglue"
    return [
        BenchmarkSpec(name="jsts", path=str(g / "jsts-v1.3/valid-v1.3.json"), fields=["sentence1", "sentence2"],
                      id="sentence_pair_id"),
        BenchmarkSpec(name="jnli", path=str(g / "jnli-v1.3/valid-v1.3.json"), fields=["sentence1", "sentence2"],
                      id="sentence_pair_id"),
        BenchmarkSpec(name="jcommonsenseqa", path=str(g / "jcommonsenseqa-v1.3/valid-v1.3.json"),
                      fields=["question", "choice0", "choice1", "choice2", "choice3", "choice4"], id="q_id"),
        BenchmarkSpec(name="jsquad", path=str(g / "jsquad-v1.3/valid-v1.3.json"), records="data.paragraphs",
                      fields=["context", "qas.question"], id="qas.id"),
        BenchmarkSpec(name="igakuqa", path=str(data / "medical/igakuqa/20*/*[A-F].jsonl"),
                      fields=["problem_text", "choices"], id="problem_id"),
        BenchmarkSpec(name="jmmlu_med", path=str(data / "medical/jmed_llm/jmmlu_med.csv"),
                      fields=["question", "optionA", "optionB", "optionC", "optionD"]),
    ]


def wikipedia_texts(data: Path) -> list[str]:
    from jacorpus.corpus.sources.wikipedia import WikipediaOptions, WikipediaSource

    paths = [str(data / "jawiki_xml" / n) for n in ("jawiki-2006-08-export-0.3-sample.xml.bz2",
                                                  "jawiki-2022-07-pages-articles-sample.xml.bz2")]
    source = WikipediaSource("wiki", paths, WikipediaOptions())
    return [doc.text for path in source.files() for doc in source.read_file_safely(path) if doc.text.strip()]  # a truncated stream keeps its complete pages


# -- variants ---------------------------------------------------------------------------------------------------
def _half_width_katakana() -> dict[str, str]:
    """Full-width katakana -> half-width (the inverse of NFKC on U+FF61-U+FF9F, composed marks included)."""
    table = {}
    for code, full in _nfkc_table().items():
        if 0xFF61 <= code <= 0xFF9F and len(full) == 1:
            table.setdefault(full, chr(code))
    for code in range(0xFF66, 0xFF9E):  # ガ -> ｶﾞ, パ -> ﾊﾟ
        base = unicodedata.normalize("NFKC", chr(code))
        for mark, half in (("\u3099", "\uff9e"), ("\u309a", "\uff9f")):
            composed = unicodedata.normalize("NFC", base + mark)
            if len(composed) == 1:
                table.setdefault(composed, chr(code) + half)
    return table


HALF_KATAKANA = _half_width_katakana()


def normalized_variant(text: str, rng: random.Random) -> str:
    out = []
    for ch in text:
        if "!" <= ch <= "~":
            ch = chr(ord(ch.upper()) + 0xFEE0)  # ASCII -> full width, letters upper-cased
        out.append(HALF_KATAKANA.get(ch, ch))
    s = "".join(out)
    for gap in ("\n", " ", " "):  # never between a half-width kana and its half-width (semi-)voiced mark
        places = [i for i in range(1, len(s)) if s[i] not in "\uff9e\uff9f"]
        at = rng.choice(places) if places else len(s)
        s = s[:at] + gap + s[at:]
    return s


def edited_variant(text: str, rng: random.Random) -> str:
    chars = list(text)
    for i in range(7, len(chars), 15):
        chars[i] = "〇" if chars[i] != "〇" else "○"
    return "".join(chars)


def plant(host: str, item: str, rng: random.Random) -> str:
    host = host[:HOST_CHARS]
    middle = len(host) // 2
    end = host.find("。", middle)
    at = end + 1 if 0 <= end < middle + 300 else middle
    return host[:at] + item + host[at:]


# -- runs ---------------------------------------------------------------------------------------------------------
def run_step(step: Decontaminate, texts: list[str]) -> list[str | None]:
    docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
    flagged: list[str | None] = [None] * len(texts)
    kept = {d.id for d in step.run(iter(docs))}
    for d in docs:
        if d.id not in kept:
            flagged[int(d.id)] = d.metadata.get("contamination")
    return flagged


def datatrove_filter(items, n: int, folder: str):
    """datatrove's NGramsDecontFilter over an index written with NGramsDecontIndexer.compute_hashes."""
    import numpy as np
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer
    from datatrove.utils.hashing import create_hash_func
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    config = NGramsDecontConfig(n_grams=n, find_query_ngrams=True)
    indexer = types.SimpleNamespace(tokenizer=load_word_tokenizer("ja"), config=config,
                                    hash_func=create_hash_func(config.hash_config))
    hashes: dict[str, set[int]] = {}
    for item in items:
        hashes.setdefault(item.benchmark, set()).update(NGramsDecontIndexer.compute_hashes(indexer, item.text))
    for task, values in hashes.items():
        np.array(sorted(values), dtype=config.hash_config.np_descr).tofile(f"{folder}/{task}.index.hashes")
    return NGramsDecontFilter(folder, config=config, language="ja")


def real_overlap(doc: str, flag: str, by_id: dict[tuple[str, str], str]) -> bool:
    """A flag on clean text is a real overlap when the document holds a run of at least 30 characters of a matched
    item (or all of it), after normalization (JSQuAD's contexts are Wikipedia paragraphs; a page that quotes one is
    contaminated, not a false positive). datatrove's flags name only the task: checked against all its items."""
    from difflib import SequenceMatcher

    norm_doc = normalize_for_dedup(doc)
    entries = [e.split(":", 1) for e in flag.split("; ")]
    texts = [by_id[(b, i)] for b, i in entries if (b, i) in by_id] if all(len(e) == 2 for e in entries) else \
        [t for (b, _), t in by_id.items() if b == flag]
    for text in texts:
        norm = normalize_for_dedup(text)
        if norm in norm_doc:
            return len(norm) >= 30
        m = SequenceMatcher(None, norm, norm_doc, autojunk=False).find_longest_match(0, len(norm), 0, len(norm_doc))
        if m.size >= 30:
            return True
    return False


def run_datatrove(flt, texts: list[str]) -> list[str | None]:
    out: list[str | None] = []
    for i, t in enumerate(texts):
        doc = Document(text=t, id=str(i), metadata={})
        keep = flt.filter(doc)
        out.append(None if keep is True else doc.metadata.get("contaminated_task"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-benchmark", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed-chars", type=int, default=1_000_000)
    parser.add_argument("--datatrove-recall", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure datatrove's recall and false positives (its matcher reads a few thousand "
                             "characters/s on a loaded machine: the planted and clean sets take it over 40 minutes)")
    parser.add_argument("--out", default=str(results_dir()))
    parser.add_argument("--quick", action="store_true", help="10 items a benchmark, 1 round, 50k characters, "
                        "no datatrove recall (what `make bench` runs)")
    args = parser.parse_args()
    if args.quick:
        args.per_benchmark, args.rounds, args.speed_chars, args.datatrove_recall = 10, 1, 50_000, False
    data = shared_data_dir()
    specs = benchmark_specs(data)
    rng = random.Random(0)
    wiki, web = wikipedia_texts(data), cc_ja_texts(data)
    hosts = [h for pair in zip(wiki, web * (len(wiki) // len(web) + 1)) for h in pair]
    print(f"hosts: {len(wiki)} Wikipedia pages, {len(web)} web documents", file=sys.stderr)

    configs = {
        "char 13, min_overlap 0.5": dict(unit="char", ngram=13, min_overlap=0.5),
        "char 13, any n-gram": dict(unit="char", ngram=13, min_overlap=1e-9),
        "word 8, min_overlap 0.5": dict(unit="word", ngram=8, min_overlap=0.5),
    }
    steps = {}
    for name, cfg in configs.items():
        start = time.perf_counter()
        steps[name] = Decontaminate(DecontaminateOptions(benchmarks=specs, **cfg))
        print(f"index {name}: {steps[name].index.grams.size:,} n-grams in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
    items = steps["char 13, min_overlap 0.5"].index.items

    # planted documents
    planted: dict[str, list[tuple[str, str]]] = {"verbatim": [], "normalized": [], "edited": []}
    planted_item: dict[str, list[int]] = {k: [] for k in planted}  # which item each planted document carries
    h = 0
    for spec in specs:
        pool = [k for k, it in enumerate(items) if it.benchmark == spec.name and len(normalize_for_dedup(it.text)) >= 13]
        for k in rng.sample(pool, min(args.per_benchmark, len(pool))):
            item = items[k]
            for variant, make in (("verbatim", lambda t: t), ("normalized", lambda t: normalized_variant(t, rng)),
                                  ("edited", lambda t: edited_variant(t, rng))):
                planted[variant].append((spec.name, plant(hosts[h % len(hosts)], make(item.text), rng)))
                planted_item[variant].append(k)
                h += 1
    clean = {"wikipedia": wiki, "web": web}

    tmp = tempfile.mkdtemp(prefix="decont-")
    dt = datatrove_filter(items, 8, tmp)
    results: dict[str, Any] = {"argv": sys.argv[1:], "hosts": {"wikipedia": len(wiki), "web": len(web)},
                               "planted_per_variant": {k: len(v) for k, v in planted.items()}, "configs": {}}
    by_id = {(it.benchmark, it.item_id): it.text for it in items}
    runners = {name: (lambda texts, s=s: run_step(s, texts)) for name, s in steps.items()}
    if args.datatrove_recall:
        runners["datatrove NGramsDecontFilter (word 8, any n-gram)"] = lambda texts: run_datatrove(dt, texts)
    for name, runner in runners.items():
        row: dict[str, Any] = {"recall": {}, "recall_searched": {}, "searched": {}, "recall_by_benchmark": {},
                               "false_positives": {}}
        # items the step indexes: at least `min_item_ngrams` n-grams (shorter ones are skipped and counted by design)
        indexed = steps[name].index.item_grams > 0 if name in steps else None
        for variant, docs in planted.items():
            flags = runner([t for _, t in docs])
            hits = [bool(f) and bench in f for (bench, _), f in zip(docs, flags)]
            row["recall"][variant] = sum(hits) / len(hits)
            if indexed is not None:
                searched = [hit for hit, k in zip(hits, planted_item[variant]) if indexed[k]]
                row["searched"][variant] = len(searched)
                row["recall_searched"][variant] = sum(searched) / len(searched) if searched else None
            by: dict[str, list[bool]] = {}
            for (bench, _), hit in zip(docs, hits):
                by.setdefault(bench, []).append(hit)
            row["recall_by_benchmark"][variant] = {b: sum(v) / len(v) for b, v in by.items()}
        for kind, texts in clean.items():
            flags = runner(texts)
            found = [(i, f) for i, f in enumerate(flags) if f]
            real = [real_overlap(texts[i], f, by_id) for i, f in found]
            false = [f for (i, f), r in zip(found, real) if not r]
            row["false_positives"][kind] = {"documents": len(texts), "flagged": len(found), "real_overlaps": sum(real),
                                            "false": len(false), "rate": len(false) / len(texts),
                                            "examples": [f[:160] for f in false[:5]],
                                            "real_examples": [f[:160] for (_, f), r in zip(found, real) if r][:3]}
        results["configs"][name] = row
        print(name, json.dumps(row["recall"]), {k: v["flagged"] for k, v in row["false_positives"].items()},
              file=sys.stderr)

    # speed over the clean hosts
    texts, chars = [], 0
    for text in wiki + web:  # datatrove reads ~13k characters/s here: a budget keeps its rounds short
        if chars >= args.speed_chars:
            break
        texts.append(text)
        chars += len(text)
    contenders = {"ours char 13": lambda: runners["char 13, min_overlap 0.5"](texts),
                  "ours word 8": lambda: runners["word 8, min_overlap 0.5"](texts),
                  "datatrove word 8": lambda: run_datatrove(dt, texts)}
    times, _ = take_turns(contenders, args.rounds, progress="speed")
    results["speed"] = {
        "documents": len(texts), "chars": chars, "rounds": args.rounds,
        "mchars_per_s": {k: chars / min(v) / 1e6 for k, v in times.items()},
        "ratio_vs_datatrove": {k: statistics.median(d / o for d, o in zip(times["datatrove word 8"], v))
                               for k, v in times.items() if not k.startswith("datatrove")},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "decontaminate_quick" if args.quick else "decontaminate"  # a quick run never replaces the recorded one
    (out / f"{name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / f"{name}.md").write_text(render(results), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


def render(r: dict[str, Any]) -> str:
    lines = ["# Decontamination: recall on planted benchmark items, false positives on clean text, speed", "",
             "Command: `" + " ".join([".venv/bin/python bench/decontaminate.py", *r.get("argv", [])])
             + "` (see its docstring for what is planted where).", "",
             f"Hosts: {r['hosts']['wikipedia']} jawiki pages, {r['hosts']['web']} ABEJA-CC-JA web documents; "
             f"{r['planted_per_variant']['verbatim']} planted documents per variant.", "",
             "| matcher | recall verbatim | recall normalized | recall edited (1 char in 15) | "
             "flagged clean Wikipedia | flagged clean web |", "|---|---:|---:|---:|---:|---:|"]
    searched_lines = ["", "Recall over the planted items the step searches (at least `min_item_ngrams` = 3 n-grams, "
                      "i.e. 15 characters at char 13, 10 words at word 8; shorter items are skipped by design and counted as "
                      "`short_items:<benchmark>`):", "",
                      "| matcher | items searched (of planted) | recall verbatim | recall normalized | recall edited |",
                      "|---|---:|---:|---:|---:|"]
    for name, row in r["configs"].items():
        if row.get("recall_searched"):
            rs = row["recall_searched"]
            searched_lines.append(f"| {name} | {row['searched']['verbatim']}/{r['planted_per_variant']['verbatim']} | "
                                  f"{rs['verbatim']:.1%} | {rs['normalized']:.1%} | {rs['edited']:.1%} |")
    for name, row in r["configs"].items():
        fp = row["false_positives"]
        lines.append(f"| {name} | {row['recall']['verbatim']:.1%} | {row['recall']['normalized']:.1%} | "
                     f"{row['recall']['edited']:.1%} | {fp['wikipedia']['false']}/{fp['wikipedia']['documents']} "
                     f"({fp['wikipedia']['rate']:.2%}; +{fp['wikipedia']['real_overlaps']} real) | "
                     f"{fp['web']['false']}/{fp['web']['documents']} ({fp['web']['rate']:.2%}; +{fp['web']['real_overlaps']} real) |")
    lines += searched_lines
    lines += ["", "Recall by benchmark (normalized variant):", "",
              "| matcher | " + " | ".join(next(iter(r["configs"].values()))["recall_by_benchmark"]["normalized"]) + " |",
              "|---|" + "---:|" * len(next(iter(r["configs"].values()))["recall_by_benchmark"]["normalized"])]
    for name, row in r["configs"].items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.0%}" for v in row["recall_by_benchmark"]["normalized"].values()) + " |")
    lines += ["", "A flag on clean text counts as real (not false) when the page holds at least 30 normalized characters "
              "of a matched item in one run (JSQuAD contexts are Wikipedia paragraphs). Examples:", ""]
    for name, row in r["configs"].items():
        for kind, fp in row["false_positives"].items():
            lines += [f"- {name}, {kind}, false: `{ex}`" for ex in fp["examples"]]
            lines += [f"- {name}, {kind}, real: `{ex}`" for ex in fp["real_examples"]]
    s = r["speed"]
    lines += ["", f"Speed over {s['documents']} clean host documents ({s['chars']:,} characters), best of "
              f"{s['rounds']} rounds taken in turns; ratio = median per-round datatrove time / our time:", "",
              "| contender | M chars/s | x datatrove |", "|---|---:|---:|"]
    for k, v in s["mchars_per_s"].items():
        ratio = s["ratio_vs_datatrove"].get(k)
        lines.append(f"| {k} | {v:.2f} | {'' if ratio is None else f'{ratio:.1f}x'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
