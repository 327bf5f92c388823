"""`jacorpus quality ...`: train a fastText quality classifier and measure classifiers/presets against human labels.

Label files: ``text<TAB>label`` lines (the label is the last field; a text wrapped in CSV-style quotes is unwrapped;
tabs left inside a text become spaces) or JSON lines with ``text`` and ``label``. Every line that cannot be used is
counted and reported by reason. The held-out split is stratified by label and decided by a hash of (seed, text),
so it does not depend on file order and identical texts never straddle it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

import typer

if TYPE_CHECKING:
    import numpy as np

quality_app = typer.Typer(help="Quality classifier training and evaluation.", no_args_is_help=True)


@dataclass
class LabelFile:
    examples: list[tuple[str, str]] = field(default_factory=list)  # distinct texts, one label each
    lines: int = 0
    unquoted: int = 0  # texts that were wrapped in (or started with a stray) double quote
    inner_tabs: int = 0  # texts with tabs inside, turned into spaces
    skipped: Counter = field(default_factory=Counter)  # reason -> lines
    skipped_examples: list[str] = field(default_factory=list)  # "line N: reason", the first few

    def skip(self, number: int, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(f"line {number}: {reason}")

    def summary(self) -> dict[str, Any]:
        return {"lines": self.lines, "examples": len(self.examples), "unquoted": self.unquoted,
                "inner_tabs": self.inner_tabs, "skipped": dict(self.skipped), "skipped_examples": self.skipped_examples}


def _parse_tsv(line: str) -> tuple[str, str] | str:
    if "\t" not in line:
        return "no_tab"
    text, _, label = line.rpartition("\t")
    return text, label.strip()


def _parse_json(line: str) -> tuple[str, str] | str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return "invalid_json"
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) or record.get("label") is None:
        return "missing_text_or_label"
    return record["text"], str(record["label"]).strip()


def read_labels(path: str) -> LabelFile:
    result = LabelFile()
    with open(path, encoding="utf-8", errors="replace") as fh:
        raw = [line.removesuffix("\r") for line in fh.read().split("\n")]  # not splitlines: texts may hold U+2028
    is_json = path.endswith((".jsonl", ".json")) or next((x for x in raw if x.strip()), "").lstrip().startswith("{")
    labels_of: dict[str, list[str]] = defaultdict(list)
    for number, line in enumerate(raw, 1):
        if not line.strip():
            continue
        result.lines += 1
        parsed = _parse_json(line) if is_json else _parse_tsv(line)
        if isinstance(parsed, str):
            result.skip(number, parsed)
            continue
        text, label = parsed
        if not is_json and text.startswith('"'):
            quoted = len(text) > 1 and text.endswith('"')
            text = text[1:-1].replace('""', '"') if quoted else text[1:]
            result.unquoted += 1
        if not is_json and "\t" in text:
            result.inner_tabs += 1
            text = text.replace("\t", " ")
        if not label or any(ch.isspace() for ch in label):
            result.skip(number, "bad_label")
        elif not text.strip():
            result.skip(number, "empty_text")
        else:
            labels_of[text].append(label)
    for text, labels in labels_of.items():
        if len(set(labels)) > 1:
            result.skipped["conflicting_labels"] += len(labels)
            continue
        result.skipped["duplicate_text"] += len(labels) - 1
        result.examples.append((text, labels[0]))
    result.skipped = Counter({k: v for k, v in result.skipped.items() if v})
    return result


def split_examples(
    examples: list[tuple[str, str]], test_fraction: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Stratified, order-independent split: per label, the texts with the smallest hash(seed, text) are held out."""
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for example in examples:
        by_label[example[1]].append(example)
    train, test = [], []
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda e: hashlib.blake2b(f"{seed}\0{e[0]}".encode()).digest())
        n_test = round(len(group) * test_fraction)
        test.extend(group[:n_test])
        train.extend(group[n_test:])
    return train, test


def _balanced(truth: np.ndarray, predicted: np.ndarray, labels: list[str]) -> float:
    import numpy as np

    recalls = [np.mean(predicted[truth == t] == t) for t in labels if np.any(truth == t)]
    return float(np.mean(recalls)) if recalls else 0.0


def evaluate(truth: list[str], predicted: list[str], rounds: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Accuracy, balanced accuracy (mean per-label recall) with a 95 % bootstrap interval (``rounds`` resamples of
    the examples, a fixed seed: the same input gives the same interval) and the confusion table
    {true: {predicted: n}}."""
    labels = sorted(set(truth) | set(predicted))
    table = {t: {p: 0 for p in labels} for t in labels}
    for t, p in zip(truth, predicted):
        table[t][p] += 1
    recalls = [table[t][t] / sum(table[t].values()) for t in sorted(set(truth))]
    correct = sum(table[t][t] for t in labels)
    result = {"n": len(truth), "accuracy": correct / len(truth) if truth else 0.0,
              "balanced_accuracy": sum(recalls) / len(recalls) if recalls else 0.0, "confusion": table}
    if truth and rounds:
        import numpy as np

        t, p = np.asarray(truth), np.asarray(predicted)
        rng = np.random.default_rng(seed)
        draws = [_balanced(t[i], p[i], sorted(set(truth))) for i in rng.integers(0, len(t), (rounds, len(t)))]
        result["balanced_accuracy_ci95"] = [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]
    return result


def calibration(truth: list[str], scores: list[float], positive: str, bins: int = 10) -> dict[str, Any]:
    """Reliability table of P(positive): per equal-width score bin, the mean score and the share truly positive;
    ECE = the count-weighted mean gap."""
    import numpy as np

    s, y = np.asarray(scores, dtype=np.float64), np.asarray([t == positive for t in truth], dtype=np.float64)
    which = np.minimum((s * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append({"bin": [b / bins, (b + 1) / bins], "n": int(mask.sum()),
                         "mean_score": float(s[mask].mean()), "positive_rate": float(y[mask].mean())})
    ece = sum(r["n"] * abs(r["mean_score"] - r["positive_rate"]) for r in rows) / max(len(s), 1)
    return {"positive": positive, "bins": rows, "ece": float(ece)}


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


def rule_predictor(preset: str, overrides: dict[str, Any], keep_label: str, drop_label: str) -> Callable[[str], str]:
    from jacorpus.corpus.quality import QualityOptions, active_rules, first_failing_rule

    options = QualityOptions.model_validate({"preset": preset, **overrides})
    rules, stop_words = active_rules(options), frozenset(options.stop_words)
    return lambda text: keep_label if first_failing_rule(text, rules, stop_words) is None else drop_label


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


def corpus_chunks(paths: Iterable[Path], max_chunks: int, seed: int) -> list[str]:
    """Paragraph-size pieces of corpora (finished corpus folders or text files), a random ``max_chunks`` of them."""
    # the one reader of corpora and text files lives with the tokenizer trainers; imported at run time
    from jacorpus.tokenizers.corpus_text import iter_texts

    rng = random.Random(seed)
    pieces = [piece for text in iter_texts([str(p) for p in paths]) for piece in paragraph_chunks(text, rng)]
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
    reference: list[Path] = typer.Option([], "--reference", help="curated text (corpus folder or text file), "
                                         "labelled --good: the reference-vs-web recipe. Repeatable"),
    web: list[Path] = typer.Option([], "--web", help="raw web text, labelled --bad. Repeatable"),
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
        positives, negatives = corpus_chunks(reference, max_chunks, seed), corpus_chunks(web, max_chunks, seed)
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


# -- `jacorpus lm ...`: the n-gram model of the `perplexity` step ----------------------------------------------------
lm_app = typer.Typer(help="N-gram language models for the `perplexity` step: train, cutoffs.", no_args_is_help=True)


def _corpus_texts(corpus: list[Path], max_documents: Optional[int], max_chars: Optional[int]):
    # the one reader of finished corpora (batch by batch, every shard sampled under a cap) lives with the tokenizer
    # trainers, its first users; imported here, at run time, rather than written twice
    from jacorpus.tokenizers.corpus_text import SampleCap, is_corpus_dir, iter_texts

    for path in corpus:
        if not is_corpus_dir(str(path)):
            raise typer.BadParameter(f"not a jacorpus output folder (no state.json or shards): {path}",
                                     param_hint="--corpus")
    return iter_texts([str(p) for p in corpus], SampleCap(documents=max_documents, characters=max_chars))


@lm_app.command("train")
def lm_train(
    corpus: list[Path] = typer.Option(..., "--corpus", help="a finished corpus folder (e.g. its Wikipedia output); repeatable"),
    out: Path = typer.Option(..., "--out", help="model folder to write (sp.model, lm.arpa, lm.json)"),
    order: int = typer.Option(5, "--order", min=2, max=6, help="n-gram order (cc_net: 5)"),
    vocab_size: int = typer.Option(8000, "--vocab-size", min=100, help="SentencePiece pieces (a soft limit)"),
    max_documents: Optional[int] = typer.Option(None, "--max-documents", min=1),
    max_chars: Optional[int] = typer.Option(50_000_000, "--max-chars", min=1, help="sampling cap on characters"),
) -> None:
    """Train SentencePiece and a modified Kneser-Ney n-gram model (ARPA, queried with KenLM) on a corpus."""
    from jacorpus.corpus.lm import DiscountError, train_lm

    texts = _corpus_texts(corpus, max_documents, max_chars)
    try:
        meta = train_lm(texts, str(out), order=order, vocab_size=vocab_size, corpus=",".join(map(str, corpus)))
    except (DiscountError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{meta['documents']:,} documents, {meta['paragraphs']:,} lines, {meta['tokens']:,} tokens; "
               f"n-grams by order {meta['ngrams']}; model: {out}")


@lm_app.command("cutoffs")
def lm_cutoffs(
    model: Path = typer.Option(..., "--model", exists=True, file_okay=False, help="folder from `jacorpus lm train`"),
    corpus: list[Path] = typer.Option(..., "--corpus", help="the corpus to be filtered (cc_net: the language's crawl)"),
    max_documents: Optional[int] = typer.Option(100_000, "--max-documents", min=1),
) -> None:
    """Document perplexity percentiles 1..99 over a corpus, into MODEL/percentiles.json (for `buckets.percentiles`)."""
    from jacorpus.corpus.lm import PERCENTILES, LanguageModel, corpus_percentiles

    lm = LanguageModel(str(model))
    try:
        table = corpus_percentiles(lm, _corpus_texts(corpus, max_documents, None), ",".join(map(str, corpus)))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    (model / PERCENTILES).write_text(json.dumps(table, indent=2), encoding="utf-8")
    p = table["percentiles"]
    typer.echo(f"{table['documents']:,} documents: 30th percentile {p['30']:.1f}, 60th {p['60']:.1f}; "
               f"written to {model / PERCENTILES}")
