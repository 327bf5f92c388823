"""The `jacorpus` command. Each area owns its sub-commands; heavy imports happen inside the commands."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="Japanese text to language models: corpora, dictionaries, tokenizers, training.", no_args_is_help=True)

# (module, attribute, command name): an area not built yet is simply absent from --help
SUBCOMMANDS = [
    ("jacorpus.pipelines.cli", "corpus_app", "corpus"),
    ("jacorpus.corpus.cli", "quality_app", "quality"),
    ("jacorpus.tokenizers.cli", "dict_app", "dict"),
    ("jacorpus.tokenizers.cli", "tokenizer_app", "tokenizer"),
    ("jacorpus.train.cli", "train_app", "train"),
    ("jacorpus.evaluate.cli", "eval_app", "eval"),
]

for _module, _attr, _name in SUBCOMMANDS:
    try:
        _sub = getattr(importlib.import_module(_module), _attr)
    except ModuleNotFoundError as _exc:
        if not _module.startswith(_exc.name or "\0"):
            raise
        continue
    app.add_typer(_sub, name=_name)


from jacorpus.publish.cli import card, publish  # noqa: E402 - light module, heavy imports inside

app.command("card")(card)
app.command("publish")(publish)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
