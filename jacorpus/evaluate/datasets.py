"""Readers for the evaluation data formats: JGLUE v1.3, label<TAB>text / JSONL classification, IgakuQA, JMMLU."""

from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass

JGLUE_TASKS = {"jsts": "regression", "jnli": "classification", "jcommonsenseqa": "multiple_choice"}
JNLI_LABELS = ["entailment", "contradiction", "neutral"]


@dataclass
class Example:
    text: str | list[str]  # a text, a sentence pair, or (for multiple choice) the question
    label: float | int | str
    choices: list[str] | None = None
    id: str = ""


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


def read_mcqa(path: str) -> list[Example]:
    """IgakuQA (folder of <exam>-<block>.jsonl, or one file) or JMMLU-style CSV (question, optionA-D, answer).

    Questions with several correct answers or referring to images (text_only false) are skipped: log-likelihood
    scoring of one choice does not fit them.
    """
    files = sorted(glob.glob(os.path.join(path, "**", "*.jsonl"), recursive=True)) if os.path.isdir(path) else [path]
    files = [f for f in files if not f.endswith("_metadata.jsonl")]
    if os.path.isdir(path):
        files += sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
    examples = []
    for file in files:
        if file.endswith(".csv"):
            with open(file, encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    letters = [k for k in ("optionA", "optionB", "optionC", "optionD", "optionE") if row.get(k)]
                    choices = [row[k] for k in letters]
                    answer = "ABCDE".index(row["answer"].strip().upper())
                    examples.append(Example(row["question"], answer, choices, id=f"{os.path.basename(file)}:{len(examples)}"))
            continue
        with open(file, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if not r.get("text_only", True) or len(r["answer"]) != 1 or not r.get("choices"):
                    continue
                answer = "abcdefghij".index(r["answer"][0])
                examples.append(Example(r["problem_text"], answer, list(r["choices"]), id=r["problem_id"]))
    return examples
