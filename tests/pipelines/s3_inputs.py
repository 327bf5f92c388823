"""Inputs and a recipe for the storage tests: real Japanese text (e-Gov law versions, neko, ABEJA CC) laid out as a
small corpus folder, compressed the way corpora arrive (.xz, .gz), with near-duplicates for MinHash dedup, and
uploaded to the test's S3 server. One recipe covers reading, a per-document step and minhash dedup."""

from __future__ import annotations

import gzip
import json
import lzma
import shutil
from pathlib import Path

LAW = "417AC0000000048"
VERSIONS = ("20150801_000000000000000", "20160401_427AC0000000047", "20161001_428AC0000000040")  # near-duplicates


def build_inputs(folder: Path, shared_data: Path) -> Path:
    """``folder/data``: laws/<law>/[old/]<version>.txt (three versions of one law, one a folder deeper so the glob
    needs ``**``), neko.txt.xz (cc100 layout), cc.jsonl.gz (with a bad line and exact copies)."""
    data = folder / "data"
    for i, version in enumerate(VERSIONS):
        target = data / "laws" / LAW / ("old" if i == 0 else "") / f"{LAW}_{version}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / "neardup_ja_law_versions" / LAW / f"{LAW}_{version}.txt", target)
    neko = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    cut = neko[: 40_000]
    (data / "neko.txt.xz").write_bytes(lzma.compress(cut[: cut.rindex("\n\n")].encode("utf-8")))
    cc = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    items = cc["length_2000"][:60]
    lines = [json.dumps({"text": it["text"], "url": it["url"]}, ensure_ascii=False) for it in items]
    lines += lines[:5]  # exact copies: the dedup step must drop them on every engine
    lines.insert(30, "{not json")  # an input fault: every engine records it the same way
    with gzip.open(data / "cc.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return data


def recipe_text(data: str, out: str, dedup: bool = True) -> str:
    """``data``: the inputs' folder or URL; ``out``: the output folder or URL."""
    steps = "[{normalize: {}}, {dedup: {method: minhash, threshold: 0.8, verify: true, priority: [laws, cc, neko]}}]"
    return f"""\
name: storage
sources:
  - {{name: laws, type: text, split: file, paths: ["{data}/laws/**/*.txt"]}}
  - {{name: neko, type: cc100, paths: ["{data}/neko.txt.xz"]}}
  - {{name: cc, type: jsonl, text_field: text, id_field: null, paths: ["{data}/cc.jsonl.gz"]}}
steps: {steps if dedup else "[{normalize: {}}]"}
output: {{dir: "{out}", keep_dropped: true}}
"""


def comparable(manifest: dict, data: str) -> dict:
    """A manifest without what names the engine, the run's paths, versions and shard listing; input paths in error
    entries shown relative to the data folder (``data`` is its path or URL)."""
    out = {k: v for k, v in manifest.items() if k not in ("engine", "versions", "shards", "dropped_shards", "recipe", "recipe_dir")}
    out["errors"] = [dict(e, file=e["file"].replace(data.rstrip("/") + "/", "")) for e in manifest["errors"]]
    return out
