"""SentencePiece with Sudachi: ways to let word boundaries constrain pieces, against SentencePiece on raw text.

    .venv/bin/python bench/tokenizers_pretokenized.py [--vocab-size 16000] [--quick]

Needs the comparison corpora of bench/tokenizers_compare.py (out/compare/{medical-train,general-train,eval-medtxt}).
All variants: unigram, byte fallback, the same training text (NFKC, whitespace runs as one space), the same vocabulary
size, no dictionary; scored on the held-out MedTxt-CR case reports (tokens per character, bare ``▁`` share, bare
``▁`` beyond the text's own whitespace runs, exact round trip). Sudachi split mode C.
- raw: SentencePiece on raw text (dummy prefix), what `pretokenizer: none` builds;
- word+prefix: trained on Sudachi word counts, each word encoded alone with the dummy prefix (transformers'
  BertJapaneseTokenizer with spm_file, what jacorpus built before issue 15);
- word: the same without dummy prefix, a whitespace run as one ``▁``;
- delimiter: SentencePiece's ``pretokenization_delimiter`` (pieces learned within Sudachi words), raw text encoded;
- chunk: a Sudachi word with the particles, auxiliaries and suffixes after it, no dummy prefix (what
  `pretokenizer: sudachi` builds now).
Writes bench/results/tokenizers_pretokenized{_quick}.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
DELIMITER = "\u2063"  # INVISIBLE SEPARATOR: in no training text


def morphemes(sudachi, text: str) -> list[tuple[str, str]]:
    from jacorpus.foundation.sudachi_chunks import split_for_sudachi

    return [(m.surface(), m.part_of_speech()[0]) for _, piece in split_for_sudachi(text)
            for m in sudachi.tokenizer.tokenize(piece)]


def main() -> None:
    import sentencepiece as spm

    from jacorpus.tokenizers.corpus_text import SampleCap, iter_texts
    from jacorpus.tokenizers.sudachi_split import SudachiWords, chunks, whitespace_normalized

    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab-size", type=int, default=16000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    compare = REPO / "out" / "compare"
    cap = SampleCap(characters=300_000 if args.quick else None)
    train = [whitespace_normalized(t) for t in iter_texts([str(compare / "medical-train"),
                                                           str(compare / "general-train")], cap)]
    held = [whitespace_normalized(t) for t in iter_texts([str(compare / "eval-medtxt")])]
    vocab = 4000 if args.quick else args.vocab_size
    sudachi = SudachiWords("C")
    started = time.perf_counter()
    train_m = [morphemes(sudachi, t) for t in train]
    held_m = [morphemes(sudachi, t) for t in held]
    words_train = Counter(w for ms in train_m for w, _ in ms if w.strip())
    chunks_train = Counter(c for t in train for c in chunks(sudachi, t) if c.strip())
    print(f"Sudachi: {time.perf_counter() - started:.1f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="jacorpus-pretok-"))
    common = dict(vocab_size=vocab, model_type="unigram", byte_fallback=True, character_coverage=0.9995,
                  hard_vocab_limit=False, num_threads=2, minloglevel=2, max_sentence_length=1 << 16,
                  normalization_rule_name="identity", remove_extra_whitespaces=False)
    no_prefix = dict(add_dummy_prefix=False, user_defined_symbols=["\u2581"])

    def write_tsv(name: str, counts: Counter) -> str:
        path = work / f"{name}.tsv"
        path.write_text("".join(f"{w}\t{n}\n" for w, n in counts.most_common() if "\t" not in w), encoding="utf-8")
        return str(path)

    def model(name: str, path: str, tsv: bool, **extra) -> spm.SentencePieceProcessor:
        spm.SentencePieceTrainer.train(input=path, input_format="tsv" if tsv else "text",
                                       model_prefix=str(work / name), **common, **extra)
        return spm.SentencePieceProcessor(model_file=str(work / f"{name}.model"))

    (work / "raw.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (work / "delim.txt").write_text("\n".join(DELIMITER.join(w for w, _ in ms) for ms in train_m) + "\n",
                                    encoding="utf-8")
    variants = {}
    raw = model("raw", str(work / "raw.txt"), False)
    variants["raw"] = [raw.encode(t, out_type=str) for t in held]
    prefixed = model("word_prefix", write_tsv("words", words_train), True)
    variants["word+prefix"] = [[p for w, _ in ms if w.strip() for p in prefixed.encode(w, out_type=str)]
                               for ms in held_m]
    word = model("word", write_tsv("words", words_train), True, **no_prefix)
    variants["word"] = [[p for w, _ in ms for p in (["\u2581"] if not w.strip() else word.encode(w, out_type=str))]
                        for ms in held_m]
    delim = model("delim", str(work / "delim.txt"), False, pretokenization_delimiter=DELIMITER, add_dummy_prefix=False)
    variants["delimiter"] = [delim.encode(t, out_type=str) for t in held]
    chunk = model("chunk", write_tsv("chunks", chunks_train), True, **no_prefix)
    variants["chunk"] = [[p for c in chunks(sudachi, t) for p in (["\u2581"] if c == " " else
                                                                   chunk.encode(c, out_type=str))] for t in held]
    processors = {"raw": raw, "word+prefix": prefixed, "word": word, "delimiter": delim, "chunk": chunk}
    chars, spaces = sum(map(len, held)), sum(t.count(" ") for t in held)
    rows = []
    for name, encoded in variants.items():
        tokens = sum(map(len, encoded))
        bare = sum(t.count("\u2581") for t in encoded)
        exact = sum(processors[name].decode(e) == t for e, t in zip(encoded, held))
        rows.append({"variant": name, "pieces": processors[name].get_piece_size(), "tokens": tokens,
                     "tokens_per_char": tokens / chars, "bare_marker_rate": bare / tokens,
                     "beyond_text": max(0, bare - spaces) / tokens, "exact_round_trip": exact / len(held)})
    base = rows[0]["tokens_per_char"]
    lines = ["| variant | pieces | tokens/char | x raw | bare ▁ | ▁ beyond text | exact round trip |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['variant']} | {r['pieces']} | {r['tokens_per_char']:.3f} | {r['tokens_per_char'] / base:.3f} | "
              f"{r['bare_marker_rate']:.2%} | {r['beyond_text']:.2%} | {r['exact_round_trip']:.1%} |" for r in rows]
    note = (f"\nTraining: {len(train)} documents, {sum(map(len, train))} characters; held out: MedTxt-CR, {len(held)} "
            f"documents, {chars} characters ({spaces} whitespace runs). Vocabulary {vocab}.\n")
    command = f"\nCommand: `.venv/bin/python bench/tokenizers_pretokenized.py{' --quick' if args.quick else ''}`\n"
    suffix = "_quick" if args.quick else ""
    results = REPO / "bench" / "results"
    (results / f"tokenizers_pretokenized{suffix}.md").write_text("\n".join(lines) + note + command, encoding="utf-8")
    (results / f"tokenizers_pretokenized{suffix}.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print("\n".join(lines) + note)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
