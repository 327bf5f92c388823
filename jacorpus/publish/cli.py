"""Top-level commands `jacorpus card` and `jacorpus publish`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def card(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, help="A finished corpus output."),
    name: Optional[str] = typer.Option(None, help="Pretty name for the card (default: the recipe name)."),
    max_file_mb: int = typer.Option(500, min=1, help="Size bound of each Parquet file for the Hub (MB of Arrow data)."),
) -> None:
    """Write DIR/README.md, a Hugging Face dataset card, with plots and Parquet data files for the Hub."""
    from jacorpus.publish.card import write_card

    path, notes = write_card(str(directory), name, max_file_mb * 1000 * 1000)
    for note in notes:
        typer.echo(f"warning: {note}", err=True)
    typer.echo(f"dataset card: {path}")


def publish(
    directory: Path = typer.Argument(..., exists=True, file_okay=False),
    repo_id: str = typer.Option(..., "--repo-id", help="ORG/NAME on the Hub."),
    type: str = typer.Option("dataset", "--type", help="dataset | model | tokenizer"),
    private: bool = typer.Option(False, help="Create the repo as private."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be uploaded; no network."),
    revision: Optional[str] = typer.Option(None, help="Branch to upload to."),
) -> None:
    """Upload DIR to the Hugging Face Hub (token from HF_TOKEN or your login; never shown)."""
    from jacorpus.publish.hub import PublishError, planned_files
    from jacorpus.publish.hub import publish as upload

    if type not in ("dataset", "model", "tokenizer"):
        typer.echo("--type must be dataset, model or tokenizer", err=True)
        raise typer.Exit(2)
    repo_type = "model" if type == "tokenizer" else type
    try:
        files = planned_files(str(directory), type)
        if dry_run:
            for f in files:
                typer.echo(f"{f.size:>14,}  {f.path}")
            typer.echo(f"{sum(f.size for f in files):>14,}  total: {len(files)} files -> {repo_type} {repo_id}"
                       + (f"@{revision}" if revision else "") + (" (private)" if private else "") + " [dry run]")
            return
        url = upload(str(directory), repo_id, repo_type, private, revision)
    except PublishError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    typer.echo(f"published: {url}")
