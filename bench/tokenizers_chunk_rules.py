"""Chunk rules for SentencePiece over Sudachi against SentencePiece on raw text, both with the dictionary (issue 15).

    .venv/bin/python bench/tokenizers_chunk_rules.py [--vocab-size 16000] [--work DIR]

Needs the corpora and dictionary of bench/tokenizers_compare.py (out/compare/*, out/dict/medical). Training text,
vocabulary, dictionary budget and SentencePiece options are those of recipes/tokenizers/medical-sentencepiece-dict.yaml
and medical-sudachi-sentencepiece-dict.yaml (the jacorpus training code: choose_terms, compile_terms_dic, train_spm);
only the chunk rule differs:
- particles: a word with the particles, auxiliaries and suffixes after it, a space a chunk and a ``▁`` symbol of its
  own (jacorpus before this bench);
- space: the same, with the space joined to the word after it (``▁`` starts a piece, as on raw text);
- now: also verbs and adjectives Sudachi marks 非自立可能 joined to the chunk before (``sudachi_split.chunks``).
Scored as tokens relative to raw-text SentencePiece on JSQuAD v1.3 validation paragraphs (Wikipedia; the text the rule
was chosen on), and on the held-out 2006 Wikipedia sample and MedTxt-CR. ``--work`` keeps the raw-text model and the
Sudachi analyses between runs. Writes bench/results/tokenizers_chunk_rules.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ATTACHING = {"助詞", "助動詞", "接尾辞"}


def particles(ms, join_space=False, dependent=False):
    out, after_space = [], False
    for surface, pos in ms:
        if surface.isspace():
            out.append(surface)
            after_space = join_space
        elif after_space or (out and not out[-1].isspace() and (
                pos[0] in ATTACHING or (dependent and pos[0] in ("動詞", "形容詞") and pos[1] == "非自立可能"))):
            out[-1] += surface
            after_space = False
        else:
            out.append(surface)
    return out


RULES = {"particles": lambda ms: particles(ms), "space": lambda ms: particles(ms, join_space=True),
         "now": lambda ms: particles(ms, join_space=True, dependent=True)}


def shared_data_dir() -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("root_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shared_data_dir()


def main() -> None:
    import sentencepiece as spm

    from jacorpus.foundation.sudachi_chunks import split_for_sudachi
    from jacorpus.tokenizers.build_sentencepiece import train_spm
    from jacorpus.tokenizers.corpus_text import iter_lines_for_training, iter_texts
    from jacorpus.tokenizers.recipe import load_tokenizer_recipe
    from jacorpus.tokenizers.sudachi_dict import compile_terms_dic
    from jacorpus.tokenizers.sudachi_split import SudachiWords, chunks, whitespace_normalized
    from jacorpus.tokenizers.train import TrainingSample, choose_terms

    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab-size", type=int, default=16000)
    parser.add_argument("--work", help="folder kept between runs (raw-text model, Sudachi analyses)")
    args = parser.parse_args()
    vocab, dict_dir = args.vocab_size, str(REPO / "out/dict/medical")
    work = Path(args.work or tempfile.mkdtemp(prefix="jacorpus-chunks-"))
    work.mkdir(parents=True, exist_ok=True)
    compare = REPO / "out" / "compare"
    train = list(iter_texts([str(compare / "medical-train"), str(compare / "general-train")]))
    sample = TrainingSample(train, len(train), sum(map(len, train)))
    squad = json.loads((shared_data_dir() / "jglue/jsquad-v1.3/valid-v1.3.json").read_text(encoding="utf-8"))
    texts = {"JSQuAD (tuning)": list(dict.fromkeys(p["context"] for d in squad["data"] for p in d["paragraphs"])),
             "Wikipedia 2006 (held out)": list(iter_texts([str(compare / "eval-wiki")])),
             "MedTxt-CR (held out)": list(iter_texts([str(compare / "eval-medtxt")]))}
    texts = {k: [whitespace_normalized(t) for t in v] for k, v in texts.items()}

    def recipe(name):
        return load_tokenizer_recipe(str(REPO / f"recipes/tokenizers/{name}.yaml"), dictionary=dict_dir,
                                     vocab_size=vocab)

    raw_recipe, sudachi_recipe = recipe("medical-sentencepiece-dict"), recipe("medical-sudachi-sentencepiece-dict")
    raw_model = work / f"raw{vocab}.model"
    if not raw_model.exists():
        with open(work / "sample.txt", "w", encoding="utf-8") as fh:
            fh.writelines(whitespace_normalized(line) + "\n" for line in iter_lines_for_training(train))
        train_spm(raw_recipe, str(work / "sample.txt"), str(raw_model)[:-6], choose_terms(raw_recipe, sample).kept)
    analyses = work / f"sudachi{vocab}.pkl"
    if not analyses.exists():
        terms = choose_terms(sudachi_recipe, sample).kept
        dic = str(work / f"terms{vocab}.dic")
        compile_terms_dic(dict_dir, terms, dic[:-4] + ".csv", dic)
        sudachi = SudachiWords("C", [dic])

        def morphemes(text):
            return [(m.surface(), tuple(m.part_of_speech()[:2])) for _, piece in split_for_sudachi(text)
                    for m in sudachi.tokenizer.tokenize(piece)]

        with open(analyses, "wb") as fh:
            pickle.dump({"terms": terms, "train": [morphemes(whitespace_normalized(t)) for t in train],
                         "texts": {k: [morphemes(t) for t in v] for k, v in texts.items()},
                         "shipped": {k: [chunks(sudachi, t) for t in v] for k, v in texts.items()}}, fh)
    with open(analyses, "rb") as fh:
        data = pickle.load(fh)
    raw = spm.SentencePieceProcessor(model_file=str(raw_model))
    raw_tokens = {k: sum(map(len, raw.encode(v))) for k, v in texts.items()}
    rows = []
    for name, rule in RULES.items():
        if name == "now":  # the rule here is the shipped one
            assert [[rule(ms) for ms in v] for v in data["texts"].values()] == list(data["shipped"].values())
        counts = Counter(c for ms in data["train"] for c in rule(ms) if not c.isspace())
        tsv = work / f"{name}{vocab}.tsv"
        tsv.write_text("".join(f"{w}\t{n}\n" for w, n in counts.most_common() if "\t" not in w and "\n" not in w),
                       encoding="utf-8")
        symbols = (["\u2581"] if name == "particles" else []) + data["terms"]
        started = time.perf_counter()
        sp = spm.SentencePieceProcessor(model_file=train_spm(sudachi_recipe, str(tsv), str(work / f"{name}{vocab}"),
                                                             symbols, pretokenized=True))
        row = {"rule": name, "chunks": len(counts), "train_s": round(time.perf_counter() - started, 1)}
        for key, docs in data["texts"].items():
            n = 0
            for ms, text in zip(docs, texts[key]):
                parts = rule(ms)
                assert "".join(parts) == text
                n += sum(map(len, sp.encode(parts)))
                assert sp.decode([p for ps in sp.encode(parts, out_type=str) for p in ps]) == text
            row[key] = round(n / raw_tokens[key], 4)
        rows.append(row)
        print(row, flush=True)
    out = REPO / "bench" / "results" / "tokenizers_chunk_rules"
    keys = list(texts)
    lines = [f"# Chunk rules: tokens of SentencePiece over Sudachi / raw-text SentencePiece ({vocab} pieces, with the "
             "dictionary)", "", "| rule | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    lines += [f"| {r['rule']} | " + " | ".join(f"{r[k]:.3f}x" for k in keys) + " |" for r in rows]
    lines += ["", "Characters: " + ", ".join(f"{k} {sum(map(len, v)):,}" for k, v in texts.items())
              + f". Load average at the end: {os.getloadavg()[0]:.1f}.", "",
              f"Command: `.venv/bin/python bench/tokenizers_chunk_rules.py {' '.join(sys.argv[1:])}`"]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"vocab": vocab, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
