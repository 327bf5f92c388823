"""The recipe step ``dedup``: ``method: exact | lines | minhash`` with its options.

A global step: the engine cuts the recipe here, runs ``prepare`` over every shard of the stage before, then starts
the next stage with ``apply_step``. Example::

    - dedup: {method: minhash, threshold: 0.8, unit: char, ngram: 5, verify: true, priority: [wikipedia, cc100]}
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pyarrow as pa
from datatrove.data import DocumentsPipeline
from pydantic import Field, model_validator

from jacorpus.corpus.dedup.apply import CLUSTER_FIELDS, LINE_FIELDS, ClusterApply, LineApply
from jacorpus.corpus.steps import JaStep, StepOptions, register_step


MINHASH_ONLY = ("threshold", "unit", "ngram", "num_perm", "bands", "rows", "seed", "scheme")
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    **{name: ("minhash",) for name in MINHASH_ONLY},
    "verify": ("exact", "minhash"),
    "priority": ("exact", "minhash"),
    "min_count": ("lines",),
    "min_chars": ("lines",),
}


class DedupOptions(StepOptions):
    method: Literal["exact", "lines", "minhash"] = "minhash"
    # minhash
    threshold: float = Field(0.8, gt=0.0, lt=1.0, description="Jaccard similarity of near-duplicates")
    unit: Literal["char", "word"] = "char"
    ngram: int = Field(5, ge=1, le=64)
    num_perm: int = Field(128, ge=2, le=1024)
    bands: int | None = Field(None, ge=1)
    rows: int | None = Field(None, ge=1)
    seed: int = Field(1, ge=0, lt=2**32)
    scheme: Literal["affine32", "legacy"] = "affine32"  # datasketch's permutation scheme (affine32: its default)
    # exact and minhash
    verify: bool = False
    priority: list[str] = Field(default_factory=list, description="source names, the first is kept first")
    # lines
    min_count: int = Field(2, ge=2, description="documents a line must occur in to be removed")
    min_chars: int = Field(50, ge=0, description="drop a document left shorter than this by line removal")
    # engine
    memory_mb: int = Field(256, ge=16, description="memory budget of one spill partition")

    @model_validator(mode="after")
    def options_fit_the_method(self) -> "DedupOptions":
        for name in self.model_fields_set:
            if self.method not in METHOD_OPTIONS.get(name, (self.method,)):
                raise ValueError(f"option {name!r} does not apply to method {self.method!r}")
        return self

    @model_validator(mode="after")
    def bands_fit(self) -> "DedupOptions":
        bands, rows = self.bands, self.rows
        if bands is not None or rows is not None:
            b = bands if bands is not None else self.num_perm // rows
            r = rows if rows is not None else self.num_perm // bands
            if b < 1 or r < 1 or b * r > self.num_perm:
                raise ValueError(f"bands*rows must be at most num_perm={self.num_perm}")
        return self


@register_step
class Dedup(JaStep):
    name = "dedup"
    type = "🫂 - DEDUP"
    Options = DedupOptions
    annotations: ClassVar[dict[str, pa.DataType]] = CLUSTER_FIELDS
    is_global = True

    def __init__(self, options: DedupOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        if self.options.method == "lines":  # lines leave no clusters; they report what they removed
            self.annotations = LINE_FIELDS

    def prepare(self, input_dir: str, work_dir: str, workers: int = 1, progress: bool = True) -> dict[str, Any]:
        """Decide over all shards of ``input_dir`` (the previous stage); results go to ``work_dir``."""
        from jacorpus.corpus.dedup.prepare import prepare_dedup

        return prepare_dedup(self.options, input_dir, work_dir, workers, progress)

    def apply_step(self, work_dir: str) -> JaStep:
        if self.options.method == "lines":
            return LineApply(work_dir, self.options.min_chars)
        return ClusterApply(work_dir, "exact_duplicate" if self.options.method == "exact" else "near_duplicate")

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        raise RuntimeError("dedup is a global step: engines call prepare() and apply_step(), not run()")
