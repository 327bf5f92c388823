"""The one way jacorpus loads a tokenizer folder (tokenizer, train and eval all come here).

Sudachi and MeCab tokenizer folders carry jacorpus's tokenizer classes as code (``tokenization_jacorpus.py``,
``sudachi_split.py``, ``mecab_split.py``), which transformers runs only with ``trust_remote_code``. Trusting every folder would run
whatever Python a downloaded model ships, so the policy is: a folder's code is trusted by default only when it is
byte-identical to the code this jacorpus version exports; anything else (another version's copy, an edited file,
another project's auto_map) needs an explicit ``trust_remote_code=True`` (``--trust-remote-code`` on the CLI), and
without it the error names that flag.
"""

from __future__ import annotations

import json
import os
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REMOTE_MODULE = "tokenization_jacorpus"
# file in a tokenizer folder -> the jacorpus source it is a copy of
EXPORTED_CODE = {f"{REMOTE_MODULE}.py": "hf_tokenizer.py", "sudachi_split.py": "sudachi_split.py",
                 "mecab_split.py": "mecab_split.py",
                 "sudachi_chunks.py": os.path.join(os.pardir, "foundation", "sudachi_chunks.py")}
# the classes of hf_tokenizer.py (exported as REMOTE_MODULE): a tokenizer of one of them is saved with that code
REMOTE_CLASSES = ("JacorpusJapaneseTokenizer", "JacorpusMecabTokenizer")


class TokenizerTrustError(ValueError):
    """The folder's tokenizer runs code that is not jacorpus's own exported code."""


def remote_code_files(folder: str) -> list[str]:
    """The Python files the folder's tokenizer_config.json ``auto_map`` points at (plus jacorpus's own, if present)."""
    names: set[str] = {name for name in EXPORTED_CODE if os.path.exists(os.path.join(folder, name))}
    config = os.path.join(folder, "tokenizer_config.json")
    if os.path.exists(config):
        with open(config, encoding="utf-8") as fh:
            auto_map = json.load(fh).get("auto_map") or {}
        refs = auto_map.values() if isinstance(auto_map, dict) else [auto_map]
        for ref in refs:
            for item in ref if isinstance(ref, (list, tuple)) else [ref]:
                if isinstance(item, str) and "." in item:
                    module = item.split("--")[-1].rsplit(".", 1)[0]  # "repo--module.Class" or "module.Class"
                    names.add(module.replace(".", "/") + ".py")
    return sorted(names)


def is_jacorpus_code(folder: str) -> bool:
    """True when every code file of the folder is byte-identical to what this jacorpus version exports."""
    files = remote_code_files(folder)
    for name in files:
        source = EXPORTED_CODE.get(name)
        if source is None:
            return False
        with open(os.path.join(folder, name), "rb") as ours_copy, open(os.path.join(HERE, source), "rb") as ours:
            if ours_copy.read() != ours.read():
                return False
    return True


def load_tokenizer(folder: str, trust_remote_code: bool | None = None, packing: bool = False) -> Any:
    """``AutoTokenizer`` for a jacorpus tokenizer or model folder, or any other local folder or Hub name.

    ``trust_remote_code``: None = trust only jacorpus's own exported code (see the module doc); True = trust the
    folder's code whatever it is; False = never run code. ``packing``: documents are packed into sequences, never
    truncated, so the length warning is silenced (token shards).
    """
    from transformers import AutoTokenizer

    code = remote_code_files(folder) if os.path.isdir(folder) else []
    if not code:
        trusted = False
    elif trust_remote_code is None:
        if not is_jacorpus_code(folder):
            raise TokenizerTrustError(
                f"{folder}: its tokenizer runs code ({', '.join(code)}) that differs from the code this jacorpus "
                "version exports; read it, then pass --trust-remote-code (trust_remote_code=True) to run it")
        trusted = True
    elif trust_remote_code is False:
        raise TokenizerTrustError(f"{folder}: its tokenizer needs its own code ({', '.join(code)}) to load; "
                                  "pass --trust-remote-code (trust_remote_code=True) to run it")
    else:
        trusted = True
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trusted)
    if packing:
        tokenizer.model_max_length = 1 << 62
    return tokenizer
