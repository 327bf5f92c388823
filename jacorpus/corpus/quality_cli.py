"""`jacorpus quality ...`: train a quality classifier (fastText or linear; human labels and/or reference-vs-web text)
and measure classifiers/presets against human labels (label files and metrics: ``quality_labels.py``)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional

import typer

from jacorpus.corpus.quality_labels import (
    LabelFile, calibration, evaluate, read_labels, rule_predictor, split_examples,
)

quality_app = typer.Typer(help="Quality classifier training and evaluation.", no_args_is_help=True)


def plot_calibration(curves: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for name, curve in curves.items():
        xs = [r["mean_score"] for r in curve["bins"]]
        ys = [r["positive_rate"] for r in curve["bins"]]
        ax.plot(xs, ys, marker="o", label=f"{name} (ECE {curve['ece']:.3f})")
    positive = next(iter(curves.values()))["positive"]
    ax.set_xlabel(f"predicted P({positive})")
    ax.set_ylabel(f"share labelled {positive}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_report(title: str, metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    ci = metrics.get("balanced_accuracy_ci95")
    interval = f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci else ""
    typer.echo(f"{title}: accuracy {metrics['accuracy']:.3f}, balanced accuracy {metrics['balanced_accuracy']:.3f}"
               f"{interval} (n={metrics['n']})")
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


def paragraph_chunks(text: str, rng: random.Random, low: int = 150, high: int = 900) -> list[str]:
    """A document cut at line ends into pieces of ``low``..``high`` characters (the length, drawn per piece,
    spans the 10th-90th percentile of the mC4-ja paragraphs, 297-860): reference and web text then look like the
    paragraphs the classifier scores, not like whole pages. Lines are joined with a space, as in mC4."""
    out, current, size, target = [], [], 0, rng.randint(low, high)
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        current.append(line)
        size += len(line)
        if size >= target:
            out.append(" ".join(current))
            current, size, target = [], 0, rng.randint(low, high)
    if current and size >= low // 2:
        out.append(" ".join(current))
    return out


def corpus_chunks(paths: Iterable[Path], max_chunks: int, seed: int, option: str) -> list[str]:
    """Paragraph-size pieces of finished corpus folders, a random ``max_chunks`` of them."""
    from jacorpus.corpus.lm_cli import finished_corpus_texts

    rng = random.Random(seed)
    texts = finished_corpus_texts(list(paths), None, None, option)
    pieces = [piece for text in texts for piece in paragraph_chunks(text, rng)]
    rng.shuffle(pieces)
    return pieces[:max_chunks]


def held_out_scores(model_path: str, texts: list[str]) -> list[dict[str, float]]:
    from jacorpus.corpus.classifier import label_scores, load_classifier

    model = load_classifier(model_path)
    return [label_scores(model, t) for t in texts]


def report_on(title: str, examples: list[tuple[str, str]], model_path: str, good: str,
              curves: dict[str, dict[str, Any]]) -> dict[str, Any]:
    scores = held_out_scores(model_path, [t for t, _ in examples])
    truth = [label for _, label in examples]
    metrics = evaluate(truth, [max(s.items(), key=lambda kv: kv[1])[0] for s in scores])
    if all(good in s for s in scores):
        metrics["calibration"] = curves[title] = calibration(truth, [s[good] for s in scores], good)
    print_report(title, metrics)
    return metrics


@quality_app.command("train")
def train(
    labels: Optional[Path] = typer.Option(None, "--labels", exists=True, dir_okay=False,
                                          help="human labels: text<TAB>label lines or JSONL (a share is held out)"),
    reference: list[Path] = typer.Option([], "--reference", help="curated text (a finished corpus folder), "
                                         "labelled --good: the reference-vs-web recipe. Repeatable"),
    web: list[Path] = typer.Option([], "--web", help="raw web text (a finished corpus folder), labelled --bad. Repeatable"),
    out: Path = typer.Option(..., "--out", help="model file: .bin (fastText) or .joblib (linear); a .json sidecar goes next to it"),
    kind: str = typer.Option("", "--kind", help="fasttext | linear (default: by --out's extension)"),
    eval_labels: Optional[Path] = typer.Option(None, "--eval-labels", exists=True, dir_okay=False,
                                               help="labels scored whole after training (never trained on)"),
    calibration_plot: Optional[Path] = typer.Option(None, "--calibration", help="write a reliability plot (PNG)"),
    max_chunks: int = typer.Option(5000, "--max-chunks", min=1, help="paragraph pieces per side of --reference/--web"),
    good: str = typer.Option("good", "--good"),
    bad: str = typer.Option("bad", "--bad"),
    test_fraction: float = typer.Option(0.2, "--test-fraction", min=0.0, max=0.9),
    seed: int = typer.Option(1, "--seed"),
    epoch: int = typer.Option(50, "--epoch"),
    lr: float = typer.Option(0.5, "--lr", help="halved and retried if fastText diverges (NaN)"),
    word_ngrams: int = typer.Option(2, "--wordNgrams", "--word-ngrams"),
    dim: int = typer.Option(50, "--dim"),
    minn: int = typer.Option(1, "--minn", help="shortest character n-gram of a word (0: words only)"),
    maxn: int = typer.Option(2, "--maxn"),
    c: float = typer.Option(16.0, "--C", help="linear: inverse L2 strength"),
) -> None:
    """Train a quality classifier on human labels and/or reference-vs-web text; report held-out balanced accuracy
    with 95 % bootstrap intervals (and a calibration plot)."""
    from jacorpus.corpus.classifier import LINEAR_SUFFIX, sidecar_path, train_fasttext, train_linear

    kind = kind or ("linear" if str(out).endswith(LINEAR_SUFFIX) else "fasttext")
    if kind not in ("fasttext", "linear"):
        raise typer.BadParameter("fasttext or linear", param_hint="--kind")
    if (kind == "linear") != str(out).endswith(LINEAR_SUFFIX):
        raise typer.BadParameter(f"a {kind} model's file must {'' if kind == 'linear' else 'not '}end in {LINEAR_SUFFIX}",
                                 param_hint="--out")
    if labels is None and not (reference and web):
        raise typer.BadParameter("give --labels, or --reference and --web (or all three)", param_hint="--labels")
    train_set: list[tuple[str, str]] = []
    test_set: list[tuple[str, str]] = []
    sources: dict[str, Any] = {}
    if labels is not None:
        data = read_labels(str(labels))
        print_label_file(str(labels), data)
        train_set, test_set = split_examples(data.examples, test_fraction, seed)
        sources["label_file"] = data.summary()
    if reference or web:
        if not (reference and web):
            raise typer.BadParameter("the reference-vs-web recipe needs both --reference and --web", param_hint="--web")
        positives = corpus_chunks(reference, max_chunks, seed, "--reference")
        negatives = corpus_chunks(web, max_chunks, seed, "--web")
        if not positives or not negatives:
            raise typer.BadParameter(f"no text read: {len(positives)} reference and {len(negatives)} web pieces")
        typer.echo(f"reference-vs-web: {len(positives)} reference pieces ({good}), {len(negatives)} web pieces ({bad})")
        train_set += [(t, good) for t in positives] + [(t, bad) for t in negatives]
        sources["reference"] = {"paths": [str(p) for p in reference], "pieces": len(positives)}
        sources["web"] = {"paths": [str(p) for p in web], "pieces": len(negatives)}
    if len({label for _, label in train_set}) < 2:
        raise typer.BadParameter("need at least two labels with training examples", param_hint="--labels")
    typer.echo(f"training a {kind} model on {len(train_set)}, holding out {len(test_set)} (seed {seed})")
    if kind == "linear":
        info = train_linear(train_set, str(out), c=c)
    else:
        info = train_fasttext(train_set, str(out), epoch=epoch, lr=lr, word_ngrams=word_ngrams, dim=dim, minn=minn,
                              maxn=maxn, seed=seed)
        if len(info["attempts"]) > 1:
            typer.echo(f"fastText diverged (NaN) {len(info['attempts']) - 1} time(s); trained with lr {info['params']['lr']}")
    info.update(sources)
    curves: dict[str, dict[str, Any]] = {}
    if test_set:
        info["held_out"] = report_on("held-out", test_set, str(out), good, curves)
    if eval_labels is not None:
        extra = read_labels(str(eval_labels))
        print_label_file(str(eval_labels), extra)
        trained_on = {t for t, _ in train_set}
        unseen = [(t, label) for t, label in extra.examples if t not in trained_on]
        if len(unseen) < len(extra.examples):
            typer.echo(f"  {len(extra.examples) - len(unseen)} --eval-labels text(s) were trained on: left out")
        info["eval_labels"] = report_on(f"eval-labels {eval_labels.name}", unseen, str(out), good, curves)
    if calibration_plot is not None and curves:
        plot_calibration(curves, calibration_plot)
        typer.echo(f"calibration plot: {calibration_plot}")
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
    calibration_plot: Optional[Path] = typer.Option(None, "--calibration", help="reliability plot of --model (PNG)"),
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
    for name, metrics in results.items():
        print_report(name, metrics)
    if model is not None:
        curves: dict[str, dict[str, Any]] = {}
        results[f"classifier:{model.name}"] = report_on(f"classifier:{model.name}", test_set, str(model), good, curves)
        if calibration_plot is not None and curves:
            plot_calibration(curves, calibration_plot)
    if report is not None:
        report.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
