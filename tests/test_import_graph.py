"""The import graph of jacorpus, read from the source with ``ast`` (every import, also those inside functions).

Areas import downward only: pipelines -> corpus; train -> tokenizers -> corpus -> foundation; evaluate and publish
may use train, tokenizers and corpus; nothing but pipelines itself and the command-line entry imports pipelines.
No module imports itself back through others (no cycles, lazy imports included).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "jacorpus"

# area -> areas it may import (besides itself); "" is jacorpus/ itself (cli.py, __init__.py, __main__.py)
ALLOWED: dict[str, set[str]] = {
    "foundation": set(),
    "corpus": {"foundation"},
    "tokenizers": {"corpus", "foundation"},
    "train": {"tokenizers", "corpus", "foundation"},
    "pipelines": {"corpus", "foundation"},
    "evaluate": {"train", "tokenizers", "corpus", "foundation"},
    "publish": {"train", "tokenizers", "corpus", "foundation"},
    "": {"foundation", "corpus", "tokenizers", "train", "pipelines", "evaluate", "publish"},
}


def module_name(path: pathlib.Path) -> str:
    parts = ("jacorpus",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, pathlib.Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    """jacorpus modules that ``path`` imports (``from a import b`` counts a.b when b is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        # a fallback import of a file that exists only in a tokenizer folder (sudachi_split.py) resolves to nothing
        found.update(t for t in targets if t in modules and t != name)
    return found


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else ""


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imported_modules(path, modules) for name, path in modules.items()}


def test_the_graph_is_read(graph):
    # the reader itself must see imports, or the tests below pass on an empty graph
    assert "jacorpus.foundation.atomic_files" in graph["jacorpus.corpus.shards"]
    assert "jacorpus.corpus.steps" in graph["jacorpus.pipelines.plan"]
    assert len(graph) > 100


def test_areas_import_downward_only(graph):
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if area(target) != area(module) and area(target) not in ALLOWED[area(module)]
    )
    assert wrong == []


def test_no_import_cycles(graph):
    colour: dict[str, int] = {}  # 1: on the current path, 2: finished
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        colour[node] = 1
        for nxt in sorted(graph[node]):
            if colour.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in colour:
                visit(nxt, path + [nxt])
        colour[node] = 2

    for start in sorted(graph):
        if start not in colour:
            visit(start, [start])
    assert cycles == []


ENGINE_MODULES = ["jacorpus.pipelines.local", "jacorpus.pipelines.spark", "jacorpus.pipelines.slurm",
                  "jacorpus.pipelines.spark_global", "jacorpus.pipelines.spark_graph"]


def test_engines_never_name_a_step_class(graph):
    from jacorpus.corpus.steps import BUILTIN_STEP_MODULES, load_builtin_steps

    step_classes = {cls.__name__ for cls in load_builtin_steps().values()}
    assert {"Dedup", "SentenceDedup", "QualityFilter"} <= step_classes  # what the check below looks for
    modules = all_modules()
    for engine in ENGINE_MODULES:
        assert not graph[engine] & set(BUILTIN_STEP_MODULES), engine
        tree = ast.parse(modules[engine].read_text(encoding="utf-8"))
        named = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        named |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        named |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not named & step_classes, (engine, named & step_classes)
