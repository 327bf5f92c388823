"""From a recipe to engine-neutral stages of datatrove steps.

Every engine (local, Slurm, Spark) runs the same plan. A recipe's steps are cut into stages at global steps
(deduplication needs the whole corpus): stage 0 reads the sources, one task per input split (a file, or a part of a
big one: corpus/sources/splits.py), so the output order does not depend on how many workers run; a later stage
reads the previous stage's shards rank by rank, after the global step has computed its decisions over all of them.
When some file is split, a split stage runs first (``SplitStage``, index -1): each of its tasks counts the bytes
and lines of its split's range (so locators stay file-wide) or, for a single-stream compressed file, cuts the file
into zstd parts; it writes no shard.

A task of a stage runs ``Stage.run_task(context)``: the engine creates the task's ``TaskContext`` (its own ledger,
drop sink, output directory and fault hooks) with ``Stage.task_context`` and every step of the task is bound to it.
Datatrove executors (local, Slurm) run a stage as the one pipeline step ``StageTask``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from jacorpus.corpus.document import document_from_row
from jacorpus.corpus.ledger import Ledger
from jacorpus.corpus.shards import ShardWriter
from jacorpus.corpus.sources import Source, find_source_type
from jacorpus.corpus.sources.splits import Split, beside_index, plan_file, prepare, read_split
from jacorpus.corpus.steps import GlobalStep, JaStep, TaskContext, annotation_schema, find_step_type
from jacorpus.foundation import storage
from jacorpus.pipelines.inputs import check_source_files
from jacorpus.pipelines.recipe import Recipe, RecipeError

WORK = ".jacorpus"


def plan_splits(recipe: Recipe, sources: list[Source]) -> list[Split]:
    """Every input file of every source, cut into splits where its source type and container allow (splits.py);
    ranks follow the recipe's order of sources and files, so the output order is that of a one-task read."""
    splits: list[Split] = []
    for i, source in enumerate(sources):
        target = recipe.sources[i].split_bytes or recipe.split_bytes
        rule = source.record_rule()
        index_option = getattr(source.options, "index", None)
        named = storage.resolve(index_option, recipe.base_dir) if index_option else None
        if named and not (storage.exists(named) and storage.info(named)["type"] == "file"):
            shown = named if storage.is_url(named) else os.path.normpath(named)
            raise RecipeError(f"sources[{i}] ({source.source_name}): index {index_option} does not exist "
                              f"(looked for {shown})")
        for n, path in enumerate(source.files()):
            index = named or beside_index(path)
            for split in plan_file(i, path, rule, target, f"s{i}-f{n}", index, source.record_scan()):
                splits.append(replace(split, first_rank=len(splits) - split.index))
    return splits


def split_summary(splits: list[Split], sources: list[Source]) -> dict[str, Any]:
    """For the manifest: per source, files, splits and how the split files were cut."""
    out: dict[str, Any] = {}
    for split in splits:
        entry = out.setdefault(sources[split.source].source_name, {"files": 0, "splits": 0, "methods": {}})
        entry["splits"] += 1
        if split.index == 0:
            entry["files"] += 1
            entry["methods"][split.method] = entry["methods"].get(split.method, 0) + 1
    return out


class RecipeReader(JaStep):
    """Stage-0 reader: task ``rank`` reads input split ``rank`` of the recipe's global split list."""

    name = "read"
    type = "📖 - READER"
    flow_position = -1  # what the sources pass on (read minus their own drops) heads the funnel

    def __init__(self, sources: list[Source], splits: list[Split] | None = None, split_dir: str = "") -> None:
        super().__init__()
        self.sources = sources
        self.splits = splits if splits is not None else [
            Split(i, path, "whole") for i, src in enumerate(sources) for path in src.files()]
        self.split_dir = split_dir

    def bind(self, context: TaskContext) -> "RecipeReader":
        for source in self.sources:  # the sources read (and count, drop, fault) inside this task
            source.bind(context)
        return super().bind(context)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for index in range(rank, len(self.splits), world_size):
            split = self.splits[index]
            if self.context.quarantined:
                source = self.sources[split.source]
                source.error(split.path, None, f"quarantined, not read: {self.context.quarantined}")
                continue
            self.context.fault_point(f"read:{index}")  # tests: a file that kills its worker while it is read
            yield from read_split(self.sources[split.source], split, self.split_dir)

    def describe(self, rank: int) -> str:
        """The input task ``rank`` reads (a file, or one split of it), as origins name it."""
        if rank >= len(self.splits):
            return "no input"
        split = self.splits[rank]
        shown = self.sources[split.source].display_path(split.path)
        return shown if split.whole else f"{shown} (split {split.index})"


class SplitPreparer(JaStep):
    """The split stage's only step but the writer: task ``rank`` counts (or cuts, see splits.py) split ``rank``."""

    name = "split"
    type = "✂️ - SPLIT"

    def __init__(self, splits: list[Split], split_dir: str) -> None:
        super().__init__()
        self.splits, self.split_dir = splits, split_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for index in range(rank, len(self.splits), world_size):
            prepare(self.splits[index], self.split_dir)
        return
        yield


class ShardReader(JaStep):
    """Later-stage reader: task ``rank`` reads the shards that task ``rank`` of the previous stage wrote."""

    name = "read_stage"
    type = "📖 - READER"

    def __init__(self, directory: str, annotation_names: list[str]) -> None:
        super().__init__()
        self.directory = directory
        self.annotation_names = annotation_names

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from jacorpus.corpus.shards import iter_task_rows

        for row in iter_task_rows(self.directory, rank):
            yield document_from_row(row, self.annotation_names)


@dataclass
class Stage:
    index: int
    steps: list[JaStep]  # reader, per-document steps, writer
    output_dir: str
    global_step: GlobalStep | None = None  # its pass runs over this stage's output before the next stage starts

    @property
    def writer(self) -> ShardWriter:
        return self.steps[-1]

    @property
    def label(self) -> str:
        return "split" if self.index < 0 else f"stage {self.index}"

    def task_context(self, rank: int, world_size: int, faults: Callable[[str], None] | None = None,
                     output_dir: str | None = None, dropped_dir: str | None = None,
                     quarantined: str | None = None) -> TaskContext:
        """A fresh context for task ``rank``: its ledger, and its drop sink (created before any step runs)."""
        sink = self.writer.drop_sink(dropped_dir, rank)
        return TaskContext(rank, world_size, Ledger(rank, on_drop=sink), output_dir, dropped_dir, sink, faults,
                           quarantined)

    def run_task(self, context: TaskContext) -> None:
        """Every step bound to the task's context, chained, drained (the writer, last, writes shards and ledger)."""
        data = None
        for step in self.steps:
            data = step.bind(context)(data, context.rank, context.world_size)
        for _ in data or ():
            pass


class StageTask(PipelineStep):
    """A stage as one datatrove pipeline step: datatrove executors (local, Slurm) call it once per task."""

    name = "stage"
    type = "🗂️ - STAGE"

    def __init__(self, stage: Stage, faults: Callable[[str], None] | None = None,
                 quarantined: dict[int, str] | None = None) -> None:
        super().__init__()
        self.stage, self.faults = stage, faults
        self.quarantined = quarantined or {}  # rank -> why (only stage 0 reads input files)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        context = self.stage.task_context(rank, world_size, self.faults, quarantined=self.quarantined.get(rank))
        self.stage.run_task(context)
        context.fault_point(f"stage{self.stage.index}:{rank}")
        return
        yield  # a generator, like any datatrove step


@dataclass
class Plan:
    recipe: Recipe
    output_dir: str
    tasks: int
    stages: list[Stage] = field(default_factory=list)
    annotation_fields: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, Any] = field(default_factory=dict)  # per source: files, splits, methods (for the manifest)

    @property
    def work_dir(self) -> str:
        return os.path.join(self.output_dir, WORK)

    def describe_task(self, stage: Stage, rank: int) -> str:
        """``stage 1 task 3 (input laws/a.txt)``: every stage's task ``rank`` descends from input split ``rank``."""
        reader = next(s.steps[0] for s in self.stages if isinstance(s.steps[0], RecipeReader))
        return f"{stage.label} task {rank} (input {reader.describe(rank)})"


def build_sources(recipe: Recipe) -> list[Source]:
    sources = []
    for i, spec in enumerate(recipe.sources):
        cls = find_source_type(spec.type)  # parse_recipe checked it exists
        sources.append(cls(recipe.source_name(i), spec.paths, cls.Options.model_validate(spec.options), recipe.base_dir))
    return sources


def build_steps(recipe: Recipe) -> list[JaStep]:
    steps = []
    for position, entry in enumerate(recipe.steps):
        (name, options), = entry.items()
        cls = find_step_type(name)
        step = cls(cls.Options.model_validate(options or {}), base_dir=recipe.base_dir)
        step.flow_position = position  # the funnel counts what leaves each recipe step
        steps.append(step)
    return steps


def build_plan(recipe: Recipe, output_dir: str | None = None) -> Plan:
    out = recipe.output_dir(output_dir)
    sources = build_sources(recipe)
    check_source_files(recipe, sources)
    steps = build_steps(recipe)
    splits = plan_splits(recipe, sources)
    split_dir = storage.join(out, WORK, "split")
    reader = RecipeReader(sources, splits, split_dir)
    fields = annotation_schema(steps)
    plan = Plan(recipe, out, tasks=max(1, len(splits)), annotation_fields=fields,
                splits=split_summary(splits, sources))
    if any(not split.whole for split in splits):
        # its work files (range counts, cut parts) live in the output's work folder, local or on an object store
        writer = ShardWriter(split_dir, fields, count_kept=False, stage=-1)  # writes no shard: marks tasks done
        plan.stages.append(Stage(-1, [SplitPreparer(splits, split_dir), writer], split_dir))

    segments: list[list[JaStep]] = [[]]
    globals_: list[JaStep] = []
    for step in steps:
        if step.is_global:
            globals_.append(step)
            segments.append([])
        else:
            segments[-1].append(step)
    for k, segment in enumerate(segments):
        final = k == len(segments) - 1
        stage_dir = out if final else os.path.join(out, WORK, f"stage{k}")
        head = reader if k == 0 else ShardReader(os.path.join(out, WORK, f"stage{k - 1}"), list(fields))
        if k > 0:
            # the global step's per-document part (e.g. drop the duplicates it found) opens the next stage
            apply = globals_[k - 1].apply_step(os.path.join(out, WORK, f"global{k - 1}"))
            apply.flow_position = globals_[k - 1].flow_position
            segment = [apply] + segment
        writer = ShardWriter(
            stage_dir,
            fields,
            fmt=recipe.output.format if final else "arrow",
            max_shard_bytes=recipe.output.max_shard_bytes,
            keep_dropped=recipe.output.keep_dropped,
            dropped_directory=os.path.join(out, "dropped"),
            count_kept=final,
            stage=k,
        )
        plan.stages.append(Stage(k, [head, *segment, writer], stage_dir, None if final else globals_[k]))
    return plan
