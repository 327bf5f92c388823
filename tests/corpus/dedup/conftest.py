"""Real Japanese texts for the dedup tests: law versions (graded near-duplicates), neko paragraphs, CC-ja pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def law_texts(shared_data: Path) -> dict[str, str]:
    """file stem -> text of every version of the three laws (stem starts with the law id)."""
    folder = shared_data / "neardup_ja_law_versions"
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*/*.txt"))}


@pytest.fixture(scope="session")
def neko_paragraphs(shared_data: Path) -> list[str]:
    text = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if len(p.strip()) > 200]


@pytest.fixture(scope="session")
def cc_ja_texts(shared_data: Path) -> list[str]:
    data = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    return [d["text"] for group in data.values() for d in group]
