"""The comparison table of docs/tokenizers.md: every kind x pretokenizer x dictionary on the same held-out text.

    .venv/bin/python bench/tokenizers_compare.py [--vocab-size 16000] [--quick]

Steps (each a jacorpus command, run from the repository root; outputs under out/compare):
1. corpora: recipes/tokenizers/compare/{medical-train,general-train,eval-medtxt,eval-wiki}.yaml;
2. dictionary: `dict build` on the medical training text with the whole MANBYO seed (dic.csv);
3. tokenizers: the four medical variants (recipes/tokenizers/medical-*.yaml), SentencePiece over Sudachi chunks with
   and without the dictionary, and the general char/word pair, with --vocab-size (the training text is small);
4. `tokenizer eval` of all of them on MedTxt-CR, on the 2006 Wikipedia sample and on the first 2,000 documents of the
   medical training text (seed terms whole in the text the terms were chosen from), terms: the dictionary.
Writes bench/results/tokenizers_compare_{medtxt,wiki,train}.{md,json,png} (`--quick`: 4,000 pieces, *_quick
files; `--eval-only`: keep the tokenizer folders already built).
Throughput against BertJapaneseTokenizer with Sudachi: bench/tokenizer_speed.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = REPO / "out" / "compare"
MEDICAL = ["medical-sentencepiece", "medical-sentencepiece-dict", "medical-wordpiece", "medical-wordpiece-dict",
           "medical-sudachi-sentencepiece", "medical-sudachi-sentencepiece-dict"]
GENERAL = ["general-char", "general-wordpiece"]


def shared_data_dir() -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("root_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shared_data_dir()


def run(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run([str(BIN / "jacorpus"), *args], check=True, cwd=REPO)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab-size", type=int, default=16000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--eval-only", action="store_true", help="keep the tokenizer folders already built")
    args = parser.parse_args()
    vocab = 8000 if args.quick else args.vocab_size  # the medical dictionary kind keeps ~4.6k characters at coverage 0.9995
    suffix = "_quick" if args.quick else ""
    shared = shared_data_dir()
    work = Path(tempfile.mkdtemp(prefix="jacorpus-compare-"))
    for name in ["medical-train", "general-train", "eval-medtxt", "eval-wiki"]:
        if not (OUT / name / "manifest.json").exists():
            # the recipes find the data beside the clone (../shared/data); the bench also finds it elsewhere
            text = (REPO / "recipes/tokenizers/compare" / f"{name}.yaml").read_text(encoding="utf-8")
            text = text.replace("../../../../shared/data", str(shared)).replace("../../../out", str(REPO / "out"))
            (work / f"{name}.yaml").write_text(text, encoding="utf-8")
            run("corpus", "run", str(work / f"{name}.yaml"), "--workers", "2", "--overwrite")
    dictionary = REPO / "out" / "dict" / "medical"
    if not (dictionary / "terms.tsv").exists():
        run("dict", "build", "--corpus", str(OUT / "medical-train"), "--seed",
            str(shared / "medical/manbyo_dictionary/dic.csv"), "--out", str(dictionary), "--no-progress")
    folders = []
    for name in MEDICAL + GENERAL:
        corpora = [OUT / "general-train"] if name in GENERAL else [OUT / "medical-train", OUT / "general-train"]
        folder = OUT / f"tok{suffix}" / name
        extra = ["--dictionary", str(dictionary)] if name.endswith("-dict") else []
        folders.append(str(folder))
        if args.eval_only and (folder / "jacorpus_tokenizer.json").exists():
            continue
        run("tokenizer", "train", f"recipes/tokenizers/{name}.yaml", *[a for c in corpora for a in ("--corpus", str(c))],
            "--out", str(folder), "--vocab-size", str(vocab), "--no-progress", *extra)
    results = REPO / "bench" / "results"
    # held-out medical and general text, and the medical training text itself (seed terms whole in running text)
    for text, corpus in [("medtxt", "eval-medtxt"), ("wiki", "eval-wiki"), ("train", "medical-train")]:
        target = OUT / f"eval{suffix}" / text
        run("tokenizer", "eval", *folders, "--text", str(OUT / corpus), "--terms", str(dictionary),
            "--out", str(target), "--no-progress", "--max-documents", "2000")
        for ext in ["md", "json", "png"]:
            shutil.copyfile(target / f"eval.{ext}", results / f"tokenizers_compare_{text}{suffix}.{ext}")
        with open(results / f"tokenizers_compare_{text}{suffix}.md", "a", encoding="utf-8") as fh:
            fh.write(f"\nText: out/compare/{corpus} (at most 2,000 documents). Command: `.venv/bin/python "
                     f"bench/tokenizers_compare.py {' '.join(sys.argv[1:])}`\n")
    print((results / f"tokenizers_compare_medtxt{suffix}.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
