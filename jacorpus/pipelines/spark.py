"""Spark engine: the same plan, the same step objects, one Spark task per plan task.

Each Spark task runs the stage's datatrove steps for its rank (exactly what a local worker runs), writing into an
attempt directory of its own; it then commits by renaming that directory to ``committed/<rank>``. A rename onto an
existing commit fails, so a retried or speculative duplicate attempt of the same rank is discarded and a failed
attempt leaves nothing behind that counts. The driver then moves committed shards into place in rank order and
assembles the manifest with the same code as the local engine.

On an object store (an ``s3://``/``gs://``... output, ``foundation/storage.py``) there is no atomic rename, so the
commit is the driver's: every attempt writes under its own attempt-unique prefix and returns its attempt name; Spark
hands the driver exactly one result per rank (a failed attempt returns none, a speculative twin's result is
dropped), and the driver writes the commit record ``committed/<rank>.json`` naming that attempt, then copies the
attempt's files into place, the rank's ledger part last. Readers and the manifest trust only those parts, so an
attempt that failed, was retried, or raced a twin can neither duplicate nor half-write a shard; a rerun after the
driver died publishes from the commit records (or reruns the ranks that have none).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import uuid
from typing import Any, Callable, Iterator

from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text
from jacorpus.corpus.global_pass import run_global_pass
from jacorpus.pipelines.output_dir import claim_output_dir
from jacorpus.pipelines.supervise import spark_task_failure
from jacorpus.pipelines.manifest import finalize
from jacorpus.pipelines.plan import Plan, Stage
from jacorpus.pipelines.spark_global import SparkReducer

Faults = Callable[[str], None]


def attempt_root(stage_dir: str) -> str:
    return storage.join(stage_dir, ".jacorpus", "spark")


def attempt_dir(stage: Stage, rank: int, attempt: str) -> str:
    return storage.join(attempt_root(stage.output_dir), "attempts", f"{rank:05d}-{attempt}")


def commit_record(stage: Stage, rank: int) -> str:
    return storage.join(attempt_root(stage.output_dir), "committed", f"{rank:05d}.json")


def run_stage_task(stage: Stage, rank: int, world_size: int, attempt: str, faults: Faults | None = None) -> bool:
    """Run one rank of a stage in an attempt directory and commit it; False when another attempt committed first.
    On an object store the task only writes its attempt (True: complete) and the driver commits (``commit``)."""
    root = attempt_root(stage.output_dir)
    work = attempt_dir(stage, rank, attempt)
    if storage.is_url(root):
        if storage.exists(commit_record(stage, rank)):  # committed by an earlier run of the driver
            return False
        context = stage.task_context(rank, world_size, faults, output_dir=work,
                                     dropped_dir=storage.join(work, "dropped"))
        stage.run_task(context)
        context.fault_point(f"stage{stage.index}:{rank}")  # after writing, before the driver sees the attempt
        return True
    committed = os.path.join(root, "committed", f"{rank:05d}")
    if os.path.isdir(committed):
        return False
    context = stage.task_context(rank, world_size, faults, output_dir=work, dropped_dir=os.path.join(work, "dropped"))
    stage.run_task(context)
    context.fault_point(f"stage{stage.index}:{rank}")  # after writing, before the commit
    os.makedirs(os.path.dirname(committed), exist_ok=True)
    try:
        os.rename(work, committed)  # atomic; fails when a commit for this rank exists
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
        return False
    return True


def commit(stage: Stage, results: list[tuple[int, str, bool]]) -> None:
    """Driver side, object stores: the commit record of each rank names the one attempt Spark returned for it."""
    if not storage.is_url(stage.output_dir):
        return  # committed by the tasks' renames
    for rank, attempt, complete in results:
        if complete:
            atomic_write_text(commit_record(stage, rank), json.dumps({"rank": rank, "attempt": attempt}))


def publish_commits(stage: Stage, tasks: int) -> None:
    """Move every rank's committed files into the stage directory (driver side, in rank order)."""
    if storage.is_url(stage.output_dir):
        publish_object_commits(stage, tasks)
        return
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
            target = stage.writer.dropped_directory
            os.makedirs(target, exist_ok=True)
            for path in glob.glob(os.path.join(glob.escape(dropped), "shard-*")):
                os.replace(path, os.path.join(target, os.path.basename(path)))
        os.replace(part, os.path.join(parts_dir, f"{rank:05d}.json"))
    shutil.rmtree(root, ignore_errors=True)


def publish_object_commits(stage: Stage, tasks: int) -> None:
    """``publish_commits`` on an object store: copy each committed attempt's objects into place (server-side),
    its ledger part last, which is what marks the rank published; then remove every attempt."""
    root = attempt_root(stage.output_dir)
    parts_dir = storage.join(stage.output_dir, ".jacorpus", "parts")
    published = set(storage.listdir(parts_dir))
    records = set(storage.listdir(storage.join(root, "committed")))
    for rank in range(tasks):
        name = f"{rank:05d}.json"
        if name not in records:
            if name in published:
                continue  # published by an earlier (resumed) run
            raise RuntimeError(f"stage {stage.index}: rank {rank} has no committed output")
        attempt = json.loads(storage.read_text(commit_record(stage, rank)))["attempt"]
        work = attempt_dir(stage, rank, attempt)
        for path in storage.glob(storage.join(storage.escape(work), "shard-*")):
            storage.copy(path, storage.join(stage.output_dir, path.rsplit("/", 1)[-1]))
        for path in storage.glob(storage.join(storage.escape(work), "dropped", "shard-*")):
            storage.copy(path, storage.join(stage.writer.dropped_directory, path.rsplit("/", 1)[-1]))
        storage.copy(storage.join(work, ".jacorpus", "parts", name), storage.join(parts_dir, name))
    storage.rmtree(root)


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


def _task_runner(stage: Stage, world_size: int, faults: Faults | None):
    def run_partition(ranks: Iterator[int]) -> Iterator[tuple[int, bool]]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        for rank in ranks:
            attempt = f"{ctx.stageId()}-{ctx.attemptNumber()}-{uuid.uuid4().hex[:8]}"
            yield rank, attempt, run_stage_task(stage, rank, world_size, attempt, faults)

    return run_partition


def run_spark(plan: Plan, master: str | None = "local[2]", overwrite: bool = False, spark=None,
              faults: Faults | None = None) -> dict[str, Any]:
    """``faults`` (tests): a picklable callable run at each task's fault points (``stage<i>:<rank>`` after a stage
    task wrote its shards, ``global:<rank>`` after a global pass's scan task); it may raise to fail the attempt."""
    guard = claim_output_dir(plan.output_dir, plan.recipe.as_dict(), overwrite)  # held until the run ends
    guard.__enter__()
    own_session = spark is None
    spark = spark or spark_session(master, f"jacorpus:{plan.recipe.name}")
    try:
        sc = spark.sparkContext
        for stage in plan.stages:
            parts_dir = storage.join(stage.output_dir, ".jacorpus", "parts")
            done = {int(p[:5]) for p in storage.listdir(parts_dir) if p.endswith(".json")}
            todo = [rank for rank in range(plan.tasks) if rank not in done]
            if todo:
                sc.setJobDescription(f"{plan.recipe.name}: stage {stage.index}")
                runner = _task_runner(stage, plan.tasks, faults)
                # one result per rank: Spark keeps the first successful attempt's, whatever retries or twins ran
                try:
                    results = sc.parallelize(todo, numSlices=len(todo)).mapPartitions(runner).collect()
                except Exception as exc:  # noqa: BLE001 - named like a local failure: task, input, cause
                    raise spark_task_failure(exc, lambda i, stage=stage: plan.describe_task(stage, todo[i])) from exc
                commit(stage, results)
                publish_commits(stage, plan.tasks)
            if stage.global_step is not None:
                work = storage.join(plan.work_dir, f"global{stage.index}")
                run_global_pass(stage.global_step, stage.output_dir, work, SparkReducer(spark, faults))
        return finalize(plan, engine="spark")
    finally:
        if own_session:
            spark.stop()
        guard.__exit__(None, None, None)
