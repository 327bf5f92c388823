"""Base classes and registry for recipe steps.

A step is a datatrove ``PipelineStep`` (so datatrove executors run it as is) that also reports to the ``Ledger`` of
the task it runs in. Each step class declares its recipe name, a pydantic ``Options`` model (unknown keys are
errors), and the typed annotation columns it adds to documents. Engines build steps through the registry and never
special-case one.

Per task, the engine hands every step a ``TaskContext`` (``bind``): rank, world size, the task's ledger (which
forwards drops to the task's drop sink) and the fault hooks tests inject. A step outside an engine (a unit test)
has a context of its own with a fresh ledger.

A global step (``GlobalStep``: dedup) needs the whole corpus: it declares its corpus-wide pass
(``corpus/global_pass.py``), which the engine executes between two stages.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable

import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from pydantic import BaseModel, ConfigDict, model_validator

from jacorpus.corpus.ledger import Ledger
from jacorpus.corpus.limits import RecordTimeout, record_deadline
from jacorpus.foundation.registry import Registry


@dataclass
class TaskContext:
    """What an engine hands the steps of one task; created per task, never shared between tasks."""

    rank: int = 0
    world_size: int = 1
    ledger: Ledger = field(default_factory=Ledger)
    # where the task writes its shards (a Spark attempt writes to its own directory, then commits it)
    output_dir: str | None = None
    dropped_dir: str | None = None
    # where dropped documents go when output.keep_dropped is on (the ledger forwards each drop to it)
    drop_sink: Any = None
    # tests only: called at named points ("stage0:3" after task 3 of stage 0 wrote its shards); may raise
    faults: Callable[[str], None] | None = None
    # set by an engine when this task's worker died too often on its input: the reader records this reason as
    # the input file's error instead of reading it again (quarantine)
    quarantined: str | None = None

    def fault_point(self, point: str) -> None:
        if self.faults is not None:
            self.faults(point)


class StepOptions(BaseModel):
    """Options every step has: ``sources`` (apply only to documents of these recipe sources) or ``skip_sources``
    (apply to all but these). Documents out of scope pass through the step unchanged."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] | None = None
    skip_sources: list[str] | None = None

    @model_validator(mode="after")
    def one_scope(self) -> "StepOptions":
        if self.sources is not None and self.skip_sources is not None:
            raise ValueError("give either `sources` or `skip_sources`, not both")
        if self.sources is not None and not self.sources:
            raise ValueError("`sources` must name at least one source")
        return self

    def applies_to(self, source: str) -> bool:
        if self.sources is not None:
            return source in self.sources
        return self.skip_sources is None or source not in self.skip_sources


class JaStep(PipelineStep):
    """A per-document step. Subclasses set ``name``/``Options`` and implement ``run`` or a narrower hook."""

    name: ClassVar[str] = "step"
    type = "🇯🇵 - STEP"
    Options: ClassVar[type[StepOptions]] = StepOptions
    annotations: ClassVar[dict[str, pa.DataType]] = {}
    # a global step (dedup) needs the whole corpus; engines split the recipe into stages at these
    is_global: ClassVar[bool] = False
    # expensive per-document work (Sudachi-based rules): a document over this many seconds is dropped as "timeout"
    max_record_seconds: ClassVar[float | None] = None
    # where the step sits in the recipe's pipeline (set by the plan; the sources' reader is -1): the documents and
    # characters it passes on are counted there, for the funnel in pipeline order. None: not counted
    flow_position: int | None = None

    def __init__(self, options: StepOptions | None = None, base_dir: str = ".") -> None:
        super().__init__()
        self.options = options if options is not None else self.Options()
        self.base_dir = base_dir  # recipe directory, for relative paths in options
        self.context = TaskContext()  # a step used alone; an engine binds each task's context

    def load(self) -> None:
        """One-time set-up before a task's first record (a model, a dictionary and the imports they bring), run
        outside the per-record deadline: an import cut by the alarm leaves half-initialized modules behind (every
        later record then fails), and a first load that is slow on a busy node is not the record's fault."""

    def bind(self, context: TaskContext) -> "JaStep":
        """Called by the engine before the step runs a task."""
        self.context = context
        return self

    @property
    def ledger(self) -> Ledger:
        return self.context.ledger

    def drop(self, doc: Document, reason: str, **extra: Any) -> None:
        self.stat_update(f"dropped_{reason}")
        self.ledger.drop(doc, self.name, reason, **extra)

    def __call__(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """Every engine runs a step through this call (datatrove's executor too), so the source scope is applied
        once, here, for every step."""
        options = self.options
        if getattr(options, "sources", None) is None and getattr(options, "skip_sources", None) is None:
            out = self.run(data, rank, world_size)
        else:
            out = self.run_scoped(data, rank, world_size)
        return out if self.flow_position is None or out is None else self.counted(out)

    def counted(self, docs: DocumentsPipeline) -> DocumentsPipeline:
        for doc in docs:
            self.ledger.passed(self.flow_position, doc)
            yield doc

    def run_scoped(self, data: DocumentsPipeline, rank: int, world_size: int) -> DocumentsPipeline:
        """``run`` on the documents in scope; the others are held and re-emitted in input order. A task reads one
        input file (one source) in every engine, so what is held at once is small."""
        held: deque[Document] = deque()

        def in_scope() -> DocumentsPipeline:
            for doc in data or ():
                if self.options.applies_to(doc.metadata.get("source", "")):
                    yield doc
                else:
                    held.append(doc)

        for doc in self.run(in_scope(), rank, world_size):
            while held:
                yield held.popleft()
            yield doc
        while held:
            yield held.popleft()


class GlobalStep(JaStep):
    """A step over the whole corpus: the engine cuts the recipe here, runs the pass declared by the methods below
    over every shard of the previous stage (``corpus/global_pass.run_global_pass``), then opens the next stage with
    ``apply_step``, the step's per-document half."""

    is_global = True

    # types of corpus/global_pass.py (which imports this module)
    def global_pass_plan(self, layout: Any) -> Any:
        """The reduction (``KeyCounts`` or ``Clusters``) and partition count of a pass over ``layout``'s stage."""
        raise NotImplementedError

    def global_scan(self, task: Any):
        """Map: the keyed records (Arrow batches of the reduction's schema) of one stage task's documents."""
        raise NotImplementedError

    def pair_verifier(self, stage_dir: str) -> Any:
        """For ``Clusters(verify=True)``: an object whose ``accept(u, v)`` says which candidate pairs are real."""
        raise NotImplementedError

    def decide(self, result: Any, layout: Any, work_dir: str) -> dict[str, Any]:
        """Write the decision files ``apply_step`` reads from ``work_dir``; return the pass's stats."""
        raise NotImplementedError

    def apply_step(self, work_dir: str) -> JaStep:
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        raise RuntimeError(f"{self.name} is a global step: engines run its pass and apply_step(), not run()")


class JaFilter(JaStep):
    """Keeps or drops documents; ``filter`` returns True, False or (False, reason). May edit/annotate ``doc``."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        loaded = False
        for doc in data:
            if not loaded:  # at the first record, so a task with nothing in scope loads nothing
                self.load()
                loaded = True
            try:
                with self.track_time(), record_deadline(self.max_record_seconds):
                    result = self.filter(doc)
            except RecordTimeout:
                result = (False, "timeout")
            keep, reason = (result, None) if not isinstance(result, tuple) else result
            if keep:
                yield doc
            else:
                self.drop(doc, reason or "filtered")


class JaMapper(JaStep):
    """Rewrites or annotates documents (normalization, PII masking); ``apply`` returns the new text."""

    def apply(self, doc: Document) -> str:
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                doc.text = self.apply(doc)
            if doc.text:
                yield doc
            else:
                self.drop(doc, "empty_after_" + self.name)


# recipe name -> the module that registers it with register_step at import time (imported at the first lookup of
# the name: `import jacorpus` stays light, and a recipe loads only the steps it names)
BUILTIN_STEP_NAMES = {
    "normalize": "jacorpus.corpus.normalize",
    "language": "jacorpus.corpus.language",
    "quality": "jacorpus.corpus.quality",
    "classifier": "jacorpus.corpus.classifier",
    "pii": "jacorpus.corpus.pii",
    "ngwords": "jacorpus.corpus.ngwords",
    "dedup": "jacorpus.corpus.dedup.steps",
    "sentence_dedup": "jacorpus.corpus.dedup.sentence_dedup",
    "decontaminate": "jacorpus.corpus.decontaminate",
    "perplexity": "jacorpus.corpus.perplexity",
}


# recipe step names: jacorpus' own, entry points of the group "jacorpus.steps", or `module:Class` in a recipe
STEPS: Registry[JaStep] = Registry("step", "jacorpus.steps", JaStep, builtin_names=BUILTIN_STEP_NAMES)
BUILTIN_STEP_MODULES = STEPS.builtin_modules
STEP_TYPES = STEPS.types


def register_step(cls: type[JaStep]) -> type[JaStep]:
    """Class decorator: the step is known to recipes by its ``name``."""
    return STEPS.register(cls.name)(cls)


def load_builtin_steps() -> dict[str, type[JaStep]]:
    """Every known step type by recipe name (jacorpus' own and installed plugins')."""
    return STEPS.load()


def find_step_type(name: str) -> type[JaStep] | None:
    """The step class of a recipe step name or ``module:Class`` (None when unknown; RegistryError when it is a
    ``module:Class`` that does not import or is no step)."""
    return STEPS.find(name)


def annotation_schema(steps: Iterable[JaStep]) -> dict[str, pa.DataType]:
    fields: dict[str, pa.DataType] = {}
    for step in steps:
        for key, dtype in step.annotations.items():
            if key in fields and fields[key] != dtype:
                raise ValueError(f"annotation {key!r} declared with two types")
            fields[key] = dtype
    return fields
