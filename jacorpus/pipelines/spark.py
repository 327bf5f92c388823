"""Spark engine: the same plan, the same step objects, one Spark task per plan task.

Each Spark task runs the stage's datatrove steps for its rank (exactly what a local worker runs), writing into an
attempt directory of its own; it then commits by renaming that directory to ``committed/<rank>``. A rename onto an
existing commit fails, so a retried or speculative duplicate attempt of the same rank is discarded and a failed
attempt leaves nothing behind that counts. The driver then moves committed shards into place in rank order and
assembles the manifest with the same code as the local engine.
"""

from __future__ import annotations

import copy
import glob
import os
import shutil
import uuid
from typing import Any, Iterator

from jacorpus.pipelines.local import check_output_dir
from jacorpus.pipelines.manifest import finalize
from jacorpus.pipelines.plan import Plan, Stage

FAIL_ONCE_ENV = "JACORPUS_SPARK_FAIL_ONCE"  # "stage:rank": fail that task's first attempt after writing (tests)


def attempt_root(stage_dir: str) -> str:
    return os.path.join(stage_dir, ".jacorpus", "spark")


def run_stage_task(stage: Stage, rank: int, world_size: int, attempt: str, fail_once: str | None = None) -> bool:
    """Run one rank of a stage in an attempt directory and commit it; False when another attempt committed first."""
    root = attempt_root(stage.output_dir)
    work = os.path.join(root, "attempts", f"{rank:05d}-{attempt}")
    committed = os.path.join(root, "committed", f"{rank:05d}")
    if os.path.isdir(committed):
        return False
    steps = copy.deepcopy(stage.steps)  # shares one ledger among the copies, like datatrove's executor does
    writer = steps[-1]
    writer.directory = work
    writer.dropped_directory = os.path.join(work, "dropped")
    data = None
    for step in steps:
        data = step(data, rank, world_size)
    for _ in data or ():
        pass
    # kept after the run (outside the attempt root), so a test can see the failure really happened
    marker = os.path.join(stage.output_dir, ".jacorpus", f"failed-once-{rank:05d}")
    if fail_once == f"{stage.index}:{rank}" and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError(f"injected failure of stage {stage.index} rank {rank} after writing its shards")
    os.makedirs(os.path.dirname(committed), exist_ok=True)
    try:
        os.rename(work, committed)  # atomic; fails when a commit for this rank exists
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
        return False
    return True


def publish_commits(stage: Stage, tasks: int) -> None:
    """Move every rank's committed files into the stage directory (driver side, in rank order)."""
    root = attempt_root(stage.output_dir)
    parts_dir = os.path.join(stage.output_dir, ".jacorpus", "parts")
    os.makedirs(parts_dir, exist_ok=True)
    for rank in range(tasks):
        committed = os.path.join(root, "committed", f"{rank:05d}")
        part = os.path.join(committed, ".jacorpus", "parts", f"{rank:05d}.json")
        if not os.path.exists(part):
            if os.path.exists(os.path.join(parts_dir, f"{rank:05d}.json")):
                continue  # published by an earlier (resumed) run
            raise RuntimeError(f"stage {stage.index}: rank {rank} has no committed output")
        for path in glob.glob(os.path.join(glob.escape(committed), "shard-*")):
            os.replace(path, os.path.join(stage.output_dir, os.path.basename(path)))
        dropped = os.path.join(committed, "dropped")
        if os.path.isdir(dropped):
            target = stage.steps[-1].dropped_directory
            os.makedirs(target, exist_ok=True)
            for path in glob.glob(os.path.join(glob.escape(dropped), "shard-*")):
                os.replace(path, os.path.join(target, os.path.basename(path)))
        os.replace(part, os.path.join(parts_dir, f"{rank:05d}.json"))
    shutil.rmtree(root, ignore_errors=True)


def prepare_on_spark(spark, step, input_dir: str, work_dir: str) -> None:
    """A global step's corpus-wide pass: distributed where the engine has a Spark form of it (dedup: the same
    decision files as the local ``prepare``), otherwise the step's own ``prepare`` on the driver."""
    from jacorpus.corpus.dedup.steps import Dedup

    if isinstance(step, Dedup):
        from jacorpus.pipelines.spark_dedup import prepare_dedup_spark

        # read on the driver: executors do not see its later environment
        prepare_dedup_spark(spark, step.options, input_dir, work_dir, os.environ.get(FAIL_ONCE_ENV, ""))
    else:
        step.prepare(input_dir, work_dir, 1)


def spark_session(master: str | None, app_name: str, conf: dict[str, str] | None = None):
    import sys

    from pyspark.sql import SparkSession

    # executors must run this interpreter (its venv has jacorpus); a cluster sets these through spark-submit
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in {"spark.ui.showConsoleProgress": "true", **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _task_runner(stage: Stage, world_size: int, fail_once: str | None):
    def run_partition(ranks: Iterator[int]) -> Iterator[tuple[int, bool]]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        for rank in ranks:
            attempt = f"{ctx.stageId()}-{ctx.attemptNumber()}-{uuid.uuid4().hex[:8]}"
            yield rank, run_stage_task(stage, rank, world_size, attempt, fail_once)

    return run_partition


def run_spark(plan: Plan, master: str | None = "local[2]", overwrite: bool = False, spark=None) -> dict[str, Any]:
    check_output_dir(plan, overwrite)
    own_session = spark is None
    spark = spark or spark_session(master, f"jacorpus:{plan.recipe.name}")
    try:
        sc = spark.sparkContext
        for stage in plan.stages:
            parts_dir = os.path.join(stage.output_dir, ".jacorpus", "parts")
            done = {int(p[:5]) for p in os.listdir(parts_dir)} if os.path.isdir(parts_dir) else set()
            todo = [rank for rank in range(plan.tasks) if rank not in done]
            if todo:
                sc.setJobDescription(f"{plan.recipe.name}: stage {stage.index}")
                # read on the driver: executors' Python workers do not see environment changes made after start-up
                runner = _task_runner(stage, plan.tasks, os.environ.get(FAIL_ONCE_ENV))
                sc.parallelize(todo, numSlices=len(todo)).mapPartitions(runner).collect()
                publish_commits(stage, plan.tasks)
            if stage.global_step is not None:
                work = os.path.join(plan.work_dir, f"global{stage.index}")
                prepare_on_spark(spark, stage.global_step, stage.output_dir, work)
        return finalize(plan, engine="spark")
    finally:
        if own_session:
            spark.stop()
