"""Per-task accounting: every document read ends as kept or dropped-with-reason, every fault as an error entry.

An engine creates one ``Ledger`` per task, inside the task's ``TaskContext`` (``corpus/steps.py``), which it hands
to every step of the task; the shard writer saves it next to the task's shards and the driver merges the parts
into ``manifest.json``. Invariant checked at merge time: read == kept + sum(dropped).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Callable

from datatrove.data import Document

MAX_ERRORS_PER_TASK = 1000  # a pathological file must not turn the manifest into a log


class Ledger:
    def __init__(self, rank: int = 0, on_drop: Callable[[Document, str, dict[str, Any]], None] | None = None) -> None:
        self.rank = rank
        self.read_count = 0
        self.kept_count = 0
        self.dropped: Counter[str] = Counter()
        self.sources: dict[str, Counter[str]] = defaultdict(Counter)
        self.steps: dict[str, Counter[str]] = defaultdict(Counter)
        self.errors: list[dict[str, Any]] = []
        self.errors_omitted = 0
        # the funnel in pipeline order: documents and characters leaving the sources (-1) and each recipe step
        # (its index in the recipe), so a card can show where text went, edits included
        self.flow: dict[int, list[int]] = {}
        self.chars: Counter[str] = Counter()  # characters read (as the sources made the documents) and kept
        # the task's drop sink when output.keep_dropped is on: receives (doc, "step:reason", extra)
        self.on_drop = on_drop

    def read(self, doc: Document) -> None:
        self.read_count += 1
        self.chars["read"] += len(doc.text or "")
        self.sources[doc.metadata.get("source", "?")]["read"] += 1

    def kept(self, doc: Document) -> None:
        self.kept_count += 1
        self.chars["kept"] += len(doc.text or "")
        self.sources[doc.metadata.get("source", "?")]["kept"] += 1

    def drop(self, doc: Document, step: str, reason: str, **extra: Any) -> None:
        key = f"{step}:{reason}"
        self.dropped[key] += 1
        self.steps[step][f"dropped:{reason}"] += 1
        self.sources[doc.metadata.get("source", "?")]["dropped"] += 1
        self.sources[doc.metadata.get("source", "?")][f"dropped:{key}"] += 1  # per source x reason
        if self.on_drop is not None:
            self.on_drop(doc, key, extra)

    def passed(self, position: int, doc: Document) -> None:
        """A document left the step at ``position`` of the pipeline (-1: the sources) and goes on."""
        counts = self.flow.setdefault(position, [0, 0])
        counts[0] += 1
        counts[1] += len(doc.text or "")

    def count(self, step: str, key: str, n: int = 1) -> None:
        """Free-form per-step counters (e.g. PII masks by type)."""
        self.steps[step][key] += n

    def error(self, file: str, position: Any, message: str, step: str = "read") -> None:
        self.steps[step]["errors"] += 1
        if len(self.errors) < MAX_ERRORS_PER_TASK:
            self.errors.append({"file": str(file), "position": position, "message": message, "step": step})
        else:
            self.errors_omitted += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read_count,
            "kept": self.kept_count,
            "dropped": dict(self.dropped),
            "sources": {k: dict(v) for k, v in self.sources.items()},
            "steps": {k: dict(v) for k, v in self.steps.items()},
            "errors": list(self.errors),
            "errors_omitted": self.errors_omitted,
            "flow": {str(k): list(v) for k, v in sorted(self.flow.items())},
            "chars": dict(self.chars),
        }


def merge_ledgers(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum task ledgers (in rank order, so the errors list is deterministic)."""
    dropped: Counter[str] = Counter()
    sources: dict[str, Counter[str]] = defaultdict(Counter)
    steps: dict[str, Counter[str]] = defaultdict(Counter)
    flow: dict[int, list[int]] = {}
    chars: Counter[str] = Counter()
    out: dict[str, Any] = {"read": 0, "kept": 0, "errors": [], "errors_omitted": 0}
    for part in parts:
        out["read"] += part["read"]
        out["kept"] += part["kept"]
        out["errors"].extend(part["errors"])
        out["errors_omitted"] += part.get("errors_omitted", 0)
        dropped.update(part["dropped"])
        for name, counts in part["sources"].items():
            sources[name].update(counts)
        for name, counts in part["steps"].items():
            steps[name].update(counts)
        for position, (docs, n_chars) in part.get("flow", {}).items():
            counts = flow.setdefault(int(position), [0, 0])
            counts[0] += docs
            counts[1] += n_chars
        chars.update(part.get("chars", {}))
    out["dropped"] = dict(sorted(dropped.items()))
    out["sources"] = {k: dict(sorted(v.items())) for k, v in sorted(sources.items())}
    out["steps"] = {k: dict(sorted(v.items())) for k, v in sorted(steps.items())}
    out["flow"] = {k: flow[k] for k in sorted(flow)}
    out["chars"] = {"read": chars["read"], "kept": chars["kept"]}
    return out


def check_invariant(summary: dict[str, Any]) -> None:
    total_dropped = sum(summary["dropped"].values())
    if summary["read"] != summary["kept"] + total_dropped:
        raise AssertionError(
            f"manifest invariant broken: read={summary['read']} != kept={summary['kept']} + dropped={total_dropped}"
        )
