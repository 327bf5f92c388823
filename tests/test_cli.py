"""Every `jacorpus` command and sub-command answers --help."""

import pytest
import typer
from typer.testing import CliRunner

from jacorpus.cli import app

runner = CliRunner()


def command_paths(group: typer.Typer, prefix: tuple[str, ...] = ()):
    for info in group.registered_commands:
        yield prefix + (info.name or info.callback.__name__,)
    for sub in group.registered_groups:
        yield prefix + (sub.name,)
        yield from command_paths(sub.typer_instance, prefix + (sub.name,))


PATHS = list(command_paths(app))


def test_all_areas_are_mounted():
    assert {p[0] for p in PATHS} >= {"corpus", "quality", "dict", "tokenizer", "train", "eval", "card", "publish"}
    assert ("corpus", "run") in PATHS and ("train", "run") in PATHS and ("tokenizer", "eval") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_help(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
