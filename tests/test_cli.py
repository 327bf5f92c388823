"""Every `jacorpus` command and sub-command answers --help."""

import pytest
import typer
from typer.testing import CliRunner

from jacorpus.commands import app

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


def test_sentencepiece_vocabulary_below_the_corpus_characters_is_one_line(tmp_path, shared_data):
    """SentencePiece refuses a vocab_size below the characters it must keep: the recipe keys to change, one line."""
    text = tmp_path / "neko.txt"
    text.write_text((shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")[:60_000],
                    encoding="utf-8")
    recipe = tmp_path / "sp.yaml"
    recipe.write_text("name: small\nkind: sentencepiece\nvocab_size: 300\n", encoding="utf-8")
    result = runner.invoke(app, ["tokenizer", "train", str(recipe), "--corpus", str(text), "--out",
                                 str(tmp_path / "tok"), "--no-progress"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert lines[0].startswith(f"error: {recipe}: vocab_size 300 is below the ") and "character_coverage 0.9995" in lines[0]
