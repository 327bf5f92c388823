"""Shared fixtures. Real data lives in ../shared/data beside the clone (or $JACORPUS_SHARED_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("JACORPUS_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
    for path in candidates:
        if (path / "README.md").exists():
            return path
    raise RuntimeError(
        "real test data not found: expected ../shared/data beside the clone (or set JACORPUS_SHARED_DATA). "
        "Tests read real Japanese data and do not skip without it."
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
