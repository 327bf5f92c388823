"""Steps and sources from outside jacorpus: a separate package found through its entry points (``jacorpus.steps``,
``jacorpus.sources``), and a class named ``module:Class`` in the recipe. The package is a real distribution on the
path of a fresh interpreter (a ``.dist-info`` folder with ``entry_points.txt``, what pip installs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = '''
from jacorpus.corpus.sources import Source
from jacorpus.corpus.steps import JaFilter, StepOptions


class MinLengthOptions(StepOptions):
    min_chars: int = 10


class MinLength(JaFilter):
    name = "min_length"
    Options = MinLengthOptions

    def filter(self, doc):
        return len(doc.text) >= self.options.min_chars or (False, "too_short")


class LineSource(Source):
    """One document per non-empty line."""

    def read_file(self, path):
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    yield self.document(line.strip(), path, number)
'''
RUN = '''
import json, sys
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import RecipeError, load_recipe
try:
    manifest = run_local(build_plan(load_recipe(sys.argv[1])), progress=False)
except RecipeError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps(manifest, ensure_ascii=False))
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    (root / "jacorpus_example_plugin").mkdir()
    (root / "jacorpus_example_plugin" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    info = root / "jacorpus_example_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jacorpus-example-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [jacorpus.steps]
        min_length = jacorpus_example_plugin:MinLength

        [jacorpus.sources]
        lines = jacorpus_example_plugin:LineSource
        """))
    return root


def fresh_python(code: str, args: list[str], paths: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter with ``paths`` (plugin sites) before the repository on its path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in [*paths, REPO]))
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=cwd)


def run(recipe: Path, paths: list[Path]) -> dict:
    out = fresh_python(RUN, [str(recipe)], paths, recipe.parent)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, shared_data) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("plugin-corpus")
    lines = [line.strip() for line in (shared_data / "plain_text_ja_neko_aozora" / "neko.txt")
             .read_text(encoding="utf-8").splitlines() if line.strip()][:200]
    (folder / "neko.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, lines


def recipe(folder: Path, source_type: str, step: str) -> Path:
    path = folder / f"{step.replace(':', '_')}.yaml"
    path.write_text(f"""\
name: plugin
sources: [{{type: {source_type}, paths: [neko.txt]}}]
steps: [{{"{step}": {{min_chars: 20}}}}]
output: {{dir: out-{step.replace(':', '_')}, keep_dropped: true}}
""", encoding="utf-8")
    return path


def test_entry_points_add_a_step_and_a_source(site, corpus):
    folder, lines = corpus
    manifest = run(recipe(folder, "lines", "min_length"), [site])
    short = sum(len(line) < 20 for line in lines)
    assert 0 < short < len(lines)
    assert manifest["read"] == len(lines) and manifest["kept"] == len(lines) - short
    assert manifest["dropped"] == {"min_length:too_short": short}


def test_module_class_in_the_recipe(site, corpus):
    folder, lines = corpus
    manifest = run(recipe(folder, "jacorpus_example_plugin:LineSource", "jacorpus_example_plugin:MinLength"), [site])
    assert manifest["kept"] == sum(len(line) >= 20 for line in lines)


def test_without_the_plugin_the_names_are_unknown(corpus):
    folder, _ = corpus
    answer = run(recipe(folder, "lines", "min_length"), [])
    assert "unknown source type 'lines'" in answer["error"] and "min_length: unknown step" in answer["error"]


def test_builtin_step_names_are_the_ones_their_modules_register(tmp_path):
    """The name -> module map that lets a recipe load only its own steps agrees with what each module registers
    (the classes' own modules, read after every built-in module is imported)."""
    done = fresh_python("import json; from jacorpus.corpus.steps import BUILTIN_STEP_NAMES, STEPS; "
                        "print(json.dumps([BUILTIN_STEP_NAMES, {n: c.__module__ for n, c in STEPS.load().items()}]))",
                        [], [], tmp_path)
    mapped, registered = json.loads(done.stdout)
    assert mapped == registered and "dedup" in registered and len(registered) == 10


def test_builtin_source_names_are_the_ones_their_modules_register(tmp_path):
    done = fresh_python("import json; from jacorpus.corpus.sources.base import BUILTIN_SOURCE_NAMES, SOURCES; "
                        "print(json.dumps([BUILTIN_SOURCE_NAMES, {n: c.__module__ for n, c in SOURCES.load().items()}]))",
                        [], [], tmp_path)
    mapped, registered = json.loads(done.stdout)
    assert mapped == registered and {"jsonl", "warc", "wikipedia", "cc100"} <= set(registered) and len(registered) == 9


def test_a_recipe_loads_only_the_steps_and_sources_it_names(corpus):
    folder, _ = corpus
    path = folder / "normalize_only.yaml"
    path.write_text("name: n\nsources: [{type: text, paths: [neko.txt]}]\nsteps: [{normalize: {}}]\n"
                    "output: {dir: out-n}\n", encoding="utf-8")
    done = fresh_python("import json, sys; from jacorpus.pipelines.recipe import load_recipe; "
                        "load_recipe('normalize_only.yaml'); print(json.dumps(sorted(sys.modules)))", [], [], folder)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert "jacorpus.corpus.normalize" in loaded
    assert not loaded & {"jacorpus.corpus.quality", "jacorpus.corpus.language", "jacorpus.corpus.classifier",
                         "jacorpus.corpus.dedup.steps", "jacorpus.corpus.perplexity"}
    assert "jacorpus.corpus.sources.text" in loaded
    assert not loaded & {"jacorpus.corpus.sources.web", "jacorpus.corpus.sources.feed", "jacorpus.corpus.sources.jsonl",
                         "jacorpus.corpus.sources.wikipedia", "jacorpus.corpus.sources.medical", "mwparserfromhell"}


def test_a_plugin_may_not_take_a_builtin_name(tmp_path, corpus):
    """A plugin's entry point named like a built-in step is refused also when the recipe's lookup imports only the
    built-in's module (the entry points' names are read)."""
    folder, _ = corpus
    info = tmp_path / "clash-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: clash\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[jacorpus.steps]\nnormalize = jacorpus_example_plugin:MinLength\n"
                                           "[jacorpus.sources]\ntext = jacorpus_example_plugin:LineSource\n")
    answer = run(recipe(folder, "text", "normalize"), [tmp_path])
    assert "step name 'normalize' registered twice" in answer["error"]
    assert "source type name 'text' registered twice" in answer["error"]
