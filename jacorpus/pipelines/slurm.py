"""Slurm engine: the plan as a chain of datatrove SlurmPipelineExecutor job arrays.

stage 0 (array over input files) -> [global pass (1 task) -> next stage (array)]* -> finalize (1 task).
Each job depends on the previous one (afterok), so one ``jacorpus corpus run --engine slurm`` submits the whole
recipe and returns; resubmitting skips completed tasks like the local engine does.

Each array task runs its work in a supervised child process (``supervise.py``), as the local engine does: when the
worker dies (the OOM killer's SIGKILL, a user), the array task ends at once with status 1 and one line on its stderr
(the Slurm log) naming the task, its input file and the signal; the death is recorded, so the dependent jobs never
start (afterok), the resubmission reruns only the unfinished tasks, and an input whose worker died
``MAX_WORKER_DEATHS`` times is quarantined at the next submission (an error entry) instead of failing every one.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from datatrove.executor.slurm import SlurmPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from jacorpus.pipelines.local import check_output_dir, quarantined_inputs
from jacorpus.pipelines.plan import Plan, Stage, StageTask
from jacorpus.pipelines.supervise import DeathRecords, TaskFailedError, supervise


class SupervisedSlurmExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor whose array task runs each rank of a stage in a supervised child (see the module
    doc). ``names[rank]`` says what the task is (``stage 0 task 3 (input laws/a.txt)``); ``deaths`` (work folder,
    stage index; None for a one-task job) records a dead worker for the quarantine."""

    def __init__(self, *args: Any, names: list[str] | None = None, deaths: tuple[str, int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.names, self.deaths = names, deaths

    def _run_unsupervised(self, rank_and_node: tuple[int, int]) -> Any:
        return SlurmPipelineExecutor._run_for_rank(self, rank_and_node[0], 0, rank_and_node[1])

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> Any:
        if self.deaths is None or self.is_rank_completed(rank):
            # a one-task job (global pass, finalize) runs in the array task's own process: the pass supervises its
            # own workers (a supervised child, a daemon, could not start them), finalize only reads and writes JSON
            return super()._run_for_rank(rank, local_rank, node_rank)

        def died(task: tuple[int, int], cause: str) -> None:
            DeathRecords(self.deaths[0]).add(self.deaths[1], task[0], cause)

        try:
            # from a forkserver, as locally: the array task's process already runs fsspec's I/O thread (unpickling
            # the plan starts it), and a forked child cannot use that process's file systems
            return supervise(self._run_unsupervised, [(rank, node_rank)], 1, lambda task: self.names[task[0]],
                             on_death=died)[0]
        except TaskFailedError as exc:  # one line in the Slurm log; afterok keeps the dependent jobs from starting
            print(f"error: {exc}\nresubmit the same command to resume (finished tasks are kept)", file=sys.stderr)
            if exc.details:
                print(exc.details, file=sys.stderr)
            sys.exit(1)


class GlobalPassJob(PipelineStep):
    """Runs a stage's global pass (e.g. dedup clustering) as a one-task job, on the job's CPUs."""

    name = "global pass"
    type = "🌍 - GLOBAL"

    def __init__(self, stage: Stage, work_dir: str, workers: int) -> None:
        super().__init__()
        self.stage, self.work_dir, self.workers = stage, work_dir, workers

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from jacorpus.pipelines.local import run_global_pass_locally

        run_global_pass_locally(self.stage, self.work_dir, self.workers, progress=False)
        return
        yield


class FinalizeStep(PipelineStep):
    """Writes manifest.json and the saved-dataset metadata once every stage has finished."""

    name = "finalize"
    type = "🏁 - FINAL"

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from jacorpus.pipelines.manifest import finalize

        finalize(self.plan, engine="slurm")
        return
        yield


@dataclass
class SlurmOptions:
    partition: str
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    venv_path: str | None = None  # the venv's bin/activate, sourced by every job
    qos: str = "normal"
    sbatch_args: dict[str, Any] = field(default_factory=dict)
    # where Slurm writes the jobs' stdout/stderr (a local or shared folder): by default the work folder's logs/, or
    # ./slurm_logs when the output is a URL (s3://...), since Slurm itself writes there
    slurm_logs_dir: str | None = None


def slurm_executors(plan: Plan, options: SlurmOptions) -> list:
    common = dict(
        partition=options.partition, time=options.time, cpus_per_task=options.cpus_per_task,
        mem_per_cpu_gb=options.mem_per_cpu_gb, venv_path=options.venv_path, qos=options.qos,
        sbatch_args=options.sbatch_args,
    )
    logs = os.path.join(plan.work_dir, "logs")
    executors: list = []

    def add(pipeline: list, tasks: int, name: str, names: list[str] | None = None,
            deaths: tuple[str, int] | None = None) -> None:
        slurm_logs = os.path.join(options.slurm_logs_dir, name) if options.slurm_logs_dir else None
        executors.append(
            SupervisedSlurmExecutor(
                pipeline=pipeline, tasks=tasks, job_name=f"{plan.recipe.name}-{name}",
                logging_dir=os.path.join(logs, name), depends=executors[-1] if executors else None,
                slurm_logs_folder=slurm_logs, names=names, deaths=deaths, **common,
            )
        )

    for stage in plan.stages:
        names = [plan.describe_task(stage, rank) for rank in range(plan.tasks)]
        add([StageTask(stage, quarantined=quarantined_inputs(plan, stage))], plan.tasks, f"stage{stage.index}",
            names, (plan.work_dir, stage.index))
        if stage.global_step is not None:
            work = os.path.join(plan.work_dir, f"global{stage.index}")
            add([GlobalPassJob(stage, work, options.cpus_per_task)], 1, f"global{stage.index}")
    add([FinalizeStep(plan)], 1, "finalize")
    return executors


def submit_slurm(plan: Plan, options: SlurmOptions, overwrite: bool = False) -> list:
    """Submit every job (sbatch); returns the executors, whose ``job_id`` are set."""
    check_output_dir(plan, overwrite)
    executors = slurm_executors(plan, options)
    executors[-1].run()  # launching the last job launches its dependencies first
    return executors
