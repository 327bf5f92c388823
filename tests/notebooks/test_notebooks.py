"""The notebooks run top to bottom (nbclient, a real kernel) on the demo corpus built from the bundled data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "corpus"
    subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(REPO / "recipes" / "demo.yaml"),
                    "--output", str(out), "--workers", "2", "--no-progress"], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def demo_dictionary(demo_corpus) -> Path:
    out = demo_corpus.parent / "dict"
    subprocess.run([sys.executable, "-m", "jacorpus.cli", "dict", "build", "--corpus", str(demo_corpus), "--seed",
                    str(REPO / "data" / "demo" / "medical" / "manbyo-subset.csv"), "--out", str(out), "--no-progress"],
                   check=True, capture_output=True)
    return out


def run_notebook(name: str) -> nbformat.NotebookNode:
    """Execute in a real kernel, which inherits this process's environment (the tests set the corpus paths)."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    return nb


def test_explore_corpus_notebook(demo_corpus, monkeypatch):
    monkeypatch.setenv("JACORPUS_CORPUS_DIR", str(demo_corpus))
    nb = run_notebook("explore_corpus.ipynb")
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "input faults" in outputs
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


def test_compare_tokenizers_notebook(demo_corpus, demo_dictionary, monkeypatch):
    monkeypatch.setenv("JACORPUS_CORPUS_DIR", str(demo_corpus))
    monkeypatch.setenv("JACORPUS_DICT_DIR", str(demo_dictionary))
    nb = run_notebook("compare_tokenizers.ipynb")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "| tokenizer |" in outputs and "spm+dict" in outputs
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
