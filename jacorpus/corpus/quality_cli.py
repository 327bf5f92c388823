"""`jacorpus quality ...`: train a fastText quality classifier and measure classifiers/presets against human labels
(label files and metrics: ``quality_labels.py``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer

from jacorpus.corpus.quality_labels import LabelFile, evaluate, read_labels, rule_predictor, split_examples

quality_app = typer.Typer(help="Quality classifier training and evaluation.", no_args_is_help=True)


def print_report(title: str, metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    typer.echo(f"{title}: accuracy {metrics['accuracy']:.3f}, balanced accuracy {metrics['balanced_accuracy']:.3f} "
               f"(n={metrics['n']})")
    table = Table()
    labels = list(metrics["confusion"])
    table.add_column("true \\ predicted")
    for label in labels:
        table.add_column(label, justify="right")
    for label in labels:
        table.add_row(label, *(str(metrics["confusion"][label][p]) for p in labels))
    Console().print(table)


def print_label_file(path: str, data: LabelFile) -> None:
    counts = Counter(label for _, label in data.examples)
    typer.echo(f"{path}: {data.lines} lines -> {len(data.examples)} examples {dict(sorted(counts.items()))}; "
               f"unquoted {data.unquoted}, tabs inside text {data.inner_tabs}")
    for reason, n in sorted(data.skipped.items()):
        typer.echo(f"  skipped {n} line(s): {reason}")
    for example in data.skipped_examples:
        typer.echo(f"    e.g. {example}")


@quality_app.command("train")
def train(
    labels: Path = typer.Option(..., "--labels", exists=True, dir_okay=False, help="text<TAB>label lines or JSONL"),
    out: Path = typer.Option(..., "--out", help="model file to write (.bin); a .json sidecar goes next to it"),
    test_fraction: float = typer.Option(0.2, "--test-fraction", min=0.0, max=0.9),
    seed: int = typer.Option(1, "--seed"),
    epoch: int = typer.Option(50, "--epoch"),
    lr: float = typer.Option(0.5, "--lr", help="halved and retried if fastText diverges (NaN)"),
    word_ngrams: int = typer.Option(2, "--wordNgrams", "--word-ngrams"),
    dim: int = typer.Option(50, "--dim"),
    minn: int = typer.Option(1, "--minn", help="shortest character n-gram of a word (0: words only)"),
    maxn: int = typer.Option(2, "--maxn"),
) -> None:
    """Train a fastText classifier on Sudachi words and report held-out accuracy."""
    from jacorpus.corpus.classifier import label_scores, sidecar_path, train_fasttext
    from jacorpus.corpus.language import load_fasttext

    data = read_labels(str(labels))
    print_label_file(str(labels), data)
    train_set, test_set = split_examples(data.examples, test_fraction, seed)
    if len({label for _, label in train_set}) < 2:
        raise typer.BadParameter("need at least two labels with training examples", param_hint="--labels")
    typer.echo(f"training on {len(train_set)}, holding out {len(test_set)} (seed {seed})")
    info = train_fasttext(
        train_set, str(out), epoch=epoch, lr=lr, word_ngrams=word_ngrams, dim=dim, minn=minn, maxn=maxn, seed=seed
    )
    if len(info["attempts"]) > 1:
        typer.echo(f"fastText diverged (NaN) {len(info['attempts']) - 1} time(s); trained with lr {info['params']['lr']}")
    info["label_file"] = data.summary()
    if test_set:
        model = load_fasttext(str(out))
        predicted = [max(s.items(), key=lambda kv: kv[1])[0] for s in (label_scores(model, t) for t, _ in test_set)]
        info["held_out"] = evaluate([label for _, label in test_set], predicted)
        print_report("held-out", info["held_out"])
    Path(sidecar_path(str(out))).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(f"model: {out}")


@quality_app.command("eval")
def eval_labels(
    labels: Path = typer.Option(..., "--labels", exists=True, dir_okay=False),
    preset: list[str] = typer.Option([], "--preset", help="quality preset(s) to score: keep = good, drop = bad"),
    model: Optional[Path] = typer.Option(None, "--model", exists=True, dir_okay=False),
    disable: list[str] = typer.Option([], "--disable", help="quality rule(s) to switch off for --preset"),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="0 scores every example"),
    seed: int = typer.Option(1, "--seed"),
    good: str = typer.Option("good", "--good", help="the label that a kept document should have"),
    bad: str = typer.Option("bad", "--bad"),
    report: Optional[Path] = typer.Option(None, "--report", help="write the metrics as JSON"),
) -> None:
    """Balanced accuracy of presets and/or a classifier against human labels (same held-out split as `train`)."""
    data = read_labels(str(labels))
    print_label_file(str(labels), data)
    _, test_set = split_examples(data.examples, test_fraction, seed) if test_fraction > 0 else ([], data.examples)
    truth = [label for _, label in test_set]
    results: dict[str, Any] = {}
    for name in preset:
        predict = rule_predictor(name, {rule: None for rule in disable}, good, bad)
        results[name] = evaluate(truth, [predict(text) for text, _ in test_set])
    if model is not None:
        from jacorpus.corpus.classifier import label_scores
        from jacorpus.corpus.language import load_fasttext

        ft = load_fasttext(str(model))
        predicted = [max(s.items(), key=lambda kv: kv[1])[0] for s in (label_scores(ft, t) for t, _ in test_set)]
        results[f"classifier:{model.name}"] = evaluate(truth, predicted)
    for name, metrics in results.items():
        print_report(name, metrics)
    if report is not None:
        report.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
