"""The `jacorpus` command's typer app. Each area owns its sub-commands; their modules import only typer at the top
(heavy libraries load inside the commands), so `jacorpus --help` stays fast. The entry point is ``jacorpus.cli:main``,
which loads this module only after a local ``corpus run`` has started its task server."""

from __future__ import annotations

import typer

from jacorpus.corpus.lm_cli import lm_app
from jacorpus.corpus.quality_cli import quality_app
from jacorpus.evaluate.cli import eval_app
from jacorpus.pipelines.corpus_cli import corpus_app
from jacorpus.publish.cli import card, publish
from jacorpus.tokenizers.cli import dict_app, tokenizer_app
from jacorpus.train.cli import train_app

app = typer.Typer(help="Japanese text to language models: corpora, dictionaries, tokenizers, training.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
app.add_typer(quality_app, name="quality")
app.add_typer(lm_app, name="lm")
app.add_typer(dict_app, name="dict")
app.add_typer(tokenizer_app, name="tokenizer")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.command("card")(card)
app.command("publish")(publish)
