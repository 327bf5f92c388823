"""`jacorpus lm ...`: train the n-gram model of the `perplexity` step and compute its bucket cutoffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Optional

import typer

lm_app = typer.Typer(help="N-gram language models for the `perplexity` step: train, cutoffs.", no_args_is_help=True)


def finished_corpus_texts(corpus: list[Path], max_documents: Optional[int], max_chars: Optional[int],
                          option: str = "--corpus") -> Iterator[str]:
    """Texts of finished corpus folders in turn (every shard sampled, ``iter_corpus_texts``) under the caps;
    a folder that is not a finished corpus is refused before anything is read."""
    from jacorpus.foundation.finished_corpus import is_corpus_dir, iter_corpus_texts

    for path in corpus:
        if not is_corpus_dir(str(path)):
            raise typer.BadParameter(f"not a jacorpus output folder (no state.json or shards): {path}",
                                     param_hint=option)

    def texts() -> Iterator[str]:
        documents = characters = 0
        for path in corpus:
            for text in iter_corpus_texts(str(path)):
                if max_chars is not None:
                    text = text[: max_chars - characters]
                if text:
                    yield text
                documents += 1
                characters += len(text)
                if (max_documents is not None and documents >= max_documents) or (
                        max_chars is not None and characters >= max_chars):
                    return

    return texts()


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

    texts = finished_corpus_texts(corpus, max_documents, max_chars)
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
        table = corpus_percentiles(lm, finished_corpus_texts(corpus, max_documents, None), ",".join(map(str, corpus)))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    (model / PERCENTILES).write_text(json.dumps(table, indent=2), encoding="utf-8")
    p = table["percentiles"]
    typer.echo(f"{table['documents']:,} documents: 30th percentile {p['30']:.1f}, 60th {p['60']:.1f}; "
               f"written to {model / PERCENTILES}")
