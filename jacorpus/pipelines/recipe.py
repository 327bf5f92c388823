"""Corpus recipes: YAML validated by pydantic, errors naming the bad key and its line.

Shape::

    name: demo
    sources: [{name, type, paths, ...options of that source type}]
    steps: [{<step>: {options}}]
    output: {dir, format: arrow|parquet, keep_dropped, max_shard_bytes}

Relative paths (sources' ``paths``, ``output.dir``, file options of steps) are taken from the recipe's folder.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jacorpus.corpus.shards import DEFAULT_MAX_SHARD_BYTES
from jacorpus.foundation import storage
from jacorpus.foundation.recipe_yaml import (  # noqa: F401  (RecipeError: raised from here for corpus recipes)
    RecipeError,
    raise_recipe_errors,
    read_yaml_mapping,
    validation_errors,
)


DEFAULT_SPLIT_BYTES = 256 * 1024 * 1024


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    name: str | None = None
    paths: list[str] = Field(min_length=1)
    # SPDX-style id as the Hub knows it (cc-by-sa-4.0, cc-by-4.0, odc-by, ...): goes into the dataset card
    license: str | None = None
    # the Hub dataset these files come from (e.g. range3/cc100-ja): the dataset card lists it in source_datasets
    hub_dataset: str | None = Field(None, pattern=r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
    # a source that may match no file / yield no record (otherwise that is an error, see pipelines/inputs.py)
    allow_empty: bool = False
    # target size of this source's input splits (decompressed bytes); default: the recipe's split_bytes
    split_bytes: int | None = Field(None, gt=0)

    @field_validator("paths", mode="before")
    @classmethod
    def one_path_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def effective_license(self) -> str | None:
        from jacorpus.corpus.sources import source_license

        return source_license(self.model_dump())


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dir: str
    format: Literal["arrow", "parquet"] = "arrow"
    keep_dropped: bool = False
    max_shard_bytes: int = Field(DEFAULT_MAX_SHARD_BYTES, gt=0)


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    sources: list[SourceSpec] = Field(min_length=1)
    steps: list[dict[str, dict[str, Any] | None]] = Field(default_factory=list)
    output: OutputSpec
    # big input files are read as splits of about this many (decompressed) bytes, one task each (docs/sources.md)
    split_bytes: int = Field(DEFAULT_SPLIT_BYTES, gt=0)
    # the dataset card's license when sources differ (`license: other`): a name and a link for people to read
    license_name: str | None = None
    license_link: str | None = None
    # published data (the card's Parquet, the manifest `jacorpus publish` uploads) names input files relative to this
    # folder (relative to the recipe's); default: the recipe folder, else each source's common root (publish/public_paths.py)
    origin_root: str | None = None
    # set by load_recipe, not by the YAML
    base_dir: str = Field(default=".", exclude=True)

    def source_name(self, index: int) -> str:
        spec = self.sources[index]
        return spec.name or spec.type

    def output_dir(self, override: str | None = None) -> str:
        path = override or self.output.dir
        if storage.is_url(path):  # s3://, gs://, hf://, hdfs:// (foundation/storage.py)
            return path.rstrip("/")
        path = storage.local_path(path)
        return path if os.path.isabs(path) else os.path.normpath(os.path.join(self.base_dir, path))

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"base_dir"})


def scope_errors(options: Any, step_cls: Any, loc: tuple[Any, ...], names: list[str]) -> list[tuple[tuple[Any, ...], str]]:
    """A step's ``sources`` / ``skip_sources`` must name sources of this recipe (a typo would silently scope the
    step to nothing)."""
    errors = []
    for key in ("sources", "skip_sources"):
        listed = getattr(options, key, None)
        if listed is None:
            continue
        if step_cls.is_global:
            errors.append((loc + (key,), f"{step_cls.name} is a corpus-wide step and cannot be scoped to sources"))
            continue
        unknown = [name for name in listed if name not in names]
        if unknown:
            errors.append((loc + (key,), f"no source named {', '.join(map(repr, unknown))}; this recipe's sources: "
                                         f"{', '.join(names)}"))
    return errors


def parse_recipe(text: str, where: str = "<recipe>", base_dir: str = ".") -> Recipe:
    from jacorpus.corpus.sources import SOURCES
    from jacorpus.corpus.steps import STEPS
    from jacorpus.foundation.registry import RegistryError

    root, data = read_yaml_mapping(text, where, "a recipe is a YAML mapping with name, sources, steps, output")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise_recipe_errors(where, root, validation_errors(exc))
    recipe.base_dir = base_dir

    errors: list[tuple[tuple[Any, ...], str]] = []
    for i, spec in enumerate(recipe.sources):
        try:
            cls = SOURCES.find(spec.type)
        except RegistryError as exc:
            errors.append((("sources", i, "type"), str(exc)))
            continue
        if cls is None:
            errors.append((("sources", i, "type"), f"unknown source type {spec.type!r}; known: {SOURCES.known()}"))
            continue
        try:
            cls.Options.model_validate(spec.options)
        except ValidationError as exc:
            errors.extend(validation_errors(exc, ("sources", i)))
    names = [recipe.source_name(i) for i in range(len(recipe.sources))]
    for i, name in enumerate(names):
        if names.index(name) != i:
            errors.append((("sources", i, "name"), f"source name {name!r} used twice; give each a distinct name"))
    for i, entry in enumerate(recipe.steps):
        if len(entry) != 1:
            errors.append((("steps", i), "each step is a mapping with exactly one key, the step name"))
            continue
        (step_name, options), = entry.items()
        try:
            cls = STEPS.find(step_name)
        except RegistryError as exc:
            errors.append((("steps", i, step_name), str(exc)))
            continue
        if cls is None:
            errors.append((("steps", i, step_name), f"unknown step; known: {STEPS.known()}"))
            continue
        try:
            step_options = cls.Options.model_validate(options or {})
        except ValidationError as exc:
            errors.extend(validation_errors(exc, ("steps", i, step_name)))
            continue
        errors.extend(scope_errors(step_options, cls, ("steps", i, step_name), names))
    if errors:
        raise_recipe_errors(where, root, errors)
    return recipe


def load_recipe(path: str) -> Recipe:
    if not os.path.exists(path):
        raise RecipeError(f"recipe not found: {path}")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return parse_recipe(text, where=path, base_dir=os.path.dirname(os.path.abspath(path)))
