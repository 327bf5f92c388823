"""Published data carries no machine paths.

A finished corpus names its input files the way the sources wrote them into ``origin`` (``Source.display_path``):
relative to the recipe folder when the file lies inside it, otherwise as the recipe wrote it (an absolute path,
or a climb such as ``../../data/x.txt``). That is what a person on the machine needs to find a file, and the id
(``blake2b(source, origin)``) is computed from it, so ids stay exactly as they were.

What ``jacorpus card`` writes for the Hub (Parquet ``origin`` column, the recipe in the card) and the manifest that
``jacorpus publish`` uploads name every input instead:

- relative to ``origin_root`` (a recipe option, relative to the recipe folder) when all the source's inputs lie
  under it;
- else relative to the recipe folder when all the source's inputs lie inside it;
- else relative to the common root of the source's path patterns: the folder holding each pattern's first
  wildcard component, or its last component (``/data/crawl/**/*.html`` -> ``/data/crawl``, ``/data/neko.txt`` and
  ``/data/feeds`` -> ``/data``).

The choice is made per source from its patterns (not from the files they happen to match), so a published name does
not change when files are added, and two files of one source never get the same name. Never an absolute path,
never a ``..``. Only the published copy changes: a published ``origin`` of a file outside the recipe folder is no
longer the string its id was hashed from.
"""

from __future__ import annotations

import copy
import glob
import os
import posixpath
from typing import Any

from jacorpus.foundation.local_paths import looks_like_a_local_path, scrub_paths  # noqa: F401 (re-exported)

# stands in for the recipe folder of an output written before manifests recorded it: relative names then stay
# relative, absolute ones are taken as outside it (still published without their machine prefix)
UNKNOWN_RECIPE_DIR = "/unknown-recipe-dir"


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace(os.sep, "/"))


def _under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def _relative(path: str, root: str) -> str:
    rel = posixpath.relpath(path, root)
    if rel == ".." or rel.startswith("../"):  # cannot happen for a path under root; never publish a climb
        return posixpath.basename(path)
    return rel


def literal_part(pattern: str) -> str:
    """The pattern up to (without) its first wildcard component: every file it matches lies under this."""
    parts = pattern.split("/")
    for k, part in enumerate(parts):
        if glob.has_magic(part):
            return "/".join(parts[:k]) or "/"
    return pattern


def pattern_root(pattern: str) -> str:
    """The folder holding the pattern's first wildcard component, or its last component."""
    literal = literal_part(pattern)
    return literal if literal != pattern else (posixpath.dirname(pattern) or "/")


class PublicNames:
    """Maps a finished corpus' file names (in ``origin``, errors and the recipe) to published ones."""

    def __init__(self, recipe: dict[str, Any], recipe_dir: str | None) -> None:
        self.recipe = recipe
        self.base = _norm(recipe_dir or UNKNOWN_RECIPE_DIR)
        origin_root = recipe.get("origin_root")
        self.origin_root = self.absolute(origin_root) if origin_root else None
        self.roots: dict[str, str] = {}
        for spec in recipe.get("sources", []):
            name = spec.get("name") or spec["type"]
            self.roots[name] = self.source_root([self.absolute(p) for p in spec.get("paths", [])])

    @classmethod
    def of_manifest(cls, manifest: dict[str, Any]) -> "PublicNames":
        return cls(manifest["recipe"], manifest.get("recipe_dir"))

    def absolute(self, path: str) -> str:
        path = path.replace(os.sep, "/")
        return _norm(path if path.startswith("/") else posixpath.join(self.base, path))

    def source_root(self, patterns: list[str]) -> str:
        literals = [literal_part(p) for p in patterns]
        if self.origin_root and literals and all(_under(p, self.origin_root) for p in literals):
            return self.origin_root
        if literals and all(_under(p, self.base) for p in literals):
            return self.base
        roots = [pattern_root(p) for p in patterns] or [self.base]
        return posixpath.commonpath(roots)

    def notes(self) -> list[str]:
        """Sources whose inputs share no folder but the file-system root: their published names start at it."""
        return [f"source {name}: its inputs share no folder below /, so published names spell their whole path; "
                "set `origin_root:` in the recipe" for name, root in self.roots.items() if root == "/"]

    # -- names ---------------------------------------------------------------------------------------------------
    def file(self, source: str, shown: str) -> str:
        """A file as ``origin`` and errors name it -> its published name."""
        root = self.roots.get(source)
        path = self.absolute(shown)
        if root is None or not _under(path, root):
            return self.path(shown)
        return _relative(path, root)

    def origin(self, source: str, origin: str) -> str:
        shown, sep, locator = origin.rpartition("#")
        if not sep:
            return self.file(source, origin)
        return f"{self.file(source, shown)}#{locator}"

    def path(self, value: str) -> str:
        """Any other path (a step's file option, the output folder): relative to the recipe folder when inside it,
        else its last component."""
        path = self.absolute(value)
        if _under(path, self.base):
            return _relative(path, self.base)
        return posixpath.basename(path) or "."

    # -- documents -------------------------------------------------------------------------------------------------
    def public_recipe(self) -> dict[str, Any]:
        recipe = copy.deepcopy(self.recipe)
        for spec in recipe.get("sources", []):
            root = self.roots[spec.get("name") or spec["type"]]
            spec["paths"] = [_relative(self.absolute(p), root) for p in spec.get("paths", [])]
        if recipe.get("origin_root"):  # where published names start: on the Hub, the repo's own frame
            recipe["origin_root"] = "."
        if isinstance(recipe.get("output"), dict) and recipe["output"].get("dir"):
            recipe["output"]["dir"] = self.path(recipe["output"]["dir"])
        recipe["steps"] = [scrub_paths(entry, self.path) for entry in recipe.get("steps", [])]
        return recipe

    def public_error(self, error: dict[str, Any]) -> dict[str, Any]:
        error = dict(error)
        shown = error.get("file", "")
        public = self.file(error.get("step", ""), shown) if shown else shown
        message = str(error.get("message", ""))
        for local in sorted({self.absolute(shown), shown}, key=len, reverse=True):
            if local and local != public:
                message = message.replace(local, public)
        error["file"], error["message"] = public, message
        return error

    def public_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in manifest.items() if k != "recipe_dir"}
        public["recipe"] = self.public_recipe()
        public["errors"] = [self.public_error(e) for e in manifest.get("errors", [])]
        return public
