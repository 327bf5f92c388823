"""Tokenizer bench: encode throughput of exported tokenizers vs transformers' BertJapaneseTokenizer with Sudachi, and
training time vs corpus size.

    .venv/bin/python bench/tokenizer_speed.py [--quick] [--out bench/results/tokenizers.json]

Text: real Japanese from ../shared/data: MedTxt-CR case reports (tags stripped), neko.txt paragraphs and the CC-ja
pages, in that order (1.14M characters).
1. throughput, one process, on the same documents (each below Sudachi's 49,149-byte limit, which the built-in class
   cannot pass): `builtin` = transformers' BertJapaneseTokenizer(word_tokenizer_type="sudachi", split mode C,
   WordPiece) loaded with the vocab.txt of our WordPiece build; `wordpiece` = that build as exported (the same class
   plus long-text cutting, user dictionaries, byte fallback, WordPiece in Rust with a word cache; its ids are checked
   equal to builtin's wherever builtin has no [UNK]); `sudachi_sentencepiece` = SentencePiece over Sudachi chunks
   (the same class); `sentencepiece` and `char` = our fast exports (TOKENIZERS_PARALLELISM=false: one thread, like
   the others). Characters per CPU-second (process time: a loaded machine slows the wall clock, not the work),
   best of 3 runs of one batch call, the tokenizers taking turns; ratios against builtin. The load average at the
   start and end is recorded.
2. through `train prepare` (MLM, 512-token sequences, one worker: in this process, as `--workers 1`): every
   document below the limit as a jacorpus corpus, tokenized by the exported WordPiece folder and by the built-in class
   saved to a folder (AutoTokenizer loads both); tokens per CPU-second, each run loading its tokenizer as the command
   does, best of 3, taking turns.
3. training time (seconds, wall) of a SentencePiece (unigram) and a WordPiece (Sudachi C) tokenizer, vocabulary 8000,
   on the first N characters of the text for growing N.
Writes the JSON and a short .md next to it; the last line printed is the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _common import results_dir  # noqa: E402
# run as a script, this file's folder comes first on sys.path and this file would shadow the `tokenizers` library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _test_helper(relative: str, name: str):
    """A helper module of the test suite, loaded by path (tests/ and tests/tokenizers/ both have a conftest.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documents() -> list[str]:
    shared = _test_helper("tests/conftest.py", "root_conftest").shared_data_dir()
    medtxt_documents = _test_helper("tests/tokenizers/conftest.py", "tokenizers_conftest").medtxt_documents
    neko = (shared / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    cc = json.loads((shared / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    return (medtxt_documents(shared) + [p for p in neko.split("\n\n") if p.strip()]
            + [d["text"] for group in cc.values() for d in group])


def first_chars(docs: list[str], n: int) -> list[str]:
    out, total = [], 0
    for doc in docs:
        if total >= n:
            break
        out.append(doc[: n - total])
        total += len(out[-1])
    return out


def write_text(docs: list[str], path: Path) -> Path:
    path.write_text("\n\n".join(d.replace("\n\n", "\n") for d in docs) + "\n", encoding="utf-8")
    return path


def train(kind: str, text: Path, out: Path, vocab: int) -> float:
    from jacorpus.tokenizers.recipe import parse_tokenizer_recipe
    from jacorpus.tokenizers.train import train_tokenizer

    specs = {"sentencepiece": "kind: sentencepiece\n", "char": "kind: char\n",
             "sudachi_sentencepiece": "kind: sentencepiece\npretokenizer: {type: sudachi, mode: C}\n",
             "wordpiece": "kind: wordpiece\npretokenizer: {type: sudachi, mode: C}\n"}
    recipe = parse_tokenizer_recipe(f"name: {kind}\nvocab_size: {vocab}\n" + specs[kind])
    started = time.perf_counter()
    train_tokenizer(recipe, [str(text)], str(out), progress=False)
    return time.perf_counter() - started


KINDS = ("wordpiece", "sentencepiece", "sudachi_sentencepiece", "char")


def cpu_rates(tokenizers: dict, texts: list[str], runs: int = 3) -> dict[str, float]:
    """Characters per CPU-second of each tokenizer (one batch call, best of ``runs``), the tokenizers taking turns
    run by run so that a change of machine load falls on all of them alike."""
    chars = sum(map(len, texts))
    for tokenizer in tokenizers.values():
        tokenizer(texts[:5], add_special_tokens=False, verbose=False)  # warm-up
    best = dict.fromkeys(tokenizers, float("inf"))
    for _ in range(runs):
        for name, tokenizer in tokenizers.items():
            started = time.process_time()
            tokenizer(texts, add_special_tokens=False, verbose=False)
            best[name] = min(best[name], time.process_time() - started)
    return {name: chars / seconds for name, seconds in best.items()}


class SudachiAlone:
    """The part every Sudachi-based tokenizer pays: NFKC and one SudachiPy ``tokenize`` call (split mode C) per text,
    nothing done with the morphemes. Its rate over the built-in class's is the most any tokenizer that splits words
    with SudachiPy can gain against it."""

    def __init__(self) -> None:
        from sudachipy import Dictionary, SplitMode

        self.tokenizer = Dictionary(dict="core").tokenizer(SplitMode.C)

    def __call__(self, texts: list[str], **kwargs) -> None:
        import unicodedata

        for text in texts:
            self.tokenizer.tokenize(unicodedata.normalize("NFKC", text))


def throughput(docs: list[str], work: Path, quick: bool) -> dict:
    from transformers import BertJapaneseTokenizer

    from jacorpus.tokenizers.loading import load_tokenizer

    train_docs = first_chars(docs, 200_000 if quick else 1_200_000)
    text = write_text(train_docs, work / "train.txt")
    for kind in KINDS:
        train(kind, text, work / kind, 8000)
    sample = [d for d in docs if len(d.encode()) < 40_000][: 150 if quick else 600]
    builtin = BertJapaneseTokenizer(
        vocab_file=str(work / "wordpiece" / "vocab.txt"), word_tokenizer_type="sudachi",
        sudachi_kwargs={"sudachi_split_mode": "C"}, subword_tokenizer_type="wordpiece", do_lower_case=False,
    )
    ours = {kind: load_tokenizer(str(work / kind)) for kind in KINDS}
    # identical ids wherever the built-in class has no [UNK] (there ours falls back to bytes instead)
    theirs = [builtin(d, add_special_tokens=False, verbose=False)["input_ids"] for d in sample]
    with_unk = [i for i, ids in enumerate(theirs) if builtin.unk_token_id in ids]
    same = all(ids == ours["wordpiece"](d, add_special_tokens=False, verbose=False)["input_ids"]
               for i, (ids, d) in enumerate(zip(theirs, sample)) if i not in with_unk)
    rates = cpu_rates({"builtin_bert_japanese_sudachi": builtin, **ours,
                       "sudachi_tokenize_alone": SudachiAlone()}, sample)
    base = rates["builtin_bert_japanese_sudachi"]
    return {
        "documents": len(sample), "characters": sum(map(len, sample)), "wordpiece_ids_equal_builtin": same,
        "documents_with_unk_in_builtin": len(with_unk),
        "chars_per_second": {k: round(v) for k, v in rates.items()},
        "ratio_vs_builtin": {k: round(v / base, 2) for k, v in rates.items()},
    }


def prepare_throughput(docs: list[str], work: Path, quick: bool) -> dict:
    """`train prepare` tokens per CPU-second with the exported WordPiece and with the built-in class (see the module
    doc); needs throughput()'s WordPiece build in ``work``."""
    from transformers import BertJapaneseTokenizer

    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe
    from jacorpus.train.prepare import PrepareJob, prepare

    texts = [d for d in docs if len(d.encode()) < 40_000][: 300 if quick else None]
    corpus_dir = work / "prepare_corpus"
    corpus_dir.mkdir()
    with open(corpus_dir / "docs.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    recipe = "name: prepare_bench\nsources:\n  - {type: jsonl, paths: [docs.jsonl]}\noutput: {dir: out}\n"
    run_local(build_plan(parse_recipe(recipe, "<bench>", str(corpus_dir)), None), workers=1, progress=False)
    BertJapaneseTokenizer(
        vocab_file=str(work / "wordpiece" / "vocab.txt"), word_tokenizer_type="sudachi",
        sudachi_kwargs={"sudachi_split_mode": "C"}, subword_tokenizer_type="wordpiece", do_lower_case=False,
    ).save_pretrained(str(work / "builtin"))
    folders = {"builtin_bert_japanese_sudachi": work / "builtin", "wordpiece": work / "wordpiece"}
    best, tokens = dict.fromkeys(folders, float("inf")), {}
    for _ in range(1 if quick else 3):
        for name, folder in folders.items():
            out = work / f"shards_{name}"
            shutil.rmtree(out, ignore_errors=True)  # prepare resumes: finished chunks of an earlier round are kept
            job = PrepareJob(corpora=[(str(corpus_dir / "out"), 1.0)], tokenizer=str(folder), seq_len=512,
                             out=str(out), objective="mlm")
            started = time.process_time()
            manifest = prepare(job, progress=False, overwrite=True)
            best[name] = min(best[name], time.process_time() - started)
            tokens[name] = sum(c["tokens"] + c["dropped_tail_tokens"] for c in manifest["sources"])
    base = tokens["builtin_bert_japanese_sudachi"] / best["builtin_bert_japanese_sudachi"]
    return {"documents": len(texts), "characters": sum(map(len, texts)), "tokens": tokens,
            "tokens_per_cpu_second": {k: round(tokens[k] / best[k]) for k in folders},
            "ratio_vs_builtin": {k: round(tokens[k] / best[k] / base, 2) for k in folders}}


def training_time(docs: list[str], work: Path, quick: bool) -> list[dict]:
    sizes = [50_000, 100_000, 200_000] if quick else [125_000, 250_000, 500_000, 1_000_000]
    rows = []
    for n in sizes:
        text = write_text(first_chars(docs, n), work / f"size{n}.txt")
        rows.append({"characters": n, **{kind: round(train(kind, text, work / f"{kind}{n}", 8000), 2)
                                         for kind in ("sentencepiece", "wordpiece")}})
    return rows


def markdown(result: dict) -> str:
    t = result["throughput"]
    lines = ["# Tokenizer bench", "", f"`bench/tokenizer_speed.py{' --quick' if result['quick'] else ''}`, "
             f"{t['documents']} documents, {t['characters']} characters (MedTxt-CR, neko.txt, CC-ja), one process, "
             "characters per CPU-second (best of 3, the tokenizers taking turns).", "",
             "| tokenizer | chars/CPU-s | vs BertJapaneseTokenizer+Sudachi |", "|---|---:|---:|"]
    for name, rate in t["chars_per_second"].items():
        lines.append(f"| {name} | {rate:,} | {t['ratio_vs_builtin'][name]}x |")
    same = t["wordpiece_ids_equal_builtin"]
    if "sudachi_tokenize_alone" in t["ratio_vs_builtin"]:
        lines += ["", f"`sudachi_tokenize_alone` is NFKC and one SudachiPy `tokenize` call per text, nothing else: the "
                  f"part every tokenizer that splits words with SudachiPy pays. Its {t['ratio_vs_builtin']['sudachi_tokenize_alone']}x "
                  "is the ceiling of such a tokenizer against the built-in class (its WordPiece at zero cost)."]
    lines += ["", f"Exported WordPiece ids equal the built-in class's on every document where it has no [UNK]: "
              f"{same} ({t['documents_with_unk_in_builtin']} documents with [UNK] there: ours gives byte tokens).",
              ""]
    p = result.get("prepare")
    if p:
        lines += [f"Through `train prepare` (MLM, 512-token sequences, one worker; {p['documents']} documents, "
                  f"{p['characters']:,} characters; each run loads its tokenizer):", "",
                  "| tokenizer folder | tokens | tokens/CPU-s | vs BertJapaneseTokenizer+Sudachi |", "|---|---:|---:|---:|"]
        lines += [f"| {name} | {p['tokens'][name]:,} | {rate:,} | {p['ratio_vs_builtin'][name]}x |"
                  for name, rate in p["tokens_per_cpu_second"].items()]
        lines.append("")
    lines += ["| training characters | SentencePiece s | WordPiece (Sudachi) s |", "|---:|---:|---:|"]
    lines += [f"| {r['characters']:,} | {r['sentencepiece']} | {r['wordpiece']} |" for r in result["training_seconds"]]
    load = result.get("load_average_1min")
    if load:
        lines += ["", f"Machine load (1-minute load average, {load['cpus']} CPUs): {load['start']} at the start, "
                  f"{load['end']} at the end."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller text and fewer sizes (under 2 minutes)")
    parser.add_argument("--out", default=str(results_dir() / "tokenizers.json"))
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    docs = documents()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-tok-") as tmp:
        work = Path(tmp)
        result = {"quick": args.quick, "throughput": throughput(docs, work, args.quick),
                  "prepare": prepare_throughput(docs, work, args.quick),
                  "training_seconds": training_time(docs, work, args.quick),
                  "load_average_1min": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2),
                                        "cpus": os.cpu_count()}}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
