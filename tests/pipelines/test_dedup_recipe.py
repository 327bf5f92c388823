"""Recipes with `dedup` (exact, lines, minhash) through the local engine on real Japanese near-duplicates."""

from __future__ import annotations

import functools
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import datasets
import numpy as np
import orjson
import pyarrow as pa
import pytest
from datasketch import MinHash

from jacorpus.corpus.dedup.lines import normalize_line
from jacorpus.corpus.dedup.minhash import lean_minhash
from jacorpus.corpus.dedup.shingles import Shingler
from jacorpus.corpus.dedup.textnorm import normalize_for_dedup
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe


def run(folder: Path, recipe: str, workers: int = 1, output: str | None = None) -> dict:
    plan = build_plan(parse_recipe(recipe, "recipe.yaml", str(folder)), output)
    return run_local(plan, workers=workers, progress=False)


def load(folder: Path, name: str = "out") -> tuple[list[dict], list[dict]]:
    kept = datasets.load_from_disk(str(folder / name)).to_list()
    dropped = datasets.load_from_disk(str(folder / name / "dropped")).to_list()
    return kept, dropped


@functools.lru_cache(maxsize=None)
def char5_set(text: str) -> frozenset[str]:
    """The reference: Python sets of character 5-grams, no hashing involved."""
    t = normalize_for_dedup(text)
    return frozenset(t[i : i + 5] for i in range(len(t) - 4))


def char5_jaccard(a: str, b: str) -> float:
    sa, sb = char5_set(a), char5_set(b)
    return len(sa & sb) / len(sa | sb)


def blocks(text: str) -> list[str]:
    """Paragraphs as the text source cuts them: runs of lines that are not blank."""
    out, current = [], []
    for line in text.split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            out.append("\n".join(current))
            current = []
    return out + (["\n".join(current)] if current else [])


def law_of(row: dict) -> str:
    return row["origin"].rsplit("/", 1)[-1][:15]


MINHASH_RECIPE = """
name: laws-dedup
sources:
  - {{name: egov, type: text, split: file, paths: ["{laws}/*/*.txt"]}}
  - {{name: mirror, type: text, split: file, paths: ["{laws}/346CO0000000264/*.txt"]}}
  - {{name: neko, type: cc100, paths: ["{neko}"]}}
steps:
  - dedup: {{method: minhash, threshold: 0.8, verify: true, priority: [mirror, egov]}}
output: {{dir: out, keep_dropped: true}}
"""


@pytest.fixture(scope="module")
def minhash_run(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("minhash")
    recipe = MINHASH_RECIPE.format(
        laws=shared_data / "neardup_ja_law_versions", neko=shared_data / "plain_text_ja_neko_aozora" / "neko.txt"
    )
    manifest = run(folder, recipe)
    return folder, recipe, manifest


def test_minhash_clusters_law_versions(minhash_run):
    folder, _, manifest = minhash_run
    kept, dropped = load(folder)
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values()) == len(kept) + len(dropped)
    assert set(manifest["dropped"]) == {"dedup:near_duplicate"}
    rows = kept + dropped
    members = defaultdict(list)
    for row in rows:
        members[row["dedup_cluster_id"]].append(row)
    laws = [r for r in rows if r["source"] != "neko"]
    assert len(laws) == 39
    for cluster in members.values():
        assert len({law_of(r) if r["source"] != "neko" else r["id"] for r in cluster}) == 1  # one law per cluster
        assert all(r["dedup_cluster_size"] == len(cluster) for r in cluster)
    # recall: every pair of law texts with exact 5-gram Jaccard >= 0.85 ends in one cluster
    for i, a in enumerate(laws):
        for b in laws[i + 1 :]:
            if law_of(a) == law_of(b) and char5_jaccard(a["text"], b["text"]) >= 0.85:
                assert a["dedup_cluster_id"] == b["dedup_cluster_id"], (a["origin"], b["origin"])
    # verify on: each removed document is a real near-duplicate of some member of its cluster
    by_id = {r["id"]: r for r in rows}
    for row in dropped:
        others = [m for m in members[row["dedup_cluster_id"]] if m["id"] != row["id"]]
        assert max(char5_jaccard(row["text"], m["text"]) for m in others) >= 0.8
        assert row["reason"] == "dedup:near_duplicate" and by_id[row["duplicate_of"]] in kept
        assert row["duplicate_of"] == row["dedup_cluster_id"]
    assert all(r["dedup_cluster_size"] == 1 and r["dedup_cluster_id"] == r["id"] for r in rows if r["source"] == "neko")
    assert manifest["steps"]["dedup"]["clusters"] == sum(1 for c in members.values() if len(c) > 1)


def test_source_priority_then_first_read_picks_the_keeper(minhash_run):
    folder, _, _ = minhash_run
    kept, dropped = load(folder)
    cabinet_order = [r for r in kept + dropped if law_of(r) == "346CO0000000264"]
    assert len(cabinet_order) == 18  # 9 versions, each read by egov and by mirror
    keepers = [r for r in kept if law_of(r) == "346CO0000000264"]
    assert len(keepers) == 1 and keepers[0]["source"] == "mirror"  # listed first in priority
    assert keepers[0]["origin"].endswith("346CO0000000264_20150801_000000000000000.txt#file")  # its first file
    assert keepers[0]["dedup_cluster_size"] == 18
    others = [r for r in kept if r["source"] == "egov"]
    assert others, "egov keeps the clusters of the other laws, where mirror has no member"


def test_signatures_in_work_dir_load_as_datasketch_sketches(minhash_run):
    folder, _, _ = minhash_run
    stage = folder / "out" / ".jacorpus" / "stage0"
    table = pa.ipc.open_file(str(folder / "out" / ".jacorpus" / "global0" / "signatures" / "00000.arrow")).read_all()
    first_row = next(iter(pa.ipc.open_stream(pa.memory_map(str(next(stage.glob("shard-00000-*.arrow")))))))
    text = first_row.column("text")[0].as_py()
    assert table.column("id")[0].as_py() == first_row.column("id")[0].as_py()
    ours = lean_minhash(np.array(table.column("signature")[0].as_py(), dtype=np.uint32))
    shingler = Shingler()
    native = MinHash(num_perm=128, seed=1, hashfunc=shingler.hashfunc)
    native.update_batch(shingler.shingles(text))
    assert np.array_equal(ours.hashvalues, native.hashvalues) and ours.jaccard(native) == 1.0


def test_rerun_gives_identical_clusters(minhash_run):
    folder, recipe, manifest = minhash_run
    again = run(folder, recipe, workers=2, output=str(folder / "again"))
    kept, dropped = load(folder)
    kept2, dropped2 = load(folder, "again")
    assert [(r["id"], r["dedup_cluster_id"], r["dedup_cluster_size"]) for r in kept] == [
        (r["id"], r["dedup_cluster_id"], r["dedup_cluster_size"]) for r in kept2
    ]
    assert sorted((r["id"], r["duplicate_of"]) for r in dropped) == sorted(
        (r["id"], r["duplicate_of"]) for r in dropped2
    )
    assert again["dropped"] == manifest["dropped"] and again["steps"]["dedup"] == manifest["steps"]["dedup"]


def test_prepare_resumes_and_decides_the_same(minhash_run, monkeypatch):
    """A prepare that died after the scan resumes from the scan markers and writes identical decisions."""
    import jacorpus.corpus.dedup.prepare as prepare_module

    folder, recipe, _ = minhash_run
    stage, work = folder / "out" / ".jacorpus" / "stage0", folder / "resume"
    step = build_plan(parse_recipe(recipe, "recipe.yaml", str(folder))).stages[0].global_step

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(prepare_module, "clusters", crash)
    with pytest.raises(RuntimeError, match="killed"):
        step.prepare(str(stage), str(work), 1, progress=False)
    monkeypatch.undo()
    assert not (work / "DONE.json").exists()
    markers = sorted((work / "ranks").iterdir())
    assert len(markers) == 40  # one scan per task: 30 + 9 law files and neko.txt
    os.remove(markers[3])  # task 3 had not finished its scan
    import jacorpus.corpus.dedup.scan as scan_module

    rescanned = []

    class CountingSpill(scan_module.SpillWriter):
        def __init__(self, directory, rank, *args, **kwargs):
            rescanned.append(rank)
            super().__init__(directory, rank, *args, **kwargs)

    monkeypatch.setattr(scan_module, "SpillWriter", CountingSpill)
    stats = step.prepare(str(stage), str(work), 1, progress=False)
    assert rescanned == [3]  # the finished scans were kept

    def decisions(folder: Path) -> dict[str, list[dict]]:
        return {p.name: pa.ipc.open_file(str(p)).read_all().to_pylist() for p in (folder / "decisions").iterdir()}

    assert decisions(work) == decisions(folder / "out" / ".jacorpus" / "global0")
    kept, dropped = load(folder)
    in_clusters = sum(r["dedup_cluster_size"] > 1 for r in kept + dropped)
    assert sum(len(rows) for rows in decisions(work).values()) == in_clusters
    assert json.loads((work / "DONE.json").read_text())["stats"] == stats
    assert not (work / "spill").exists() and not (work / "ranks").exists()
    assert step.prepare(str(stage), str(work), 1, progress=False) == stats  # DONE: nothing recomputed


def test_exact_dedup_across_sources_with_priority(tmp_path, shared_data):
    neko = shared_data / "plain_text_ja_neko_aozora" / "neko.txt"
    paragraphs = blocks(neko.read_text(encoding="utf-8"))
    variants = tmp_path / "variants.jsonl"  # the same paragraphs re-typed: full-width spaces, other line breaks
    with open(variants, "wb") as fh:
        for p in paragraphs[100:110]:
            fh.write(orjson.dumps({"text": "　" + p.replace("\n", "").replace("。", "。\n")}) + b"\n")
    recipe = f"""
name: exact
sources:
  - {{name: aozora, type: text, paths: ["{neko}"]}}
  - {{name: web, type: jsonl, paths: ["{variants}"]}}
steps: [{{dedup: {{method: exact, priority: [web], verify: true}}}}]
output: {{dir: out, keep_dropped: true}}
"""
    manifest = run(tmp_path, recipe)
    kept, dropped = load(tmp_path)
    distinct = {normalize_for_dedup(p) for p in paragraphs if normalize_for_dedup(p)}
    assert len(kept) == len(distinct)
    assert manifest["dropped"].get("dedup:exact_duplicate") == len(paragraphs) + 10 - len(distinct)
    web_ids = {r["id"] for r in kept if r["source"] == "web"}
    assert len(web_ids) == 10  # the web copies win by priority
    replaced = [r for r in dropped if r["duplicate_of"] in web_ids]
    assert len(replaced) >= 10 and all(r["source"] == "aozora" for r in replaced)
    counts = Counter(normalize_for_dedup(p) for p in paragraphs)
    repeated = [t for t, c in counts.items() if c > 1 and t]
    for r in kept:
        if normalize_for_dedup(r["text"]) in repeated:
            assert r["dedup_cluster_size"] == counts[normalize_for_dedup(r["text"])] + (r["source"] == "web")


def test_line_dedup_removes_boilerplate(tmp_path, shared_data):
    data = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    pages = [d["text"] for group in data.values() for d in group][:60]
    header = "ホーム ＞ 地域のお知らせ ＞ 記事一覧"
    footer = "Copyright © {} 地域情報ネット All Rights Reserved."
    docs = [f"{header}\n{text}\n{footer.format(2000 + i % 20)}" for i, text in enumerate(pages)]
    docs.append(f"{header}\nお知らせ\n{footer.format(2024)}")  # only boilerplate around one word
    with open(tmp_path / "pages.jsonl", "wb") as fh:
        for i, doc in enumerate(docs):
            fh.write(orjson.dumps({"id": f"p{i}", "text": doc}) + b"\n")
    recipe = """
name: lines
sources: [{type: jsonl, paths: ["pages.jsonl"]}]
steps: [{dedup: {method: lines, min_count: 3, min_chars: 20}}]
output: {dir: out, keep_dropped: true}
"""
    manifest = run(tmp_path, recipe)
    kept, dropped = load(tmp_path)
    # reference: lines (normalized, digits folded) present in >= 3 documents
    per_doc = [{normalize_line(line) for line in d.split("\n")} - {""} for d in docs]
    frequent = {line for line, c in Counter(x for s in per_doc for x in s).items() if c >= 3}
    assert normalize_line(header) in frequent and normalize_line(footer.format(1999)) in frequent
    assert [r["id"] for r in dropped] == ["p60"] and dropped[0]["reason"] == "dedup:too_short_after_line_dedup"
    assert len(kept) == 60
    for row, doc in zip(kept, docs):
        lines = doc.split("\n")
        expected = [line for line in lines if normalize_line(line) not in frequent]
        assert row["text"] == "\n".join(expected).strip("\n")
        assert row["dedup_lines_removed"] == len(lines) - len(expected) >= 2
    last = sum(normalize_line(line) in frequent for line in docs[-1].split("\n"))
    assert manifest["steps"]["dedup"]["lines_removed"] == sum(r["dedup_lines_removed"] for r in kept) + last
    assert manifest["steps"]["dedup"]["frequent_lines"] == len(frequent)


def test_word_shingles_cluster_the_cabinet_order(tmp_path, shared_data):
    laws = shared_data / "neardup_ja_law_versions"
    recipe = f"""
name: words
sources: [{{type: text, split: file, paths: ["{laws}/346CO0000000264/*.txt", "{laws}/417AC0000000048/*.txt"]}}]
steps: [{{dedup: {{method: minhash, unit: word, ngram: 3, threshold: 0.8}}}}]
output: {{dir: out, keep_dropped: true}}
"""
    run(tmp_path, recipe)
    kept, dropped = load(tmp_path)
    cabinet = [r for r in kept + dropped if law_of(r) == "346CO0000000264"]
    assert len({r["dedup_cluster_id"] for r in cabinet}) == 1 and cabinet[0]["dedup_cluster_size"] == 9
    other = {r["dedup_cluster_id"] for r in kept + dropped if law_of(r) == "417AC0000000048"}
    assert not other & {cabinet[0]["dedup_cluster_id"]}


@pytest.mark.parametrize(
    "options,message",
    [
        ("{method: exact, min_count: 3}", "option 'min_count' does not apply to method 'exact'"),
        ("{method: lines, threshold: 0.9}", "option 'threshold' does not apply to method 'lines'"),
        ("{method: minhash, bands: 20, rows: 7}", "bands*rows must be at most num_perm=128"),
        ("{method: fuzzy}", "steps[0].dedup.method"),
    ],
)
def test_recipe_errors_name_the_dedup_option(options, message):
    from jacorpus.pipelines.recipe import RecipeError

    text = f"name: x\nsources: [{{type: text, paths: [a.txt]}}]\nsteps:\n  - dedup: {options}\noutput: {{dir: out}}\n"
    with pytest.raises(RecipeError) as error:
        parse_recipe(text, "recipe.yaml")
    assert message in str(error.value) and "recipe.yaml:4" in str(error.value)
