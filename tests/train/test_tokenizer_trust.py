"""A tokenizer folder's own Python code runs only when trusted: a planted ``tokenization_jacorpus.py`` that is not
byte-identical to jacorpus's export must not run in `train prepare` (nor in any loader) without --trust-remote-code.
The planted code writes a marker file when imported, so "it did not run" is observed, not assumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLANTED = '''
import os
from transformers import PreTrainedTokenizerFast

open(os.environ["PLANTED_MARKER"], "w").write("the planted code ran")


class PlantedTokenizer(PreTrainedTokenizerFast):
    pass
'''


@pytest.fixture()
def planted(tmp_path, monkeypatch) -> tuple[Path, Path]:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    folder = tmp_path / "tokenizer"
    vocab = {"[UNK]": 0, "[PAD]": 1, "吾輩": 2, "は": 3, "猫": 4, "で": 5, "ある": 6}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]").save_pretrained(folder)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoTokenizer": [None, "tokenization_jacorpus.PlantedTokenizer"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "tokenization_jacorpus.py").write_text(PLANTED, encoding="utf-8")
    marker = tmp_path / "ran.txt"
    monkeypatch.setenv("PLANTED_MARKER", str(marker))
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    return folder, marker


def test_train_prepare_refuses_planted_tokenizer_code(planted, tmp_path):
    folder, marker = planted
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = subprocess.run([sys.executable, "-m", "jacorpus.cli", "train", "prepare", "--corpus", str(corpus),
                             "--tokenizer", str(folder), "--seq-len", "8", "--out", str(tmp_path / "tokens"),
                             "--no-progress"], capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 2 and "--trust-remote-code" in result.stderr, result.stderr[-2000:]
    assert "tokenization_jacorpus.py" in result.stderr
    assert not marker.exists()


def test_the_loader_runs_planted_code_only_with_the_explicit_flag(planted):
    from jacorpus.tokenizers.loading import TokenizerTrustError, load_tokenizer

    folder, marker = planted
    for trust in (None, False):  # the default policy, and "never run code"
        with pytest.raises(TokenizerTrustError, match="--trust-remote-code"):
            load_tokenizer(str(folder), trust_remote_code=trust)
    assert not marker.exists()
    tokenizer = load_tokenizer(str(folder), trust_remote_code=True)  # the person read it and said so
    assert marker.exists() and type(tokenizer).__name__ == "PlantedTokenizer"
