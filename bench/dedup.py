"""Dedup bench: signature throughput vs datasketch and datatrove, end-to-end time, and quality on real near-dups.

    .venv/bin/python bench/dedup.py [--quick] [--out bench/results/dedup.json]

1. throughput (one process, one core): 2,000-character documents recombined from real Japanese text (neko.txt
   sentences and CC-ja pages); ours = normalize + char 5-gram hashes + 128-permutation signatures + band keys;
   datasketch = MinHash(128).update_batch on the same 5-gram shingles (its default SHA-1 hash); datatrove =
   MinhashDedupSignature(language="ja") as configured for Japanese (Sudachi word 5-grams through spaCy).
2. end to end on the same documents with 10% planted near-duplicates: our recipe through run_local vs datatrove's
   four MinHash stages called in-process on documents already in memory.
3. quality: law versions (same law = same group) + jawiki 2006/2022 samples (same title = same group), exact
   character 5-gram Jaccard of all pairs vs the clusters our recipe finds, verify off and on.
text-dedup is not run: see TEXT_DEDUP. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO / "tests"))  # the tests folder gives us the shared-data finder
TEXT_DEDUP = (
    "skipped: `pip download text-dedup` fetches text_dedup-0.4.0 (2024), which pins rich<14 and urllib3<=2.0 "
    "(the project has rich 15, urllib3 2.8) and pulls pyspark, onnxruntime, unisim; it does not install cleanly "
    "beside our stack, and its README announces the PyPI package's retirement"
)


def shared_dir() -> Path:
    from conftest import shared_data_dir

    return shared_data_dir()


# -- documents ---------------------------------------------------------------------------------------------------
def sentence_pool(shared: Path) -> list[str]:
    neko = (shared / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    cc = json.loads((shared / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    text = neko + "\n" + "\n".join(d["text"] for g in cc.values() for d in g)
    return [s for s in re.split(r"(?<=[。！？])|\n", text) if len(s.strip()) >= 8]


def make_documents(pool: list[str], n: int, chars: int, dup_rate: float, seed: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Documents of ``chars`` characters from random sentences; a ``dup_rate`` share are edited copies of earlier
    ones (a few sentences replaced: Jaccard around 0.85-0.95). Returns texts and planted (original, copy) pairs."""
    rng = random.Random(seed)
    docs: list[list[str]] = []
    planted = []
    for i in range(n):
        if docs and rng.random() < dup_rate:
            j = rng.randrange(len(docs))
            copy = list(docs[j])
            for _ in range(max(1, len(copy) // 25)):
                copy[rng.randrange(len(copy))] = rng.choice(pool)
            docs.append(copy)
            planted.append((j, i))
            continue
        sentences, size = [], 0
        while size < chars:
            s = rng.choice(pool)
            sentences.append(s)
            size += len(s)
        docs.append(sentences)
    return ["".join(d)[:chars] for d in docs], planted


# -- 1. throughput -----------------------------------------------------------------------------------------------
def rate(fn, count: int) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def bench_signatures(docs: list[str], datatrove_docs: int) -> dict:
    from datasketch import MinHash

    from jacorpus.corpus.dedup.lsh import band_keys
    from jacorpus.corpus.dedup.minhash import MinHasher
    from jacorpus.corpus.dedup.shingles import Shingler
    from jacorpus.corpus.dedup.textnorm import normalize_for_dedup

    shingler, hasher = Shingler("char", 5), MinHasher(128, 1)
    shingler.hashes("ｗａｒｍ up the NFKC table")

    def ours() -> None:  # what the scan does per batch of a shard
        for start in range(0, len(docs), 1000):
            sigs = hasher.signatures_flat(*shingler.hash_batch(docs[start : start + 1000]))
            band_keys(sigs, 9, 13)

    def datasketch() -> None:
        for text in docs:
            norm = normalize_for_dedup(text)
            m = MinHash(num_perm=128, seed=1)
            m.update_batch([norm[i : i + 5].encode("utf-8") for i in range(len(norm) - 4)])

    out = {"docs": len(docs), "chars_per_doc": len(docs[0])}
    out["ours_docs_per_s"] = rate(ours, len(docs))
    out["datasketch_docs_per_s"] = rate(datasketch, len(docs))
    out["datatrove_docs_per_s"] = datatrove_signature_rate(docs[:datatrove_docs])
    out["ratio_vs_datasketch"] = out["ours_docs_per_s"] / out["datasketch_docs_per_s"]
    out["ratio_vs_datatrove"] = out["ours_docs_per_s"] / out["datatrove_docs_per_s"]
    return out


def datatrove_signature_rate(docs: list[str]) -> float:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    with tempfile.TemporaryDirectory() as tmp:
        config = MinhashConfig(n_grams=5, num_buckets=9, hashes_per_bucket=13)
        step = MinhashDedupSignature(output_folder=tmp, config=config, language="ja")
        step.word_tokenizer.word_tokenize("吾輩は猫である。")  # load spaCy + Sudachi outside the timing
        documents = [Document(text=t, id=str(i)) for i, t in enumerate(docs)]
        return rate(lambda: step.run(iter(documents), 0, 1), len(docs))


# -- 2. end to end -----------------------------------------------------------------------------------------------
def run_recipe(recipe_text: str, folder: Path, workers: int = 1) -> tuple[dict, float, float]:
    """Manifest, total seconds, seconds of the dedup prepare (the global decision pass)."""
    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    plan = build_plan(parse_recipe(recipe_text, base_dir=str(folder)))
    prepared = {"s": 0.0}
    for stage in plan.stages:
        if stage.global_step is not None:
            original = stage.global_step.prepare

            def timed(*args, _original=original, **kwargs):
                start = time.perf_counter()
                result = _original(*args, **kwargs)
                prepared["s"] += time.perf_counter() - start
                return result

            stage.global_step.prepare = timed
    start = time.perf_counter()
    manifest = run_local(plan, workers=workers, progress=False)
    return manifest, time.perf_counter() - start, prepared["s"]


def bench_end_to_end(docs: list[str], planted: list[tuple[int, int]], folder: Path) -> dict:
    import orjson

    data = folder / "docs"
    data.mkdir(parents=True)
    per_file = -(-len(docs) // 4)
    for f in range(4):
        with open(data / f"part{f}.jsonl", "wb") as fh:
            for i in range(f * per_file, min(len(docs), (f + 1) * per_file)):
                fh.write(orjson.dumps({"id": f"d{i}", "text": docs[i]}) + b"\n")
    recipe = """
name: bench
sources: [{type: jsonl, paths: ["docs/*.jsonl"]}]
steps: [{dedup: {method: minhash, threshold: 0.8}}]
output: {dir: out, keep_dropped: true}
"""
    manifest, total, prepare = run_recipe(recipe, folder)
    import datasets

    dropped = datasets.load_from_disk(str(folder / "out" / "dropped"))
    removed = {r["id"] for r in dropped}
    found = sum(1 for _, copy in planted if f"d{copy}" in removed)
    out = {"docs": len(docs), "planted": len(planted), "ours_s": total, "ours_prepare_s": prepare,
           "ours_removed": len(removed), "ours_planted_removed": found}
    out |= datatrove_end_to_end(docs, planted, folder / "datatrove")
    out["ratio_vs_datatrove"] = out["datatrove_s"] / total
    return out


def datatrove_end_to_end(docs: list[str], planted: list[tuple[int, int]], folder: Path) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )

    config = MinhashConfig(n_grams=5, num_buckets=9, hashes_per_bucket=13)
    sigs, buckets, clusters = (str(folder / x) for x in ("sigs", "buckets", "clusters"))
    signature = MinhashDedupSignature(output_folder=sigs, config=config, language="ja")
    signature.word_tokenizer.word_tokenize("吾輩は猫である。")
    documents = [Document(text=t, id=f"d{i}") for i, t in enumerate(docs)]
    start = time.perf_counter()
    signature.run(iter(documents), 0, 1)
    for bucket in range(config.num_buckets):
        MinhashDedupBuckets(input_folder=sigs, output_folder=buckets, config=config).run(None, bucket, config.num_buckets)
    MinhashDedupCluster(input_folder=buckets, output_folder=clusters, config=config).run(None, 0, 1)
    kept = {d.id for d in MinhashDedupFilter(input_folder=clusters).run(iter(documents), 0, 1)}
    seconds = time.perf_counter() - start
    found = sum(1 for _, copy in planted if f"d{copy}" not in kept)
    return {"datatrove_s": seconds, "datatrove_removed": len(docs) - len(kept), "datatrove_planted_removed": found}


# -- 3. quality --------------------------------------------------------------------------------------------------
QUALITY_RECIPE = """
name: quality
sources:
  - {{type: text, name: laws, split: file, paths: ["{shared}/neardup_ja_law_versions/*/*.txt"]}}
  - {{type: wikipedia, name: wiki2006, paths: ["{shared}/jawiki_xml/jawiki-2006-08-export-0.3-sample.xml.bz2"]}}
  - {{type: wikipedia, name: wiki2022, paths: ["{shared}/jawiki_xml/jawiki-2022-07-pages-articles-sample.xml.bz2"]}}
steps: [{{dedup: {{method: minhash, threshold: {threshold}, verify: {verify}}}}}]
output: {{dir: out, keep_dropped: true}}
"""


def exact_jaccard_matrix(texts: list[str]) -> np.ndarray:
    """Exact Jaccard of character 5-gram sets (normalized text) for all pairs, via a sparse incidence product."""
    from scipy.sparse import csr_matrix

    from jacorpus.corpus.dedup.textnorm import normalize_for_dedup

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        norm = normalize_for_dedup(text)
        grams = {norm[k : k + 5] for k in range(max(1, len(norm) - 4))} if norm else set()
        ids = [vocab.setdefault(g, len(vocab)) for g in grams]
        rows.extend([i] * len(ids))
        cols.extend(ids)
    incidence = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(texts), max(1, len(vocab))))
    inter = (incidence @ incidence.T).toarray().astype(np.float64)
    sizes = np.diag(inter)
    union = sizes[:, None] + sizes[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def bench_quality(shared: Path, folder: Path, threshold: float, verify: bool) -> dict:
    import datasets

    folder.mkdir(parents=True)
    recipe = QUALITY_RECIPE.format(shared=shared, threshold=threshold, verify=str(verify).lower())
    manifest, seconds, _ = run_recipe(recipe, folder)
    kept = datasets.load_from_disk(str(folder / "out")).to_list()
    dropped = [r for r in datasets.load_from_disk(str(folder / "out" / "dropped")).to_list() if r["reason"].startswith("dedup:")]
    rows = kept + dropped
    ids = [r["id"] for r in rows]
    cluster = [r["dedup_cluster_id"] for r in rows]
    group = [r["origin"].split("/")[-1][:15] if r["source"] == "laws" else "wiki:" + json.loads(r["metadata"])["title"] for r in rows]
    jac = exact_jaccard_matrix([r["text"] for r in rows])
    iu = np.triu_indices(len(rows), 1)
    same_cluster = np.array(cluster)[iu[0]] == np.array(cluster)[iu[1]]
    out: dict = {"threshold": threshold, "verify": verify, "docs": len(rows), "seconds": seconds, "removed": len(dropped)}
    out["candidate_pairs"] = manifest["steps"]["dedup"].get("candidate_pairs", 0)
    out["verify_rejected"] = manifest["steps"]["dedup"].get("verify_rejected", 0)
    for t in (0.5, 0.8, 0.85, 0.9):
        above = jac[iu] >= t
        out[f"pairs_j{t}"] = int(above.sum())
        out[f"recall_j{t}"] = float(same_cluster[above].mean()) if above.any() else None
    index = {doc_id: i for i, doc_id in enumerate(ids)}
    right_group = [group[index[r["duplicate_of"]]] == group[index[r["id"]]] for r in dropped]
    direct = [jac[index[r["id"]], index[r["duplicate_of"]]] for r in dropped]
    out["precision_same_group"] = float(np.mean(right_group)) if dropped else None
    out["precision_j_to_keeper"] = float(np.mean(np.array(direct) >= threshold)) if dropped else None
    members: dict[str, list[int]] = {}
    for i, c in enumerate(cluster):
        members.setdefault(c, []).append(i)
    linked = [max(jac[index[r["id"]], j] for j in members[r["dedup_cluster_id"]] if j != index[r["id"]]) >= threshold for r in dropped]
    out["precision_j_to_some_member"] = float(np.mean(linked)) if dropped else None
    out["wiki_pairs_same_title"] = int(sum(1 for a, b in zip(*iu) if group[a] == group[b] and group[a].startswith("wiki:")))
    out["wiki_same_title_max_j"] = float(max((jac[a, b] for a, b in zip(*iu) if group[a] == group[b] and group[a].startswith("wiki:")), default=0))
    return out


def markdown(result: dict) -> str:
    s, e = result["signatures"], result["end_to_end"]
    lines = [
        "# Dedup bench" + (" (--quick)" if result["quick"] else ""), "",
        f"One process, {result['cpu_count']} shared cores. Signatures: {s['docs']} documents of {s['chars_per_doc']} "
        "characters, character 5-grams, 128 permutations (datatrove: Sudachi word 5-grams, 9x13 hashes).", "",
        "| signatures | docs/s | ours is |", "|---|---:|---:|",
        f"| ours (normalize, shingle, sign, band keys) | {s['ours_docs_per_s']:.0f} | |",
        f"| datasketch MinHash.update_batch | {s['datasketch_docs_per_s']:.0f} | {s['ratio_vs_datasketch']:.1f}x faster |",
        f"| datatrove MinhashDedupSignature (ja) | {s['datatrove_docs_per_s']:.1f} | {s['ratio_vs_datatrove']:.0f}x faster |",
        "", f"End to end, {e['docs']} documents with {e['planted']} planted near-copies:", "",
        "| | seconds | removed | planted removed |", "|---|---:|---:|---:|",
        f"| ours: recipe through run_local (prepare {e['ours_prepare_s']:.1f} s) | {e['ours_s']:.1f} | "
        f"{e['ours_removed']} | {e['ours_planted_removed']} |",
        f"| datatrove: 4 MinHash stages in-process | {e['datatrove_s']:.1f} | {e['datatrove_removed']} | "
        f"{e['datatrove_planted_removed']} |",
        "", "Quality (law versions + jawiki 2006/2022 samples; exact character 5-gram Jaccard of all pairs):", "",
        "| threshold | verify | docs | candidate pairs | rejected by verify | removed | recall J>=0.8 | J>=0.85 "
        "| J>=0.9 | J>=0.5 | precision (same law/title) | removed with J>=t to a member |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for q in result["quality"]:
        cells = [q["threshold"], q["verify"], q["docs"], q["candidate_pairs"], q["verify_rejected"], q["removed"],
                 q["recall_j0.8"], q["recall_j0.85"],
                 q["recall_j0.9"], q["recall_j0.5"], q["precision_same_group"], q["precision_j_to_some_member"]]
        lines.append("| " + " | ".join(f"{c:.3f}" if isinstance(c, float) else str(c) for c in cells) + " |")
    lines += ["", f"text-dedup: {result['text_dedup']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes")
    parser.add_argument("--out", default=None, help="write the JSON here too")
    args = parser.parse_args()
    from loguru import logger

    logger.remove()  # datatrove logs every step at INFO
    logger.add(sys.stderr, level="WARNING")
    shared = shared_dir()
    n_docs, n_datatrove, n_e2e = (600, 100, 400) if args.quick else (5000, 600, 3000)
    pool = sentence_pool(shared)
    docs, _ = make_documents(pool, n_docs, 2000, 0.0, seed=1)
    result: dict = {"bench": "dedup", "quick": args.quick, "cpu_count": os.cpu_count(), "text_dedup": TEXT_DEDUP}
    result["signatures"] = bench_signatures(docs, n_datatrove)
    print("signatures", json.dumps(result["signatures"]), file=sys.stderr)
    e2e_docs, planted = make_documents(pool, n_e2e, 2000, 0.1, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        result["end_to_end"] = bench_end_to_end(e2e_docs, planted, Path(tmp) / "e2e")
        print("end_to_end", json.dumps(result["end_to_end"]), file=sys.stderr)
        settings = [(0.8, False), (0.8, True)] + ([] if args.quick else [(0.5, False), (0.5, True)])
        result["quality"] = [bench_quality(shared, Path(tmp) / f"q{t}{v}", t, v) for t, v in settings]
        print("quality", json.dumps(result["quality"]), file=sys.stderr)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        Path(args.out).with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
