"""Readers for the evaluation data formats: JGLUE v1.3, label<TAB>text / JSONL classification, IgakuQA, JMMLU."""

from __future__ import annotations

import csv
import glob
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field

JGLUE_TASKS = {"jsts": "regression", "jnli": "classification", "jcommonsenseqa": "multiple_choice"}
JNLI_LABELS = ["entailment", "contradiction", "neutral"]


@dataclass
class Example:
    text: str | list[str]  # a text, a sentence pair, or (for multiple choice) the question
    label: float | int | str
    choices: list[str] | None = None
    id: str = ""
    answers: list[int] | None = None  # multiple choice: every right choice (IgakuQA asks for two or three at times)
    group: str = ""  # what results are broken down by (IgakuQA: the exam year)


@dataclass
class MCQASet:
    examples: list[Example]
    skipped: Counter = field(default_factory=Counter)  # (group, reason) -> questions left out


def jglue_file(data_dir: str, task: str, split: str) -> str:
    path = os.path.join(data_dir, f"{task}-v1.3", f"{split}-v1.3.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found (JGLUE layout: <task>-v1.3/<split>-v1.3.json)")
    return path


def read_jglue(data_dir: str, task: str, split: str) -> list[Example]:
    examples = []
    with open(jglue_file(data_dir, task, split), encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            if task == "jsts":
                examples.append(Example([r["sentence1"], r["sentence2"]], float(r["label"]), id=r["sentence_pair_id"]))
            elif task == "jnli":
                examples.append(Example([r["sentence1"], r["sentence2"]], JNLI_LABELS.index(r["label"]), id=r["sentence_pair_id"]))
            elif task == "jcommonsenseqa":
                choices = [r[f"choice{i}"] for i in range(5)]
                examples.append(Example(r["question"], int(r["label"]), choices, id=str(r["q_id"])))
            else:
                raise ValueError(f"unknown JGLUE task {task!r}; known: {sorted(JGLUE_TASKS)}")
    return examples


def read_classification(path: str) -> list[Example]:
    """`label<TAB>text` lines (e.g. the toiro sample) or JSONL with text/label."""
    examples = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if path.endswith((".jsonl", ".json")):
                r = json.loads(line)
                examples.append(Example(r["text"], str(r["label"]), id=str(number)))
            else:
                label, sep, text = line.partition("\t")
                if not sep:
                    raise ValueError(f"{path}:{number}: expected label<TAB>text")
                examples.append(Example(text, label, id=str(number)))
    return examples


def read_mcqa(path: str) -> MCQASet:
    """IgakuQA (folder of <year>/<exam>-<block>.jsonl, or one file) or JMMLU-style CSV (question, optionA-E, answer).

    Questions with several right answers are kept (``answers``; scored as the exam does: all of them and only
    them). Left out, counted per year and reason: questions that need an image (``text_only`` false) and questions
    without choices (numeric answers).
    """
    files = sorted(glob.glob(os.path.join(path, "**", "*.jsonl"), recursive=True)) if os.path.isdir(path) else [path]
    files = [f for f in files if not f.endswith("_metadata.jsonl")]
    if os.path.isdir(path):
        files += sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
    if not files:
        raise FileNotFoundError(f"{path}: no IgakuQA .jsonl or JMMLU-style .csv files found")
    out = MCQASet([])
    for file in files:
        parent = os.path.basename(os.path.dirname(file))
        if file.endswith(".csv"):
            group = os.path.splitext(os.path.basename(file))[0]
            with open(file, encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    letters = [k for k in ("optionA", "optionB", "optionC", "optionD", "optionE") if row.get(k)]
                    choices = [row[k] for k in letters]
                    answer = "ABCDE".index(row["answer"].strip().upper())
                    out.examples.append(Example(row["question"], answer, choices, id=f"{os.path.basename(file)}:{len(out.examples)}",
                                                answers=[answer], group=group))
            continue
        with open(file, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                r = json.loads(line)
                group = parent if re.fullmatch(r"\d{4}", parent) else str(r.get("problem_id", ""))[:3]
                if not r.get("text_only", True):
                    out.skipped[(group, "needs an image")] += 1
                    continue
                if not r.get("choices"):
                    out.skipped[(group, "no choices")] += 1
                    continue
                answers = sorted("abcdefghij".index(a) for a in r["answer"])
                if not answers or answers[-1] >= len(r["choices"]):
                    raise ValueError(f"{file}:{number}: answer {r['answer']} does not name one of its {len(r['choices'])} choices")
                out.examples.append(Example(r["problem_text"], answers[0], list(r["choices"]), id=r["problem_id"],
                                            answers=answers, group=group))
    return out
