"""`jacorpus eval ...`: lm, jglue, classify, mcqa, compare."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator, List, Optional

import typer

eval_app = typer.Typer(help="Evaluate models: LM scores, JGLUE, classification, medical multiple choice.", no_args_is_help=True)

OUTPUT = typer.Option(None, help="Write OUTPUT/results.json and per-example predictions (default: MODEL_DIR/eval).")
TRUST = typer.Option(False, "--trust-remote-code",
                     help="Run the tokenizer code a model folder ships even when it is not jacorpus's own exported code.")
PROGRESS = typer.Option(True, "--progress/--no-progress")


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Input problems (a missing split, code that needs trust, a vocabulary mismatch) end as one line naming the
    flag to change, exit code 2, not a traceback."""
    from jacorpus.evaluate.models import EvalInputError
    from jacorpus.tokenizers.loading import TokenizerTrustError

    try:
        yield
    except (EvalInputError, TokenizerTrustError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _trust(flag: bool) -> bool | None:
    return True if flag else None  # None: jacorpus's own tokenizer code only


def _finish(model_dir: Path, output: Optional[Path], task: str, metrics: dict, predictions: list) -> None:
    from jacorpus.evaluate.results import update_model_card, write_results

    out = str(output or model_dir / "eval")
    path = write_results(out, task, metrics, predictions)
    update_model_card(str(model_dir), task, metrics)
    typer.echo(json.dumps({task: metrics}, ensure_ascii=False))
    typer.echo(f"results: {path}")


def _texts(path: Path, limit: int) -> list[str]:
    """Blank-line separated blocks of a text file, or of the .txt files of a folder."""
    files = sorted(path.rglob("*.txt")) if path.is_dir() else [path]
    texts: list[str] = []
    for file in files:
        for block in file.read_text(encoding="utf-8", errors="replace").split("\n\n"):
            if block.strip():
                texts.append(block.strip())
            if len(texts) >= limit:
                return texts
    return texts


@eval_app.command("lm")
def lm(model_dir: Path = typer.Argument(..., exists=True, file_okay=False),
       text: Path = typer.Option(..., exists=True, help="Held-out text: a file, a folder of .txt files, or a jacorpus output dir."),
       max_docs: int = typer.Option(200), wwm: bool = typer.Option(False, help="Mask whole Sudachi words (MLM)."),
       trust_remote_code: bool = TRUST, progress: bool = PROGRESS, output: Optional[Path] = OUTPUT) -> None:
    """CLM perplexity, or MLM masked-token accuracy and pseudo-perplexity; long texts in windows of the model's
    context."""
    from jacorpus.evaluate.scoring import clm_perplexity, mlm_scores

    with one_line_errors():
        from jacorpus.evaluate.models import EvalInputError, load_lm

        info, model = load_lm(str(model_dir), _trust(trust_remote_code))
        if (text / "manifest.json").exists() or (text / "state.json").exists():  # a jacorpus corpus (Arrow or Parquet)
            from jacorpus.foundation.finished_corpus import open_corpus

            ds = open_corpus(str(text))
            texts = ds.select(range(min(max_docs, len(ds))))["text"]
        else:
            texts = _texts(text, max_docs)
        if not texts:
            raise EvalInputError(f"{text}: no text to evaluate on (--text)")
        if info.causal:
            metrics = clm_perplexity(info.tokenizer, model, texts, info.max_tokens, progress)
        else:
            word_ids_fn = None
            if wwm:
                from jacorpus.tokenizers.wwm import word_ids as word_ids_fn
            metrics = mlm_scores(info.tokenizer, model, texts, info.max_tokens, word_ids_fn=word_ids_fn, progress=progress)
    _finish(model_dir, output, "lm", metrics, [])


@eval_app.command("jglue")
def jglue(model_dir: Path = typer.Argument(..., exists=True, file_okay=False),
          task: str = typer.Option(..., help="jsts | jnli | jcommonsenseqa"),
          data: Path = typer.Option(..., exists=True, file_okay=False, help="JGLUE datasets folder (<task>-v1.3/...)."),
          split: str = typer.Option("valid", help="valid | test"), train_split: str = typer.Option("train"),
          train_data: Optional[Path] = typer.Option(None, exists=True, file_okay=False,
                                                    help="Folder with the training split, when --data holds only the evaluation split."),
          max_train_examples: int = typer.Option(0, help="0 = all"), max_eval_examples: int = typer.Option(0),
          epochs: int = typer.Option(1), lr: float = typer.Option(5e-5), seed: int = typer.Option(1),
          trust_remote_code: bool = TRUST, progress: bool = PROGRESS, output: Optional[Path] = OUTPUT) -> None:
    """Fine-tune an encoder (or score a causal model zero-shot on JCommonsenseQA) and report the official metrics."""
    from jacorpus.evaluate.tasks import run_jglue

    with one_line_errors():
        metrics, predictions = run_jglue(str(model_dir), task, str(data), split, train_split, max_train_examples,
                                         max_eval_examples, epochs, lr, seed, str(train_data) if train_data else None,
                                         _trust(trust_remote_code), progress)
    _finish(model_dir, output, task, metrics, predictions)


@eval_app.command("classify")
def classify(model_dir: Path = typer.Argument(..., exists=True, file_okay=False),
             train: Path = typer.Option(..., exists=True), test: Path = typer.Option(..., exists=True),
             max_train_examples: int = typer.Option(0), epochs: int = typer.Option(3), lr: float = typer.Option(5e-5),
             seed: int = typer.Option(1), trust_remote_code: bool = TRUST, progress: bool = PROGRESS,
             output: Optional[Path] = OUTPUT) -> None:
    """Text classification fine-tuning: accuracy and macro-F1."""
    from jacorpus.evaluate.tasks import run_classify

    with one_line_errors():
        metrics, predictions = run_classify(str(model_dir), str(train), str(test), max_train_examples, epochs, lr, seed,
                                            _trust(trust_remote_code), progress)
    _finish(model_dir, output, "classify", metrics, predictions)


@eval_app.command("mcqa")
def mcqa(model_dir: Path = typer.Argument(..., exists=True, file_okay=False),
         data: Path = typer.Option(..., exists=True, help="IgakuQA folder/JSONL or JMMLU-style CSV."),
         max_examples: int = typer.Option(0, help="0 = all; otherwise a sample drawn with --seed."),
         seed: int = typer.Option(1), trust_remote_code: bool = TRUST, progress: bool = PROGRESS,
         name: Optional[str] = typer.Option(None, help="Task name in results.json and the model card (default: mcqa "
                                                       "for IgakuQA, mcqa-<file name> for a CSV)."),
         output: Optional[Path] = OUTPUT) -> None:
    """Multiple-choice log-likelihood scoring for causal models: accuracy (multi-answer questions: the top k choices
    must be exactly the k right ones), per exam year, with skipped questions counted by reason."""
    from jacorpus.evaluate.tasks import run_mcqa

    with one_line_errors():
        metrics, predictions = run_mcqa(str(model_dir), str(data), max_examples, seed, _trust(trust_remote_code), progress)
    _finish(model_dir, output, name or mcqa_task_name(data), metrics, predictions)


def mcqa_task_name(data: Path) -> str:
    """IgakuQA keeps the name ``mcqa``; another data set (a JMMLU-style CSV) gets its own, so evaluating it after
    IgakuQA adds rows to the model card instead of replacing IgakuQA's."""
    return f"mcqa-{data.stem}" if data.suffix.lower() == ".csv" else "mcqa"


@eval_app.command("compare")
def compare_cmd(results: List[str] = typer.Argument(..., help="NAME=path/to/results.json ..."),
                png: Optional[Path] = typer.Option(None, help="Also draw a bar chart here.")) -> None:
    """Several models' results side by side (markdown, and a PNG with --png)."""
    from jacorpus.evaluate.results import compare

    pairs = dict(r.split("=", 1) if "=" in r else (os.path.basename(os.path.dirname(r)) or r, r) for r in results)
    typer.echo(compare(pairs, str(png) if png else None))
