"""`jacorpus train ...`: prepare token shards, run a training recipe."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

train_app = typer.Typer(help="Token shards and the DeepSpeed trainer: prepare, run.", no_args_is_help=True)


def parse_mix(entry: str) -> tuple[str, float]:
    path, sep, weight = entry.rpartition(":")
    if not sep or not path:
        raise typer.BadParameter(f"--mix takes DIR:WEIGHT, got {entry!r}")
    try:
        return path, float(weight)
    except ValueError:
        raise typer.BadParameter(f"--mix weight must be a number, got {weight!r}") from None


@train_app.command("prepare")
def prepare_cmd(
    corpus: List[Path] = typer.Option([], "--corpus", help="A corpus output folder (weight 1). Repeatable."),
    mix: List[str] = typer.Option([], "--mix", help="DIR:WEIGHT, a corpus with a mixing weight (e.g. wiki:10). Repeatable."),
    tokenizer: Path = typer.Option(..., "--tokenizer", exists=True, file_okay=False, help="Tokenizer folder (AutoTokenizer)."),
    seq_len: int = typer.Option(..., "--seq-len", min=8, help="Tokens per packed sequence."),
    out: Path = typer.Option(..., "--out", help="Output folder of token shards."),
    objective: str = typer.Option("clm", "--objective", help="clm | mlm (cls ... sep sequences)."),
    wwm: bool = typer.Option(False, "--wwm", help="Record word starts for whole-word masking."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel tokenizer processes."),
    chunk_rows: int = typer.Option(2000, "--chunk-rows", min=1, help="Documents per work unit (and resume granularity)."),
    overwrite: bool = typer.Option(False, help="Replace token shards made from another request."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code",
                                           help="Run the tokenizer folder's own Python code even when it is not "
                                                "byte-identical to jacorpus's (read it first)."),
) -> None:
    """Tokenize corpora into packed, memory-mappable token shards (resumable)."""
    from jacorpus.train.prepare import PrepareJob, prepare

    corpora = [(str(c), 1.0) for c in corpus] + [parse_mix(m) for m in mix]
    if not corpora:
        raise typer.BadParameter("give at least one --corpus DIR or --mix DIR:WEIGHT")
    for path, _ in corpora:
        if not os.path.isdir(path):
            raise typer.BadParameter(f"corpus folder not found: {path}")
    job = PrepareJob(corpora=corpora, tokenizer=str(tokenizer), seq_len=seq_len, out=str(out), objective=objective,
                     wwm=wwm, workers=workers, chunk_rows=chunk_rows,
                     trust_remote_code=True if trust_remote_code else None)
    try:
        manifest = prepare(job, progress=progress, overwrite=overwrite)
    except (ValueError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    for source in manifest["sources"]:
        typer.echo(f"{source['name']}: {source['documents']:,} documents, {source['sequences']:,} sequences, "
                   f"{source['tokens']:,} tokens, weight {source['weight']:g}")
    typer.echo(f"{manifest['sequences']:,} sequences x {manifest['seq_len']} tokens ({manifest['dtype']}) at {out}")


@train_app.command("run")
def run_cmd(
    recipe: Path = typer.Argument(..., exists=True, dir_okay=False, help="Training recipe YAML."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Override max_steps (the LR schedule follows)."),
    output: Optional[Path] = typer.Option(None, "--output", help="Override the output folder."),
    stop_after: Optional[int] = typer.Option(None, "--stop-after", min=1, help="Stop after this step, keeping checkpoints (resume later)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    local_rank: Optional[int] = typer.Option(None, "--local_rank", "--local-rank", hidden=True, help="Set by the deepspeed launcher."),
) -> None:
    """Train (resuming from OUTPUT's newest intact checkpoint) and export OUTPUT/final."""
    from jacorpus.foundation.recipe_yaml import RecipeError
    from jacorpus.train.config import load_train_recipe

    overrides: dict = {}
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    if output is not None:
        overrides["output"] = str(output.resolve())
    try:
        spec = load_train_recipe(str(recipe), overrides)
    except RecipeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    from jacorpus.tokenizers.loading import TokenizerTrustError
    from jacorpus.train.trainer import TrainInputError, train

    try:
        summary = train(spec, stop_after=stop_after, progress=progress)
    except (FileNotFoundError, TrainInputError, TokenizerTrustError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if int(os.environ.get("RANK", "0")) == 0:
        if summary.get("stopped"):
            typer.echo(f"stopped after step {summary['step']}; rerun to resume from {summary['output']}/checkpoints")
        else:
            typer.echo(f"trained {summary['step']} steps; model exported to {summary['export']}")
