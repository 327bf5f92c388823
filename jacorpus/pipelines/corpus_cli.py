"""`jacorpus corpus ...`: run a recipe, print a finished output's funnel."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

corpus_app = typer.Typer(help="Build corpora from recipes: read, clean, filter, dedupe, shard.", no_args_is_help=True)


def quiet_datatrove_logs() -> None:
    """datatrove logs every task start at INFO to stderr; keep warnings, the progress bar tells the rest."""
    import sys

    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")


@corpus_app.command("run")
def run(
    recipe: Path = typer.Argument(..., exists=True, dir_okay=False, help="Recipe YAML file."),
    engine: str = typer.Option("local", help="local | spark | slurm"),
    workers: int = typer.Option(1, min=1, help="Parallel tasks (local engine)."),
    output: Optional[str] = typer.Option(None, help="Output directory or URL, e.g. s3://bucket/corpus (default: the recipe's output.dir)."),
    master: str = typer.Option("local[2]", help="Spark master URL (spark engine)."),
    overwrite: bool = typer.Option(False, help="Replace an output directory that holds another recipe's output."),
    progress: bool = typer.Option(True, help="Show a progress display."),
    partition: str = typer.Option("", help="Slurm partition (slurm engine)."),
    time: str = typer.Option("24:00:00", help="Slurm time limit per job (slurm engine)."),
    cpus_per_task: int = typer.Option(1, help="Slurm CPUs per task (slurm engine)."),
    mem_per_cpu_gb: int = typer.Option(2, help="Slurm memory per CPU in GB (slurm engine)."),
    venv: str = typer.Option("", help="Path of the venv's bin/activate sourced by Slurm jobs (slurm engine)."),
) -> None:
    """Run RECIPE; rerunning after a crash resumes and gives the same output."""
    if engine == "local":  # the task processes' forkserver imports its modules while this process plans the run
        from jacorpus.pipelines.forkserver import start_early

        start_early()
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import RecipeError, load_recipe

    try:
        plan = build_plan(load_recipe(str(recipe)), str(output) if output else None)
    except RecipeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    quiet_datatrove_logs()
    from jacorpus.pipelines.inputs import EmptySourceError
    from jacorpus.pipelines.local import OutputConflictError
    from jacorpus.pipelines.supervise import TaskFailedError

    try:
        if engine == "local":
            from jacorpus.pipelines.local import run_local

            manifest = run_local(plan, workers=workers, progress=progress, overwrite=overwrite)
        elif engine == "spark":
            try:
                from jacorpus.pipelines.spark import run_spark
            except ModuleNotFoundError:
                typer.echo("the spark engine is not available in this build", err=True)
                raise typer.Exit(2)
            manifest = run_spark(plan, master=master, overwrite=overwrite)
    except OutputConflictError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    except TaskFailedError as exc:  # a task raised or its worker died: named, and the rerun resumes
        typer.echo(f"error: {exc}\nrerun the same command to resume (finished tasks are kept)", err=True)
        raise typer.Exit(1)
    except OSError as exc:  # the output folder is read-only or its disk is full: the path is in the message
        typer.echo(f"error: {exc}\nfree space or fix the folder, then rerun the same command to resume", err=True)
        raise typer.Exit(1)
    except EmptySourceError as exc:  # the manifest was written: show it, then fail
        from jacorpus.foundation.finished_corpus import load_manifest
        from jacorpus.pipelines.report import print_funnel

        print_funnel(load_manifest(plan.output_dir), plan.output_dir)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    if engine == "slurm":
        from jacorpus.pipelines.slurm import SlurmOptions, submit_slurm

        if not partition:
            typer.echo("--partition is required with --engine slurm", err=True)
            raise typer.Exit(2)
        options = SlurmOptions(partition, time, cpus_per_task, mem_per_cpu_gb, venv or None)
        jobs = submit_slurm(plan, options, overwrite=overwrite)
        typer.echo(f"submitted {len(jobs)} dependent Slurm jobs; the last ({jobs[-1].job_id}) writes the manifest")
        return
    elif engine not in ("local", "spark"):
        typer.echo(f"unknown engine {engine!r}: use local, spark or slurm", err=True)
        raise typer.Exit(2)
    from jacorpus.pipelines.report import print_funnel  # rich tables: loaded after the run, not before its first task

    print_funnel(manifest, plan.output_dir)


@corpus_app.command("stats")
def stats(directory: str = typer.Argument(..., help="A finished output directory (or URL: s3://bucket/corpus).")) -> None:
    """Print the funnel (read, kept, dropped per reason, per source, errors) of a finished output."""
    from jacorpus.foundation.finished_corpus import load_manifest
    from jacorpus.pipelines.report import print_funnel

    try:
        manifest = load_manifest(directory)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    print_funnel(manifest, directory)
