"""Documents' text streamed from a jacorpus output directory or from text files, under a sampling cap.

A corpus directory is read by ``foundation.finished_corpus.iter_corpus_texts`` (one batch from each shard in turn,
so a cap samples every shard). Text files hold one document per blank-line separated block (``split="blank_line"``)
or per line.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Iterable, Iterator, Literal

from jacorpus.foundation.finished_corpus import is_corpus_dir, iter_corpus_texts

TEXT_SUFFIXES = (".txt", ".txt.gz", ".txt.bz2", ".txt.xz", ".txt.zst", ".text")


@dataclass
class SampleCap:
    """Stop after this many documents or characters (None: no limit)."""

    documents: int | None = None
    characters: int | None = None


def iter_text_file(path: str, split: Literal["blank_line", "line"] = "blank_line") -> Iterator[str]:
    from jacorpus.corpus.sources.compression import iter_lines

    block: list[str] = []
    for _, _, line in iter_lines(path):
        if split == "line":
            if line.strip():
                yield line
        elif line.strip():
            block.append(line)
        elif block:
            yield "\n".join(block)
            block = []
    if block:
        yield "\n".join(block)


def _text_files(directory: str) -> list[str]:
    found = [p for p in glob.glob(os.path.join(directory, "**", "*"), recursive=True) if p.endswith(TEXT_SUFFIXES)]
    return sorted(found)


def iter_texts(
    paths: Iterable[str], cap: SampleCap | None = None, split: Literal["blank_line", "line"] = "blank_line"
) -> Iterator[str]:
    """Documents of every path (corpus directories, text files, folders of text files), until the cap is reached."""
    cap = cap or SampleCap()
    documents = characters = 0
    for path in paths:
        if is_corpus_dir(path):
            source: Iterator[str] = iter_corpus_texts(path)
        elif os.path.isdir(path):
            source = (text for file in _text_files(path) for text in iter_text_file(file, split))
        elif os.path.isfile(path):
            source = iter_text_file(path, split)
        else:
            raise FileNotFoundError(f"no corpus directory or text file at {path}")
        for text in source:
            if cap.characters is not None and characters + len(text) > cap.characters:
                text = text[: cap.characters - characters]
            if text:
                yield text
            documents += 1
            characters += len(text)
            if (cap.documents is not None and documents >= cap.documents) or (
                cap.characters is not None and characters >= cap.characters
            ):
                return


def iter_lines_for_training(texts: list[str], max_chars: int = 2000) -> Iterator[str]:
    """Documents as lines no longer than max_chars (SentencePiece skips longer sentences)."""
    for text in texts:
        for line in text.split("\n"):
            line = line.strip()
            while len(line) > max_chars:
                cut = max(line.rfind(mark, 0, max_chars) for mark in "。．.!?！？ ")
                cut = cut + 1 if cut > max_chars // 2 else max_chars
                yield line[:cut]
                line = line[cut:].strip()
            if line:
                yield line
