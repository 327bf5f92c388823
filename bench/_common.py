"""Helpers shared by bench/filters.py and bench/filter_steps.py: the real Japanese web texts both time, and the
interleaved rounds both time them with. Not a bench itself (running it does nothing)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

REPO = Path(__file__).resolve().parents[1]
Result = TypeVar("Result")


def results_dir() -> Path:
    """Where a bench writes by default: $JACORPUS_BENCH_RESULTS, else the scratch folder out/bench. Only
    `make bench-record` sets it to bench/results, so smoke runs (`make bench`) never replace the recorded figures."""
    return Path(os.environ.get("JACORPUS_BENCH_RESULTS", REPO / "out" / "bench"))


def shared_data_dir() -> Path:
    """The real test data folder, found the way the tests find it (../shared/data or $JACORPUS_SHARED_DATA)."""
    if str(REPO / "tests") not in sys.path:
        sys.path.insert(0, str(REPO / "tests"))
    from conftest import shared_data_dir as find

    return find()


def cc_ja_texts(data: Path) -> list[str]:
    """The 99 ABEJA-CC-JA web documents (~200, ~2,000 and ~20,000 characters, one paragraph per line)."""
    abeja = json.loads((data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    return [item["text"] for items in abeja.values() for item in items]


def mc4_texts(data: Path) -> list[str]:
    """The hand-labelled mC4-ja paragraphs as the project's label reader parses them (distinct, unquoted)."""
    from jacorpus.corpus.quality_labels import read_labels

    return [text for text, _ in read_labels(str(data / "mc4_ja_quality_labels" / "annotations_.txt")).examples]


def take_turns(contenders: dict[str, Callable[[], Result]], rounds: int,
               progress: str | None = None) -> tuple[dict[str, list[float]], dict[str, Result]]:
    """CPU seconds (``time.process_time``) of every round per contender, and each contender's result from the
    last round.

    Within a round every contender runs once, in turn, so load from other processes on a shared machine hits them
    alike; compare per-round ratios or best rounds, not one run against another run. CPU time, not wall time: on
    a shared machine the wall clock also counts the time other jobs hold the core. `progress` names a tqdm bar on
    stderr (none when it is None).
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    results: dict[str, Any] = {}
    steps = range(rounds)
    if progress is not None:
        from tqdm import tqdm

        steps = tqdm(steps, desc=progress, unit="round", file=sys.stderr)
    for _ in steps:
        for name, run in contenders.items():
            start = time.process_time()
            results[name] = run()
            times[name].append(time.process_time() - start)
    return times, results
