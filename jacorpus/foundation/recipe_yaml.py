"""Recipe YAML shared by corpus, tokenizer and training recipes: read a mapping, report errors by file and line.

Errors are collected as ``(location, message)`` pairs (a location is the pydantic ``loc`` tuple, e.g.
``("steps", 2, "dedup", "threshold")``) and raised together as one ``RecipeError`` naming each bad key's line.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

ErrorList = list[tuple[tuple[Any, ...], str]]


class RecipeError(ValueError):
    """A recipe problem, phrased for the person who wrote the YAML."""


def line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == str(key):
                    nxt, line = v, k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def raise_recipe_errors(where: str, root: yaml.Node | None, errors: ErrorList) -> None:
    lines = []
    for loc, msg in errors:
        line = line_of(root, loc)
        lines.append(f"{where}:{line if line else '?'}: {format_loc(loc) or '(top)'}: {msg}")
    raise RecipeError("invalid recipe\n  " + "\n  ".join(lines))


def validation_errors(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> ErrorList:
    out = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        out.append((loc, msg))
    return out


def read_yaml_mapping(text: str, where: str, expected: str) -> tuple[yaml.Node | None, dict[str, Any]]:
    """The YAML node tree (for line numbers in errors) and the data of a recipe that must be a mapping."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: {expected}")
    return root, data
