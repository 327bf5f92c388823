"""From a recipe to engine-neutral stages of datatrove steps.

Every engine (local, Slurm, Spark) runs the same plan. A recipe's steps are cut into stages at global steps
(deduplication needs the whole corpus): stage 0 reads the sources, one task per input file, so the output order
does not depend on how many workers run; a later stage reads the previous stage's shards rank by rank, after the
global step has computed its decisions over all of them.

A task of a stage runs ``Stage.run_task(context)``: the engine creates the task's ``TaskContext`` (its own ledger,
drop sink, output directory and fault hooks) with ``Stage.task_context`` and every step of the task is bound to it.
Datatrove executors (local, Slurm) run a stage as the one pipeline step ``StageTask``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from jacorpus.corpus.document import document_from_row
from jacorpus.corpus.ledger import Ledger
from jacorpus.corpus.shards import ShardWriter
from jacorpus.corpus.sources import Source, find_source_type
from jacorpus.corpus.steps import GlobalStep, JaStep, TaskContext, annotation_schema, find_step_type
from jacorpus.pipelines.inputs import check_source_files
from jacorpus.pipelines.recipe import Recipe

WORK = ".jacorpus"


class RecipeReader(JaStep):
    """Stage-0 reader: task ``rank`` reads input file ``rank`` of the recipe's global file list."""

    name = "read"
    type = "📖 - READER"

    def __init__(self, sources: list[Source]) -> None:
        super().__init__()
        self.sources = sources
        self.files = [(i, path) for i, src in enumerate(sources) for path in src.files()]

    def bind(self, context: TaskContext) -> "RecipeReader":
        for source in self.sources:  # the sources read (and count, drop, fault) inside this task
            source.bind(context)
        return super().bind(context)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for index in range(rank, len(self.files), world_size):
            source_index, path = self.files[index]
            if self.context.quarantined:
                source = self.sources[source_index]
                source.error(path, None, f"quarantined, not read: {self.context.quarantined}")
                continue
            self.context.fault_point(f"read:{index}")  # tests: a file that kills its worker while it is read
            yield from self.sources[source_index].read_file_safely(path)

    def describe(self, rank: int) -> str:
        """The input file task ``rank`` reads (one task per file), as origins name it."""
        if rank >= len(self.files):
            return "no input"
        source_index, path = self.files[rank]
        return self.sources[source_index].display_path(path)


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

    @property
    def work_dir(self) -> str:
        return os.path.join(self.output_dir, WORK)

    def describe_task(self, stage: Stage, rank: int) -> str:
        """``stage 1 task 3 (input laws/a.txt)``: every stage's task ``rank`` descends from input file ``rank``."""
        return f"stage {stage.index} task {rank} (input {self.stages[0].steps[0].describe(rank)})"


def build_sources(recipe: Recipe) -> list[Source]:
    sources = []
    for i, spec in enumerate(recipe.sources):
        cls = find_source_type(spec.type)  # parse_recipe checked it exists
        sources.append(cls(recipe.source_name(i), spec.paths, cls.Options.model_validate(spec.options), recipe.base_dir))
    return sources


def build_steps(recipe: Recipe) -> list[JaStep]:
    steps = []
    for entry in recipe.steps:
        (name, options), = entry.items()
        cls = find_step_type(name)
        steps.append(cls(cls.Options.model_validate(options or {}), base_dir=recipe.base_dir))
    return steps


def build_plan(recipe: Recipe, output_dir: str | None = None) -> Plan:
    out = recipe.output_dir(output_dir)
    sources = build_sources(recipe)
    check_source_files(recipe, sources)
    steps = build_steps(recipe)
    reader = RecipeReader(sources)
    fields = annotation_schema(steps)
    plan = Plan(recipe, out, tasks=max(1, len(reader.files)), annotation_fields=fields)

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
            segment = [globals_[k - 1].apply_step(os.path.join(out, WORK, f"global{k - 1}"))] + segment
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
