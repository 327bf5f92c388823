"""docs/sources.md documents every source type and every option a recipe can give it (a new option without a line
in the docs fails here)."""

from __future__ import annotations

import re

from jacorpus.corpus.sources import SOURCES
from jacorpus.pipelines.recipe import SourceSpec


def test_every_source_type_and_option_is_documented(repo_root):
    doc = (repo_root / "docs" / "sources.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## `(\w+)`", doc, flags=re.M)) | {
        t for line in re.findall(r"^## `\w+` and `\w+`.*$", doc, flags=re.M) for t in re.findall(r"`(\w+)`", line)}
    types = ["text", "cc100", "jsonl", "wikipedia", "html", "feed", "warc", "wet", "medical"]  # jacorpus' own
    assert set(types) <= sections, set(types) - sections
    for name in types:
        options = SOURCES.find(name).Options.model_fields
        assert not [o for o in options if f"`{o}`" not in doc], (name, [o for o in options if f"`{o}`" not in doc])
    assert not [k for k in SourceSpec.model_fields if f"`{k}`" not in doc]
