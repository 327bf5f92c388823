"""Recipe validation: errors name the bad key and its line."""

import pytest

from jacorpus.pipelines.recipe import RecipeError, parse_recipe

GOOD = """\
name: t
sources:
  - {type: text, split: line, paths: [a.txt]}
output: {dir: out}
"""


def test_good_recipe_parses_with_defaults():
    recipe = parse_recipe(GOOD, base_dir="/data")
    assert recipe.source_name(0) == "text"
    assert recipe.output.format == "arrow" and recipe.output.keep_dropped is False
    assert recipe.output_dir() == "/data/out"
    assert recipe.sources[0].options == {"split": "line"}


def test_source_option_error_names_key_and_line():
    text = GOOD.replace("split: line", "split: paragraph")
    with pytest.raises(RecipeError) as err:
        parse_recipe(text, where="r.yaml")
    assert "r.yaml:3: sources[0].split" in str(err.value)


def test_unknown_top_level_key_is_reported_with_its_line():
    with pytest.raises(RecipeError) as err:
        parse_recipe(GOOD + "outptu: {dir: x}\n", where="r.yaml")
    assert "r.yaml:5: outptu: unknown key" in str(err.value)


def test_unknown_source_type_and_duplicate_names():
    text = """\
name: t
sources:
  - {type: text, paths: [a.txt]}
  - {type: text, paths: [b.txt]}
  - {type: nosuch, paths: [c.txt]}
output: {dir: out}
"""
    with pytest.raises(RecipeError) as err:
        parse_recipe(text, where="r.yaml")
    message = str(err.value)
    assert "r.yaml:5: sources[2].type: unknown source type 'nosuch'" in message
    assert "r.yaml:4: sources[1].name: source name 'text' used twice" in message


def test_unknown_step_is_named():
    with pytest.raises(RecipeError) as err:
        parse_recipe(GOOD + "steps:\n  - {frobnicate: {}}\n", where="r.yaml")
    assert "r.yaml:6: steps[0].frobnicate: unknown step" in str(err.value)


def test_output_format_is_checked():
    with pytest.raises(RecipeError) as err:
        parse_recipe(GOOD.replace("{dir: out}", "{dir: out, format: csv}"), where="r.yaml")
    assert "output.format" in str(err.value)


def test_not_yaml_mapping():
    with pytest.raises(RecipeError):
        parse_recipe("- just\n- a list\n")
