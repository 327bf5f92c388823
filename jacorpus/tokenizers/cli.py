"""`jacorpus dict build` and `jacorpus tokenizer train|eval`. Heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

dict_app = typer.Typer(help="Domain-term dictionaries (Sudachi / MeCab user dictionaries).", no_args_is_help=True)
tokenizer_app = typer.Typer(help="Train and evaluate tokenizers from recipes.", no_args_is_help=True)

MAX_PROBLEMS_SHOWN = 20


def _print_dict_report(report: dict, out: Path) -> None:
    from rich.console import Console

    console = Console()
    r = report
    pct = lambda a, b: f"{100 * a / b:.1f}%" if b else "-"  # noqa: E731
    base_w, base_n = r["seed_occurrences_whole_base"]
    user_w, user_n = r["seed_occurrences_whole_user_dic"]
    console.print(f"[bold]dictionary[/bold] {out}: {r['terms']['total']} terms "
                  f"({r['terms']['seed']} seed, {r['terms']['extracted']} extracted), "
                  f"user.dic {r['user_dic']['entries']} entries in {r['user_dic']['build_seconds']} s")
    mecab = r.get("mecab_user_dic") or {}
    console.print("MeCab user dictionary: " + ("mecab_user.dic compiled" if mecab.get("compiled")
                                               else f"not compiled: {mecab.get('reason')}"), markup=False)
    n = r["seed_terms_in_corpus"]
    console.print(f"seed terms occurring in the corpus: {n}")
    console.print(f"  one Sudachi word (mode {r['split_mode']}), base dictionary: {r['seed_terms_whole_base']} "
                  f"({pct(r['seed_terms_whole_base'], n)}); with user.dic: {r['seed_terms_whole_user_dic']} "
                  f"({pct(r['seed_terms_whole_user_dic'], n)})")
    console.print(f"  occurrences kept whole in context: base {base_w}/{base_n} ({pct(base_w, base_n)}), "
                  f"with user.dic {user_w}/{user_n} ({pct(user_w, user_n)})")
    problems = r["problems"]
    if problems:
        console.print(f"[yellow]{len(problems)} rows or terms left out[/yellow] (all in report.json):")
        for p in problems[:MAX_PROBLEMS_SHOWN]:
            where = f"{p['file']}:{p['line']}" if p["line"] is not None else p["file"]
            console.print(f"  {where}: {p['reason']} {p['text'][:40]!r}", markup=False)


@dict_app.command("build")
def dict_build(
    corpus: list[str] = typer.Option(..., help="Corpus output directory or text files (repeatable)."),
    out: Path = typer.Option(..., help="Output folder for terms.tsv, user.csv/user.dic, mecab_user.csv."),
    seed: list[Path] = typer.Option([], exists=True, dir_okay=False, help="Seed dictionary: MANBYO-style .csv "
                                    "or a one-term-per-line list (repeatable)."),
    mode: str = typer.Option("C", help="Sudachi split mode of the report's checks (A, B, C)."),
    extract: bool = typer.Option(True, help="Extract compound-noun terms from the corpus (C-value)."),
    min_frequency: int = typer.Option(2, min=1, help="Extracted terms: minimum frequency."),
    min_score: float = typer.Option(2.0, help="Extracted terms: minimum C-value."),
    max_terms: int = typer.Option(20000, min=0, help="Extracted terms: keep at most this many, best first."),
    max_characters: int = typer.Option(50_000_000, min=1, help="Read at most this many corpus characters."),
    cost: int = typer.Option(6000, help="Sudachi cost of a term is COST + COST_PER_CHAR * length."),
    cost_per_char: int = typer.Option(-1000, help="See --cost."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Build a domain dictionary from CORPUS and seed dictionaries."""
    from jacorpus.tokenizers.dictionary import DictionaryBuilder, DictionaryOptions

    if mode not in ("A", "B", "C"):
        raise typer.BadParameter("mode must be A, B or C", param_hint="--mode")
    options = DictionaryOptions(
        seeds=[str(s) for s in seed], mode=mode, cost=cost, cost_per_char=cost_per_char, extract=extract,
        min_frequency=min_frequency, min_score=min_score, max_terms=max_terms, max_characters=max_characters,
    )
    try:
        report = DictionaryBuilder(list(corpus), str(out), options).run(progress=progress)
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    _print_dict_report(report, out)


@tokenizer_app.command("train")
def tokenizer_train(
    recipe: Path = typer.Argument(..., exists=True, dir_okay=False, help="Tokenizer recipe YAML."),
    corpus: list[str] = typer.Option(..., help="Corpus output directory or text files (repeatable)."),
    out: Path = typer.Option(..., help="Tokenizer folder to write (loads with AutoTokenizer)."),
    dictionary: Optional[Path] = typer.Option(None, help="Override the recipe's `dictionary`."),
    user_dict: Optional[Path] = typer.Option(None, help="Override the recipe's `pretokenizer.user_dict`."),
    vocab_size: Optional[int] = typer.Option(None, help="Override the recipe's `vocab_size`."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Train the tokenizer RECIPE describes on CORPUS and write it to OUT."""
    from jacorpus.foundation.recipe_yaml import RecipeError
    from jacorpus.tokenizers.recipe import load_tokenizer_recipe
    from jacorpus.tokenizers.train import train_tokenizer

    try:
        spec = load_tokenizer_recipe(str(recipe), dictionary=dictionary, user_dict=user_dict, vocab_size=vocab_size)
    except RecipeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    try:
        summary = train_tokenizer(spec, list(corpus), str(out), progress=progress)
    except (FileNotFoundError, ValueError) as exc:  # no such corpus, or no text in it
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    except RuntimeError as exc:  # SentencePiece's check of the recipe against the corpus, as a C++ traceback
        import re

        found = re.search(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)", str(exc))
        if not found:
            raise
        typer.echo(f"error: {recipe}: vocab_size {found[1]} is below the {found[2]} characters SentencePiece must keep "
                   f"at character_coverage {spec.coverage()}; raise vocab_size or lower character_coverage",
                   err=True)
        raise typer.Exit(2)
    typer.echo(f"tokenizer {spec.name} ({spec.kind}): {summary['vocab_size']} tokens, "
               f"{summary['dictionary_terms']} dictionary terms, trained on {summary['documents']} documents "
               f"({summary['characters']} characters) in {summary['seconds']} s -> {out}")
    selection = summary.get("dictionary_selection") or {}
    for group in ("seed", "extracted"):
        if group in selection:
            g = selection[group]
            skipped = "; ".join(f"{n} {why}" for why, n in g["skipped"].items()) or "none"
            typer.echo(f"  {group} terms: {g['present']} of {g['in_dictionary']} in the sample, {g['kept']} kept "
                       f"whole; skipped: {skipped}")
    for message in summary.get("warnings", []):
        typer.echo(f"warning: {message}", err=True)


@tokenizer_app.command("extend")
def tokenizer_extend(
    base: str = typer.Argument(..., help="Base tokenizer or model folder (e.g. the model continued pretraining starts from)."),
    dictionary: Path = typer.Option(..., exists=True, help="`jacorpus dict build` folder (terms.tsv) or a term list."),
    out: Path = typer.Option(..., help="Tokenizer folder to write (the base's tokens and ids, then the new terms)."),
    corpus: Optional[list[str]] = typer.Option(None, help="Domain corpus: add only terms occurring --min-count times."),
    min_count: int = typer.Option(2, help="Occurrences in --corpus a term needs."),
    max_terms: Optional[int] = typer.Option(None, help="Add at most this many terms (seed terms first)."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code",
                                           help="Run the base folder's own tokenizer code even if it is not jacorpus's."),
) -> None:
    """Add dictionary terms as new tokens to BASE's tokenizer, for continued pretraining with `init_from`."""
    from jacorpus.tokenizers.extend import extend_tokenizer
    from jacorpus.tokenizers.loading import TokenizerTrustError

    try:
        report = extend_tokenizer(base, str(dictionary), str(out), list(corpus or []), min_count, max_terms,
                                  True if trust_remote_code else None)
    except (TokenizerTrustError, FileNotFoundError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    skipped = "; ".join(f"{n} {why}" for why, n in report["skipped"].items()) or "none"
    typer.echo(f"{report['base_size']} -> {report['size']} tokens ({report['added']} terms added; skipped: {skipped}) "
               f"-> {out}")


@tokenizer_app.command("eval")
def tokenizer_eval(
    tokenizers: list[Path] = typer.Argument(..., exists=True, file_okay=False, help="Tokenizer folders."),
    text: list[str] = typer.Option(..., help="Evaluation text: corpus directory or text files (repeatable)."),
    terms: Optional[Path] = typer.Option(None, exists=True, help="terms.tsv, a dictionary folder or a term list."),
    out: Optional[Path] = typer.Option(None, help="Folder for eval.md, eval.json and eval.png (default: print)."),
    max_documents: int = typer.Option(2000, min=1, help="Evaluate on at most this many documents."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Compare tokenizers side by side: tokens/char, tokens/word, unknowns, round trip, whole terms, speed."""
    from jacorpus.tokenizers.evaluate import evaluate_tokenizers

    try:
        table = evaluate_tokenizers([str(t) for t in tokenizers], list(text), str(terms) if terms else None,
                                    str(out) if out else None, max_documents=max_documents, progress=progress)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    typer.echo(table)
