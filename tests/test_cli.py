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


def test_corpus_run_into_another_recipes_output_is_one_line(tmp_path, shared_data):
    neko = shared_data / "plain_text_ja_neko_aozora" / "neko.txt"
    for name, split in (("a", "blank_line"), ("b", "line")):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\nsources: [{{name: t, type: text, split: {split}, paths: ['{neko}']}}]\n"
            f"output: {{dir: {tmp_path / 'out'}}}\n", encoding="utf-8")
    assert runner.invoke(app, ["corpus", "run", str(tmp_path / "a.yaml"), "--no-progress"]).exit_code == 0
    result = runner.invoke(app, ["corpus", "run", str(tmp_path / "b.yaml"), "--no-progress"])
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "--overwrite" in lines[0] and "Traceback" not in result.output
