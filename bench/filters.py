"""Filter chain speed against HojiChar and datatrove, plus the accuracy measurements of docs/quality.md.

    .venv/bin/python bench/filters.py [--quick] [--out bench/results]

Speed: CPU seconds on one core (one process, one thread) over real Japanese web text (ABEJA-CC-JA sample + mC4-ja
paragraphs), every chain timed in the same process, taking turns within each round. Pairs doing the same work:
- jacorpus's fineweb2_ja preset alone vs datatrove 0.10's Gopher repetition, FineWeb quality and Gopher quality
  filters with FineWeb-2's jpn_Jpan parameters: the kept sets must be identical (the bench stops otherwise).
- the whole chains normalize -> language -> fineweb2_ja -> pii vs datatrove's LanguageFilter (same lid.176.ftz) ->
  the same three filters -> PIIFormatter (datatrove has no Unicode normalizer; jacorpus's language step also wants
  kana): kept sets reported.
- the rules HojiChar 0.18 and jacorpus share, same parameters (SAME_RULES_AS_HOJICHAR and the two chain builders):
  kept sets reported, with the rule that dropped each document the two disagree on.
jacorpus's swallow chain and HojiChar's own chain (other rule families) are timed for reference only.
Accuracy: language ID on web_html + WARC pages, presets and a trained classifier against the mC4 human labels.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _common import cc_ja_texts, mc4_texts, results_dir, take_turns  # noqa: E402  (bench/, the script's own folder)
from conftest import shared_data_dir  # noqa: E402
from datatrove.data import Document  # noqa: E402

from jacorpus.corpus.quality_labels import evaluate, read_labels, split_examples  # noqa: E402
from jacorpus.corpus.language import LanguageFilter, LanguageOptions, lid_model_path  # noqa: E402
from jacorpus.corpus.quality import QualityFilter, QualityOptions  # noqa: E402

FW2 = dict(  # FineWeb-2 configs/jpn_Jpan.yml as fineweb-2-pipeline.py passes it to datatrove
    rep=dict(dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0, dup_line_frac=0.375,
             top_n_grams=[(2, 0.121), (3, 0.129), (4, 0.145)],
             dup_n_grams=[(5, 0.307), (6, 0.283), (7, 0.264), (8, 0.248), (9, 0.234), (10, 0.223)]),
    fw=dict(short_line_thr=999, char_duplicates_ratio=0.1, line_punct_thr=0.167, new_line_ratio=0.162),
    gq=dict(max_avg_word_length=5, min_avg_word_length=1, max_non_alpha_words_ratio=0.759, min_stop_words=2),
)


# -- chains: each maps a list of texts to the indices of the documents kept -------------------------------------
Chain = Callable[[list[str]], list[int]]


def run_steps(steps: list[Any], texts: list[str]) -> list[int]:
    """Indices of the texts that come out of a chain of datatrove-style steps (jacorpus's steps are ones too)."""
    stream: Iterable[Document] = (Document(text=t, id=str(i), metadata={"source": "b"}) for i, t in enumerate(texts))
    for step in steps:
        stream = step.run(stream)
    return [int(doc.id) for doc in stream]


def jacorpus_chain(preset: str) -> tuple[Chain, list[str]]:
    from jacorpus.corpus.steps import load_builtin_steps

    steps_by_name = load_builtin_steps()
    names = [n for n in ("normalize", "language", "quality", "pii") if n in steps_by_name]
    steps = [LanguageFilter(LanguageOptions()) if n == "language" else
             QualityFilter(QualityOptions(preset=preset)) if n == "quality" else steps_by_name[n]() for n in names]
    return partial(run_steps, steps), names


def jacorpus_fineweb2_rules() -> Chain:
    """The fineweb2_ja preset alone: exactly the rules of datatrove_fineweb2_rules."""
    return partial(run_steps, [QualityFilter(QualityOptions(preset="fineweb2_ja"))])


def datatrove_fineweb2_rules() -> Chain:
    """datatrove's three filters with FineWeb-2's jpn_Jpan parameters (fineweb-2-pipeline.py), nothing else."""
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    from jacorpus.corpus.quality import FINEWEB2_JA_STOP_WORDS

    return partial(run_steps, [
        GopherRepetitionFilter(language="jpn_Jpan", **FW2["rep"]), FineWebQualityFilter(language="jpn_Jpan", **FW2["fw"]),
        GopherQualityFilter(language="jpn_Jpan", stop_words=FINEWEB2_JA_STOP_WORDS, **FW2["gq"])])


# The rules HojiChar and jacorpus both have, with the same parameters: Unicode NFKC, lid.176 >= 0.65 on the whole
# text, at least 400 characters, at most 70 % of lines ending with an ellipsis, phone/e-mail masking. HojiChar's
# other Japanese filters (AcceptJapanese's kana in the first 50 characters, DiscardRareKuten, CharRepetitionRatio)
# have no jacorpus rule, and jacorpus's other rules none in HojiChar, so neither chain runs them.
SAME_RULES_AS_HOJICHAR = dict(min_chars=400, max_ellipsis_line_fraction=0.7)
SAME_LID_AS_HOJICHAR = dict(min_score=0.65, require_kana=False)  # HojiChar has no kana check


def jacorpus_hojichar_rules(lid_chars: int | None = 10**9) -> Chain:
    """lid_chars: characters given to fastText; HojiChar gives it the whole text, jacorpus's default is 2,000; None:
    no language ID (the rules alone)."""
    from jacorpus.corpus.normalize import Normalize, NormalizeOptions
    from jacorpus.corpus.pii import Pii, PiiOptions

    only_nfkc = NormalizeOptions(tildes="keep", dashes=False, collapse_long_vowels=False, spaces="keep",
                                 collapse_whitespace=False, control_chars=False)
    lid = [LanguageFilter(LanguageOptions(**SAME_LID_AS_HOJICHAR, max_chars=lid_chars))] if lid_chars else []
    return partial(run_steps, [Normalize(only_nfkc)] + lid + [
                               QualityFilter(QualityOptions(preset="none", **SAME_RULES_AS_HOJICHAR)),
                               Pii(PiiOptions(types=["phone", "email"]))])


def hojichar_kept(filters: list[Any]) -> Chain:
    """A HojiChar Compose of ``filters`` as a chain: the indices of the texts it does not reject."""
    from hojichar import Compose, Document as HDoc

    compose = Compose(filters)
    return lambda texts: [i for i, t in enumerate(texts) if not compose.apply(HDoc(t)).is_rejected]


def hojichar_same_rules(lid: bool = True) -> Chain:
    from hojichar.filters import document_filters as df

    return hojichar_kept([df.DocumentNormalizer()] + ([hojichar_lid()] if lid else []) + [
        df.DocumentLengthFilter(min_doc_len=400), df.DiscardTooManyEndingEllipsis(threshold=0.7),
        df.MaskPersonalInformation()])


def jacorpus_lid_only() -> Chain:
    """jacorpus's language step alone, on the whole text, at HojiChar's threshold: the lid.176 predictions both chains
    need (jacorpus computes them in fasttext_lid.py, HojiChar calls the fastText library: the same labels and scores)."""
    return partial(run_steps, [LanguageFilter(LanguageOptions(**SAME_LID_AS_HOJICHAR, max_chars=10**9))])


def hojichar_lid_only() -> Chain:
    return hojichar_kept([hojichar_lid()])


def hojichar_lid() -> Any:
    """HojiChar's AcceptJapaneseByFastText at 0.65, on the lid.176.ftz jacorpus uses (it would fetch lid.176.bin)."""
    from hojichar.core.filter_interface import Filter
    from hojichar.filters.language_identification import AcceptJapaneseByFastText

    class LocalModelLID(AcceptJapaneseByFastText):
        def __init__(self) -> None:
            import fasttext

            Filter.__init__(self)
            self.language, self.lang_score_threshold = "ja", 0.65
            self.model = fasttext.load_model(lid_model_path())

    return LocalModelLID()


def hojichar_chain() -> Chain:
    from hojichar.filters import document_filters as df

    return hojichar_kept([
        df.DocumentNormalizer(), df.AcceptJapanese(), hojichar_lid(), df.DocumentLengthFilter(min_doc_len=400),
        df.DiscardRareKuten(), df.CharRepetitionRatioFilter(), df.DiscardTooManyEndingEllipsis(),
        df.MaskPersonalInformation(),
    ])


def datatrove_chain() -> Chain:
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.filters import LanguageFilter as DTLanguageFilter
    from datatrove.pipeline.formatters import PIIFormatter

    from jacorpus.corpus.quality import FINEWEB2_JA_STOP_WORDS

    lid = DTLanguageFilter(languages=["ja"], language_threshold=0.65)
    lid.model.MODEL_URL = lid_model_path()  # local file, nothing downloaded
    return partial(run_steps, [lid, GopherRepetitionFilter(language="jpn_Jpan", **FW2["rep"]),
                               FineWebQualityFilter(language="jpn_Jpan", **FW2["fw"]),
                               GopherQualityFilter(language="jpn_Jpan", stop_words=FINEWEB2_JA_STOP_WORDS, **FW2["gq"]),
                               PIIFormatter()])


# (ours, peer, must keep the same documents): pairs running the same rules; the whole chains differ in what comes
# before the rules (jacorpus normalizes; its language step also wants kana and samples 2,000 characters)
PAIRS = [("jacorpus_fineweb2_ja_rules", "datatrove_fineweb2_ja_rules", True),
         ("jacorpus_fineweb2_ja", "datatrove_fineweb2_ja", False),
         ("jacorpus_hojichar_rules", "hojichar_same_rules", False),
         # one parameter apart: fastText sees jacorpus's default 2,000-character sample instead of the whole text
         ("jacorpus_hojichar_rules_lid_2000", "hojichar_same_rules", False),
         # the two parts of the same-rule chains apart: the rules without language ID, and the fastText call alone
         # (the same library on the same text in both: ~1x by construction, and the floor of both chains' time)
         ("jacorpus_hojichar_rules_no_lid", "hojichar_same_rules_no_lid", True),
         ("jacorpus_lid_only", "hojichar_lid_only", False)]


def bench_speed(texts: list[str], rounds: int) -> dict[str, Any]:
    ours_swallow, names = jacorpus_chain("swallow")
    ours_fw2, _ = jacorpus_chain("fineweb2_ja")
    chains = {"jacorpus_fineweb2_ja_rules": jacorpus_fineweb2_rules(), "datatrove_fineweb2_ja_rules": datatrove_fineweb2_rules(),
              "jacorpus_fineweb2_ja": ours_fw2, "datatrove_fineweb2_ja": datatrove_chain(),
              "jacorpus_hojichar_rules": jacorpus_hojichar_rules(), "hojichar_same_rules": hojichar_same_rules(),
              "jacorpus_hojichar_rules_lid_2000": jacorpus_hojichar_rules(2000),
              "jacorpus_hojichar_rules_no_lid": jacorpus_hojichar_rules(None),
              "hojichar_same_rules_no_lid": hojichar_same_rules(lid=False),
              "jacorpus_lid_only": jacorpus_lid_only(), "hojichar_lid_only": hojichar_lid_only(),
              "jacorpus_swallow": ours_swallow, "hojichar": hojichar_chain()}
    for run in chains.values():  # load models and tokenizers outside the timed part
        run(texts[:20])
    load_before = os.getloadavg()
    # interleaved rounds: load from other processes hits every chain alike
    times, kept = take_turns({name: partial(run, texts) for name, run in chains.items()}, rounds, progress="chains")
    best = {name: min(seconds) for name, seconds in times.items()}
    docs_per_s = {name: round(len(texts) / seconds, 1) for name, seconds in best.items()}
    ratios, agreement = {}, {}
    for ours, peer, must_agree in PAIRS:
        per_round = sorted(p / o for p, o in zip(times[peer], times[ours]))  # > 1: ours is faster
        ratios[f"{ours}_vs_{peer}"] = {"median": round(statistics.median(per_round), 2),
                                        "min": round(per_round[0], 2), "max": round(per_round[-1], 2),
                                        "best_rounds": round(best[peer] / best[ours], 2)}
        only_ours, only_peer = sorted(set(kept[ours]) - set(kept[peer])), sorted(set(kept[peer]) - set(kept[ours]))
        agreement[f"{ours}_vs_{peer}"] = {"same": not only_ours and not only_peer, "kept_by_both": len(set(kept[ours]) & set(kept[peer])),
                                          "only_ours": only_ours, "only_peer": only_peer}
        if must_agree and (only_ours or only_peer):
            raise SystemExit(f"{ours} and {peer} run the same rules but keep different documents: {agreement}")
    return {
        "documents": len(texts), "characters": sum(map(len, texts)), "rounds": rounds, "jacorpus_steps": names,
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "docs_per_s_per_core": docs_per_s, "kept": {name: len(ids) for name, ids in kept.items()},
        # only pairs running the same rules are compared; jacorpus's swallow preset and HojiChar's own chain are
        # other rule families, so no ratio between them is claimed (their docs/s above are for reference)
        "ratios": ratios, "kept_sets": agreement,
        # both same-rule chains pay the fastText call on the whole text: HojiChar's chain time over that call alone is
        # the most any implementation of the other rules can gain against it (its rules at zero cost)
        "hojichar_same_rules_lid_share": round(best["hojichar_lid_only"] / best["hojichar_same_rules"], 3),
        "hojichar_same_rules_ceiling": round(best["hojichar_same_rules"] / best["hojichar_lid_only"], 2),
        "hojichar_differences": explain_hojichar_differences(texts, agreement["jacorpus_hojichar_rules_vs_hojichar_same_rules"]),
    }


def explain_hojichar_differences(texts: list[str], agreement: dict[str, Any]) -> list[dict[str, Any]]:
    """For each document one of the two same-rule chains keeps and the other drops: the rule that dropped it."""
    from hojichar import Document as HDoc
    from hojichar.filters import document_filters as df

    from jacorpus.corpus.normalize import Normalize

    ours = jacorpus_hojichar_rules().args[0]  # the steps of partial(run_steps, steps)
    theirs = [("nfkc", df.DocumentNormalizer()), ("lid", hojichar_lid()), ("length", df.DocumentLengthFilter(min_doc_len=400)),
              ("ending_ellipsis", df.DiscardTooManyEndingEllipsis(threshold=0.7))]
    out = []
    for i in agreement["only_ours"] + agreement["only_peer"]:
        doc, reason = Document(text=texts[i], id=str(i), metadata={"source": "b"}), None
        for step in ours:
            if isinstance(step, Normalize):
                doc.text = step.apply(doc)
            elif hasattr(step, "filter") and (r := step.filter(doc)) is not True:
                reason = r[1] if isinstance(r, tuple) else step.name
                break
        hdoc, hreason = HDoc(texts[i]), None
        for name, f in theirs:
            hdoc = f.apply(hdoc)
            if hdoc.is_rejected:
                hreason = name
                break
        out.append({"doc": i, "kept_by": "jacorpus" if i in agreement["only_ours"] else "hojichar",
                    "jacorpus_drop": reason, "hojichar_drop": hreason,
                    "lid": {"jacorpus": [doc.metadata.get("language"), round(doc.metadata.get("language_score", 0), 3)]},
                    "chars": len(texts[i]), "head": texts[i][:40]})
    return out


# -- accuracy --------------------------------------------------------------------------------------------------
def page_texts(data: Path) -> list[tuple[str, str, bool]]:
    """(set, text, is Japanese) for web_html (MANIFEST labels + readability pages) and the two WARC excerpts."""
    from jacorpus.corpus.sources import SOURCES

    html, warc = SOURCES.find("html"), SOURCES.find("warc")
    pages: list[tuple[str, str, bool]] = []
    with open(data / "web_html" / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    rows += [{"file": f"readability_testpages/{d}/source.html", "language": lang}
             for d, lang in (("hukumusume", "ja"), ("qq", "zh"), ("pixnet", "zh"))]
    reader = html("web_html", [], html.Options())
    for row in rows:
        docs = list(reader.read_file(str(data / "web_html" / row["file"])))
        pages.append(("web_html", docs[0].text if docs else "", row["language"].split()[0] == "ja"))
    for name, is_ja in (("clueweb09_ja_excerpt/clueweb-quirk.warc.gz", True),
                        ("commoncrawl_CC-MAIN-2020-34_excerpt/warcfile.warc.gz", False)):
        reader = warc("warc", [], warc.Options())
        pages += [("warc_clueweb_ja" if is_ja else "warc_cc_2020_34", d.text, is_ja)
                  for d in reader.read_file(str(data / "warc" / name))]
    return pages


def langid_accuracy(data: Path) -> dict[str, Any]:
    pages = page_texts(data)
    deciders: dict[str, Callable[[str], bool]] = {}
    for name, options in (("require_kana", {}), ("without_kana_check", {"require_kana": False})):
        step = LanguageFilter(LanguageOptions.model_validate(options))
        deciders[name] = lambda text, step=step: step.filter(Document(text=text, id="x", metadata={})) is True
    results: dict[str, Any] = {}
    for name, decide in deciders.items():
        per_set: dict[str, dict[str, int]] = {}
        for set_name, text, is_ja in pages:
            counts = per_set.setdefault(set_name, {"pages": 0, "correct": 0, "kept": 0})
            keep = decide(text)
            counts["pages"] += 1
            counts["kept"] += keep
            counts["correct"] += keep == is_ja
        total = sum(c["pages"] for c in per_set.values())
        results[name] = {"accuracy": round(sum(c["correct"] for c in per_set.values()) / total, 4), "sets": per_set,
                         "errors": [f"{s}: {t[:40]!r}" for s, t, j in pages if decide(t) != j]}
    # where the kana check matters: mC4-ja lines that lid.176 alone keeps as Japanese
    mc4 = [t for t, _ in read_labels(str(data / "mc4_ja_quality_labels" / "annotations_.txt")).examples]
    only_lid = [t for t in mc4 if deciders["without_kana_check"](t)]
    results["mc4_removed_by_kana_check"] = {
        "kept_by_lid176": len(only_lid), "lines": [t[:50] for t in only_lid if not deciders["require_kana"](t)]}
    return results


def label_accuracy(data: Path, seeds: list[int]) -> dict[str, Any]:
    from jacorpus.corpus.classifier import label_scores, train_fasttext
    from jacorpus.corpus.quality_labels import rule_predictor
    from jacorpus.corpus.language import load_fasttext

    examples = read_labels(str(data / "mc4_ja_quality_labels" / "annotations_.txt")).examples
    train, test = split_examples(examples, 0.2, seed=1)
    truth = [label for _, label in test]
    variants = {"swallow": ("swallow", {}), "swallow_no_length": ("swallow", {"min_chars": None, "min_japanese_chars": None}),
                "fineweb2_ja": ("fineweb2_ja", {}), "fineweb2_ja_no_line_punct": ("fineweb2_ja", {"min_line_punct_fraction": None})}
    results: dict[str, Any] = {"split": {"seed": 1, "train": len(train), "test": len(test)}}
    for name, (preset, overrides) in variants.items():
        predict = rule_predictor(preset, overrides, "good", "bad")
        results[name] = evaluate(truth, [predict(text) for text, _ in test])
    seed_scores = []
    for seed in seeds:
        train_s, test_s = split_examples(examples, 0.2, seed=seed)
        path = str(REPO / "runs" / "bench_filters" / f"quality_seed{seed}.bin")
        train_fasttext(train_s, path, seed=seed)
        model = load_fasttext(path)
        predicted = [max(label_scores(model, t).items(), key=lambda kv: kv[1])[0] for t, _ in test_s]
        metrics = evaluate([label for _, label in test_s], predicted)
        if seed == 1:
            results["classifier"] = metrics
        seed_scores.append(round(metrics["balanced_accuracy"], 4))
    results["classifier_balanced_accuracy_by_seed"] = dict(zip(map(str, seeds), seed_scores))
    return results


def write_markdown(path: Path, figures: dict[str, Any]) -> None:
    speed = figures["speed"]
    cpus = sorted(os.sched_getaffinity(0))
    pin = f"taskset -c {cpus[0]} " if len(cpus) == 1 else ""
    command = f"JACORPUS_BENCH_RESULTS=bench/results {pin}.venv/bin/python bench/filters.py" + (
        " --speed-only" if figures.get("speed_only") else "")
    lines = ["# Filter chain benchmark (bench/filters.py)", "", f"`{command}`" + (
                 " (accuracy sections: kept from the previous full run)" if figures.get("speed_only") else ""), "",
             f"Mode: {figures['mode']}. {speed['documents']} real Japanese web documents ({speed['characters']:,} chars), "
             f"one core, best of {speed['rounds']} interleaved rounds, CPU seconds (time.process_time). jacorpus steps: {', '.join(speed['jacorpus_steps'])}.", "",
             "| chain | docs/s per core | kept |", "|---|---:|---:|"]
    lines += [f"| {name} | {v} | {speed['kept'][name]} |" for name, v in speed["docs_per_s_per_core"].items()]
    lines += ["", f"Load average (1 min) before/after the timed rounds: {speed['load_average_before_after']} on 2 shared cores.",
              "", "Same work side by side (peer CPU time / jacorpus CPU time; > 1: jacorpus is faster):", "",
              "| pair | median of rounds (min-max) | best rounds | kept sets |", "|---|---:|---:|---|"]
    for pair, r in speed["ratios"].items():
        a = speed["kept_sets"][pair]
        same = "identical" if a["same"] else f"{a['kept_by_both']} both, {len(a['only_ours'])} only jacorpus, {len(a['only_peer'])} only peer"
        lines.append(f"| {pair} | {r['median']} ({r['min']}-{r['max']}) | {r['best_rounds']} | {same} |")
    if "hojichar_same_rules_ceiling" in speed:
        lines += ["", f"HojiChar's fastText call on the whole text is {speed['hojichar_same_rules_lid_share']:.0%} of its "
                  f"same-rule chain: with the fastText library in both chains (as before jacorpus compiled it), no "
                  f"implementation of the other rules could make that chain more than "
                  f"{speed['hojichar_same_rules_ceiling']}x faster than HojiChar's. jacorpus's `language` step runs "
                  "lid.176 in `jacorpus/corpus/fasttext_lid.py` (numba; the library's labels and probabilities bit "
                  "for bit, tests/corpus/test_fasttext_lid.py): the `lid_only` pair. The rules alone, without language "
                  "ID, are the `_no_lid` pair."]
    if speed["hojichar_differences"]:
        lines += ["", "Where the HojiChar same-rule chains disagree (the rule that dropped the document on each side):", "",
                  "| doc | kept by | jacorpus drop | HojiChar drop | chars | head |", "|---:|---|---|---|---:|---|"]
        lines += [f"| {d['doc']} | {d['kept_by']} | {d['jacorpus_drop']} | {d['hojichar_drop']} | {d['chars']} | "
                  f"`{d['head'].replace(chr(10), ' ').replace('|', '/')}` |" for d in speed["hojichar_differences"]]
    lines += ["", "## Language ID (lid.176.ftz, min_score 0.65)", "", "| variant | accuracy | per set (correct/pages) |", "|---|---:|---|"]
    for name, r in figures["language_id"].items():
        if "sets" not in r:
            continue
        sets = ", ".join(f"{s}: {c['correct']}/{c['pages']}" for s, c in r["sets"].items())
        lines.append(f"| {name} | {r['accuracy']} | {sets} |")
    removed = figures["language_id"]["mc4_removed_by_kana_check"]
    lines += ["", f"mC4-ja lines kept by lid.176 alone: {removed['kept_by_lid176']}; removed by the kana check "
              f"({len(removed['lines'])}):", ""] + [f"- `{line}`" for line in removed["lines"]]
    lines += ["", "## Against the mC4 human labels (held-out 20 %, seed 1)", "", "| method | balanced accuracy | accuracy | confusion (true bad: bad/good; true good: bad/good) |", "|---|---:|---:|---|"]
    for name, m in figures["labels"].items():
        if isinstance(m, dict) and "confusion" in m:
            c = m["confusion"]
            lines.append(f"| {name} | {m['balanced_accuracy']:.3f} | {m['accuracy']:.3f} | "
                         f"{c['bad']['bad']}/{c['bad']['good']}; {c['good']['bad']}/{c['good']['good']} |")
    lines += ["", f"Classifier balanced accuracy by split seed: {figures['labels']['classifier_balanced_accuracy_by_seed']}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer documents, one round, one classifier seed")
    parser.add_argument("--out", type=Path, default=results_dir())
    parser.add_argument("--speed-only", action="store_true",
                        help="time the chains only; keep the accuracy figures of an existing OUT/filters.json")
    args = parser.parse_args()
    data = shared_data_dir()

    mc4 = mc4_texts(data)
    texts = cc_ja_texts(data) + (mc4[:150] if args.quick else mc4)
    figures: dict[str, Any] = {"mode": "quick" if args.quick else "full", "speed_only": args.speed_only}
    started = time.perf_counter()
    print("speed ...", file=sys.stderr)
    figures["speed"] = bench_speed(texts, rounds=1 if args.quick else 3)
    if args.speed_only:
        recorded = json.loads((args.out / "filters.json").read_text(encoding="utf-8"))
        figures["language_id"], figures["labels"] = recorded["language_id"], recorded["labels"]
    else:
        print("language ID ...", file=sys.stderr)
        figures["language_id"] = langid_accuracy(data)
        print("labels ...", file=sys.stderr)
        figures["labels"] = label_accuracy(data, seeds=[1] if args.quick else [1, 2, 3, 4, 5])
    figures["seconds"] = round(time.perf_counter() - started, 1)

    if not args.quick:  # --quick is a smoke run; the recorded results are the full ones
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "filters.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
        write_markdown(args.out / "filters.md", figures)
    summary = {k: figures[k] for k in ("mode", "seconds")}
    summary["docs_per_s_per_core"] = figures["speed"]["docs_per_s_per_core"]
    summary["ratios"] = figures["speed"]["ratios"]
    summary["language_id_accuracy"] = {k: v["accuracy"] for k, v in figures["language_id"].items() if "accuracy" in v}
    summary["balanced_accuracy"] = {k: round(v["balanced_accuracy"], 4) for k, v in figures["labels"].items()
                                    if isinstance(v, dict) and "balanced_accuracy" in v}
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
