"""Dedup bench: recall and precision against an exact ground truth, cost per CPU-second, and signature throughput,
jacorpus against rensa, HojiChar and datasketch doing the same work.

    taskset -c 0 .venv/bin/python bench/dedup.py [--quick] [--part all|planted|signatures] [--out DIR]

DIR defaults to $JACORPUS_BENCH_RESULTS or the scratch folder out/bench.

`make bench-record` writes bench/results. The process pins itself to one CPU (its children inherit it) and
every time is CPU time of the process tree (the engine's workers included) unless it says wall.

1. planted-edit set (bench/_neardup_set.py): 18,000 documents of real Japanese text, 2,000 planted edited copies,
   the 30 law versions; ground truth = exact character 5-gram Jaccard of every pair (computed without jacorpus).
   Every contender dedups the same normalized text (NFKC, lower case, no whitespace) with character 5-grams, 128
   permutations, threshold 0.8; the peers' times include that normalization (jacorpus does it inside). Reported:
   pair recall (pairs at J >= t that end in one cluster), precision (clustered documents with a J >= 0.8 partner
   inside their cluster) and the S-curve (share of pairs found per Jaccard bin).
   - jacorpus: the recipe through run_local (read jsonl, write shards, dedup pass, write the output), at the shipped
     defaults and at the earlier 9x13 without verify.
   - datasketch MinHashLSH(0.8, 128) (9x13), MinHash with xxh32 (its fastest pure-Python hash; SHA-1 is slower).
   - rensa RMinHash + RMinHashLSH(0.8, 128, 16 bands); HojiChar GenerateDedupLSH(128, 0.8) (9x13) +
     InlineDeduplicator. Peers' candidate pairs are joined by union-find (their clusters), without verification.
2. signatures: 2,000-character documents, raw text -> signature, 128 and 256 permutations, contenders in turn
   within each round (alternating), docs per CPU-second.
text-dedup: see TEXT_DEDUP. The last line printed is one JSON object with every figure.
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
sys.path.insert(0, str(REPO / "bench"))
from _common import results_dir, shared_data_dir  # noqa: E402
import _neardup_set as neardup_set  # noqa: E402

TEXT_DEDUP_VENV = Path(os.environ.get("TEXT_DEDUP_VENV", "/tmp/tdvenv"))  # python -m venv + pip install text-dedup==0.4.0
TEXT_DEDUP = (
    "text-dedup 0.4.0 (the last release on the package index, 2024) cannot share this venv: it pins rich<14 and "
    "urllib3<=2.0 and pulls pyspark, onnxruntime and unisim. In a venv of its own (`python -m venv /tmp/tdvenv && "
    "/tmp/tdvenv/bin/pip install text-dedup==0.4.0`: installs, no torch) `--part text_dedup` runs its MinHash "
    "(bench/_text_dedup_minhash.py) beside jacorpus's default"
)
THRESHOLD, NUM_PERM = 0.8, 128


def cpu_seconds() -> float:
    """CPU seconds of this process tree: its own, its reaped children's, and those of live descendants (the local
    engine's forkserver lives as long as this process, and reaps the workers it forks: their time is in its
    children's times)."""
    import psutil

    own = psutil.Process()
    total = sum(own.cpu_times()[:4])
    for child in own.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:4])
        except psutil.NoSuchProcess:  # ended between the listing and the look-up: its reaper counted it
            pass
    return total


def one_core() -> str:
    """Pin this process (and its children) to one CPU; returns the load average for the record."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))])


# -- contenders on the planted set: each returns a cluster label per document ------------------------------------
def jacorpus_recipe(texts: list[str], folder: Path, options: str) -> np.ndarray:
    import datasets
    import orjson

    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import parse_recipe

    (folder / "docs").mkdir(parents=True)
    with open(folder / "docs" / "part0.jsonl", "wb") as fh:
        for i, text in enumerate(texts):
            fh.write(orjson.dumps({"id": f"d{i}", "text": text}) + b"\n")
    recipe = f"""
name: bench
sources: [{{type: jsonl, paths: ["docs/*.jsonl"]}}]
steps: [{{dedup: {{method: minhash, threshold: {THRESHOLD}{options}}}}}]
output: {{dir: out, keep_dropped: true}}
"""
    run_local(build_plan(parse_recipe(recipe, base_dir=str(folder))), workers=1, progress=False)
    label = np.arange(len(texts))
    for part in (folder / "out", folder / "out" / "dropped"):
        table = datasets.load_from_disk(str(part))
        for doc_id, cluster in zip(table["id"], table["dedup_cluster_id"]):
            label[int(doc_id[1:])] = int(cluster[1:])
    return label


def shingles(norm: str) -> list[str]:
    return [norm[k : k + 5] for k in range(max(1, len(norm) - 4))]


def datasketch_lsh(texts: list[str]) -> np.ndarray:
    import xxhash
    from datasketch import MinHash, MinHashLSH

    from jacorpus.corpus.dedup.textnorm import normalize_for_dedup

    lsh, uf = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM), UnionFind(len(texts))
    for i, text in enumerate(texts):
        m = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=xxhash.xxh32_intdigest)
        m.update_batch([s.encode("utf-8") for s in shingles(normalize_for_dedup(text))])
        for j in lsh.query(m):
            uf.union(i, j)
        lsh.insert(i, m)
    return uf.labels()


def rensa_lsh(texts: list[str]) -> np.ndarray:
    from rensa import RMinHash, RMinHashLSH

    from jacorpus.corpus.dedup.textnorm import normalize_for_dedup

    lsh, uf = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16), UnionFind(len(texts))
    for i, text in enumerate(texts):
        m = RMinHash(num_perm=NUM_PERM, seed=1)
        m.update(shingles(normalize_for_dedup(text)))
        for j in lsh.query(m):
            uf.union(i, j)
        lsh.insert(i, m)
    return uf.labels()


def hojichar_lsh(texts: list[str]) -> np.ndarray:
    from hojichar import Document
    from hojichar.filters.deduplication import GenerateDedupLSH, InlineDeduplicator

    from jacorpus.corpus.dedup.textnorm import normalize_for_dedup

    keys, inline = GenerateDedupLSH(num_perm=NUM_PERM, threshold=THRESHOLD), InlineDeduplicator()
    first: dict[str, int] = {}
    uf = UnionFind(len(texts))
    for i, text in enumerate(texts):
        doc = inline.apply(keys.apply(Document(normalize_for_dedup(text))))
        for key in doc.extras["dedup_lsh"]:  # the clusters its key pool implies (it only rejects the later ones)
            uf.union(i, first.setdefault(key, i))
    return uf.labels()


def text_dedup_lsh(texts: list[str], work: Path, hash_name: str) -> tuple[np.ndarray, float]:
    """text-dedup's MinHash in its own venv: (cluster labels, CPU seconds of its MinHash work, as it measured them)."""
    import subprocess

    path = work / "text_dedup_input.json"
    if not path.exists():
        path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([str(TEXT_DEDUP_VENV / "bin" / "python"), str(REPO / "bench" / "_text_dedup_minhash.py"),
                           str(path), hash_name], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return np.unique(np.array(out["labels"]), return_inverse=True)[1], out["cpu_s"]


def bench_text_dedup(texts: list[str], truth: dict, work: Path, rounds: int) -> dict:
    """jacorpus's default recipe and text-dedup's MinHash (SHA-1, its default hash, and xxh3, its fastest), in turn.
    jacorpus's CPU time is the whole recipe (read jsonl, write shards, dedup, write output); text-dedup's is its
    MinHash work alone (normalize, signatures, bands, union-find), without the datasets I/O of its CLI."""
    contenders = {
        "jacorpus default (16x8, verify)": lambda k: jacorpus_recipe(texts, work / f"a{k}", ""),
        "text-dedup 0.4.0 (9x13, sha1)": lambda k: text_dedup_lsh(texts, work, "sha1"),
        "text-dedup 0.4.0 (9x13, xxh3)": lambda k: text_dedup_lsh(texts, work, "xxh3"),
    }
    jacorpus_recipe(texts[:50], work / "warm", "")
    rows: dict = {name: {"cpu_s": []} for name in contenders}
    for k in range(rounds):
        for name, run in contenders.items():
            cpu = cpu_seconds()
            out = run(k)
            label, own_cpu = out if isinstance(out, tuple) else (out, cpu_seconds() - cpu)
            rows[name]["cpu_s"].append(own_cpu)
            rows[name] |= quality(label, truth)
            print(name, json.dumps({x: rows[name][x] for x in ("cpu_s", "recall_0.8", "precision")}), file=sys.stderr)
    ours = rows["jacorpus default (16x8, verify)"]["cpu_s"]
    for name, row in rows.items():  # per-round ratio, then the median: > 1 means jacorpus used less CPU
        row["jacorpus_is"] = float(np.median([t / o for t, o in zip(row["cpu_s"], ours)]))
    return rows


def quality(label: np.ndarray, truth: dict) -> dict:
    i, j, jac = truth["i"], truth["j"], truth["jaccard"]
    same = label[i] == label[j]
    out: dict = {}
    for t in (0.5, 0.7, 0.8, 0.9, 0.95):
        above = jac >= t
        out[f"recall_{t}"] = float(same[above].mean())
    sizes = np.bincount(label, minlength=len(label))
    clustered = np.flatnonzero(sizes[label] > 1)
    justified = np.zeros(len(label), dtype=bool)
    good = same & (jac >= THRESHOLD)
    justified[i[good]] = justified[j[good]] = True
    out["clustered"] = int(clustered.size)
    out["removed"] = int(clustered.size - np.unique(label[clustered]).size)
    out["precision"] = float(justified[clustered].mean()) if clustered.size else 1.0
    bins = np.arange(0.5, 1.0001, 0.025)
    which = np.clip(np.digitize(jac, bins) - 1, 0, len(bins) - 2)
    out["scurve"] = [float(same[which == b].mean()) if (which == b).any() else None for b in range(len(bins) - 1)]
    return out


def bench_planted(texts: list[str], truth: dict, work: Path, rounds: int) -> dict:
    contenders = {
        "jacorpus default (16x8, verify)": lambda k: jacorpus_recipe(texts, work / f"a{k}", ""),
        "jacorpus 9x13, no verify (previous default)": lambda k: jacorpus_recipe(
            texts, work / f"b{k}", ", bands: 9, rows: 13, verify: false"),
        "jacorpus 16x8, no verify": lambda k: jacorpus_recipe(texts, work / f"c{k}", ", verify: false"),
        "jacorpus 9x13, verify": lambda k: jacorpus_recipe(texts, work / f"d{k}", ", bands: 9, rows: 13"),
        "rensa 0.5 (16 bands)": lambda k: rensa_lsh(texts),
        "HojiChar 0.18 (9x13)": lambda k: hojichar_lsh(texts),
        "datasketch 2.0 (9x13, xxh32)": lambda k: datasketch_lsh(texts),
    }
    jacorpus_recipe(texts[:50], work / "warm", "")  # imports and numba's cache outside the timing
    rows: dict = {name: {"cpu_s": [], "wall_s": []} for name in contenders}
    for k in range(rounds):  # contenders in turn within a round: load from other processes hits them alike
        for name, run in contenders.items():
            cpu, wall = cpu_seconds(), time.perf_counter()
            label = run(k)
            rows[name]["cpu_s"].append(cpu_seconds() - cpu)
            rows[name]["wall_s"].append(time.perf_counter() - wall)
            rows[name] |= quality(label, truth)
            print(name, json.dumps({x: rows[name][x] for x in ("cpu_s", "recall_0.8", "precision")}), file=sys.stderr)
    return rows


# -- signatures --------------------------------------------------------------------------------------------------
def signature_docs(shared: Path, n: int) -> list[str]:
    rng = random.Random(1)
    pool = neardup_set.sentence_pool(shared)
    docs = []
    for _ in range(n):
        text = ""
        while len(text) < 2000:
            text += rng.choice(pool)
        docs.append(text[:2000])
    return docs


def bench_signatures(docs: list[str], num_perm: int, rounds: int) -> dict:
    import xxhash
    from datasketch import MinHash
    from hojichar.filters.deduplication import GenerateDedupLSH
    from rensa import RMinHash

    from jacorpus.corpus.dedup.hashing import batch_window_murmur3_numpy
    from jacorpus.corpus.dedup.minhash import MinHasher
    from jacorpus.corpus.dedup.shingles import Shingler
    from jacorpus.corpus.dedup.textnorm import codepoints, normalize_for_dedup

    shingler, hasher = Shingler("char", 5), MinHasher(num_perm, 1)
    hojichar = GenerateDedupLSH(num_perm=num_perm, threshold=THRESHOLD)
    hasher.signatures_flat(*shingler.hash_batch(docs[:10]))  # compile / load numba's cache

    def ours() -> None:
        for start in range(0, len(docs), 1000):
            hasher.signatures_flat(*shingler.hash_batch(docs[start : start + 1000]))

    def ours_numpy() -> None:  # the fallback without numba
        for start in range(0, len(docs), 1000):
            tokens = [codepoints(normalize_for_dedup(t)) for t in docs[start : start + 1000]]
            counts = np.array([t.size for t in tokens])
            hasher.signatures_flat_numpy(*batch_window_murmur3_numpy(np.concatenate(tokens), counts, 5))

    def rensa() -> None:
        for text in docs:
            m = RMinHash(num_perm=num_perm, seed=1)
            m.update(shingles(normalize_for_dedup(text)))
            m.digest()

    def hoji() -> None:
        for text in docs:
            hojichar.calculate_minhash_signature(normalize_for_dedup(text))

    def datasketch() -> None:
        for text in docs:
            m = MinHash(num_perm=num_perm, seed=1, hashfunc=xxhash.xxh32_intdigest)
            m.update_batch([s.encode("utf-8") for s in shingles(normalize_for_dedup(text))])

    contenders = {"jacorpus (numba)": ours, "jacorpus (numpy fallback)": ours_numpy, "rensa RMinHash": rensa,
                  "HojiChar (rensa inside)": hoji, "datasketch (xxh32)": datasketch}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.process_time()
            run()
            cpu[name].append(time.process_time() - start)
    out = {"num_perm": num_perm, "docs": len(docs), "chars_per_doc": 2000, "rounds": rounds}
    for name, seconds in cpu.items():
        out[name] = {"cpu_s": seconds, "docs_per_cpu_s": len(docs) / float(np.median(seconds))}
        # the ratio of each round (same load for both), then its median
        out[name]["jacorpus_is"] = float(np.median(np.array(seconds) / np.array(cpu["jacorpus (numba)"])))
    return out


# -- report ------------------------------------------------------------------------------------------------------
def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jacorpus.corpus.dedup.lsh import candidate_probability

    bins = np.arange(0.5, 1.0001, 0.025)
    mids = (bins[:-1] + bins[1:]) / 2
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, row in result["planted"].items():
        if name.startswith("jacorpus 16x8, no") or name.startswith("jacorpus 9x13, verify"):
            continue
        ys = [np.nan if y is None else y for y in row["scurve"]]
        ax.plot(mids, ys, marker="o", ms=3, label=f"{name}: found")
    s = np.linspace(0.5, 1, 200)
    for (b, r), style in (((16, 8), "k--"), ((9, 13), "k:"), ((25, 10), "k-.")):
        ax.plot(s, candidate_probability(s, b, r), style, lw=1, label=f"P(candidate) {b}x{r}")
    ax.axvline(THRESHOLD, color="grey", lw=0.5)
    ax.set_xlabel("exact Jaccard (character 5-grams)")
    ax.set_ylabel("share of pairs in one cluster")
    ax.set_title("S-curves on the planted-edit set (threshold 0.8, 128 permutations)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(result: dict) -> str:
    p, t = result["planted"], result["truth"]
    base = p["jacorpus 9x13, no verify (previous default)"]
    lines = [
        "# Dedup bench" + (" (--quick)" if result["quick"] else ""), "",
        f"`{result['command']}`; one CPU (sched_setaffinity), load average at start {result['load']} on a "
        f"{result['cpu_count']}-core machine shared with other jobs; times are CPU seconds of the process tree (engine workers included), "
        "median of the rounds; contenders alternate within each round.", "",
        f"## Planted-edit set: {t['docs']} documents ({t['copies']} planted edited copies, {t['laws']} law versions)",
        "", f"Exact character 5-gram Jaccard of every pair (bench/_neardup_set.py): {t['pairs_0.5']} pairs at J >= 0.5, "
        f"{t['pairs_0.8']} at J >= 0.8. Threshold 0.8, 128 permutations for every contender.", "",
        "| contender | recall J>=0.8 | J>=0.9 | J>=0.7 | precision | removed | CPU s | wall s | CPU vs previous default |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in p.items():
        cpu, wall = float(np.median(row["cpu_s"])), float(np.median(row["wall_s"]))
        lines.append(f"| {name} | {row['recall_0.8']:.3f} | {row['recall_0.9']:.3f} | {row['recall_0.7']:.3f} | "
                     f"{row['precision']:.3f} | {row['removed']} | {cpu:.1f} | {wall:.1f} | "
                     f"{cpu / float(np.median(base['cpu_s'])):.2f}x |")
    lines += ["", "Precision: share of the documents in multi-document clusters that have a partner at J >= 0.8 in "
              "their cluster. Peers cluster their LSH candidates (union-find) without checking them; jacorpus with "
              "`verify` joins only pairs whose exact Jaccard reaches the threshold.", "",
              "![S-curves](dedup_scurve.png)", "", "## Signatures, raw text to signature, docs per CPU-second", ""]
    for sig in result["signatures"]:
        lines += [f"{sig['docs']} documents of 2,000 characters, {sig['num_perm']} permutations, {sig['rounds']} "
                  f"rounds (load average at start {result.get('load_signatures', result['load'])}):", "", "| contender | docs per CPU-s | jacorpus (numba) is |", "|---|---:|---:|"]
        for name, row in sig.items():
            if isinstance(row, dict):
                lines.append(f"| {name} | {row['docs_per_cpu_s']:.0f} | {row['jacorpus_is']:.2f}x |")
        lines.append("")
    lines += [f"text-dedup: {result['text_dedup']}."]
    if "text_dedup_planted" in result:
        td = result["text_dedup_planted"]
        lines += ["", f"## text-dedup on the planted-edit set (`{td['command']}`, load average at start {td['load']})", "",
                  "Same texts, normalization, character 5-grams, 128 permutations, threshold 0.8. jacorpus's CPU time is "
                  "the whole recipe (read, shards, dedup, write); text-dedup's is its MinHash work alone (its datasets "
                  "I/O left out). Median of the rounds; 'jacorpus is': median per-round CPU ratio text-dedup / jacorpus.", "",
                  "| contender | recall J>=0.8 | J>=0.9 | precision | removed | CPU s | jacorpus is |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name, row in td["rows"].items():
            lines.append(f"| {name} | {row['recall_0.8']:.3f} | {row['recall_0.9']:.3f} | {row['precision']:.3f} | "
                         f"{row['removed']} | {float(np.median(row['cpu_s'])):.1f} | {row['jacorpus_is']:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 documents, 1 round (a smoke run)")
    parser.add_argument("--part", choices=["all", "planted", "signatures", "text_dedup"], default="all",
                        help="run one part and keep the other from an existing OUT/dedup.json")
    parser.add_argument("--out", type=Path, default=results_dir(), help="folder for dedup.{json,md,png}")
    args = parser.parse_args()
    load = one_core()
    from loguru import logger

    logger.remove()  # datatrove logs every stage at INFO
    logger.add(sys.stderr, level="WARNING")
    shared = shared_data_dir()
    base, copies, rounds, sig_docs = (1800, 200, 1, 300) if args.quick else (18000, 2000, 2, 2000)
    result: dict = {"bench": "dedup", "quick": args.quick, "cpu_count": os.cpu_count(), "load": load,
                    "command": "taskset -c 0 .venv/bin/python bench/dedup.py" + (" --quick" if args.quick else ""),
                    "text_dedup": TEXT_DEDUP}
    if args.part != "all":  # the other part's figures (and their load) stay as recorded
        kept = json.loads((args.out / "dedup.json").read_text(encoding="utf-8"))
        keep = {"signatures": ("truth", "planted", "load"), "planted": ("signatures",),
                "text_dedup": ("truth", "planted", "load", "signatures", "load_signatures")}[args.part]
        result |= {k: kept[k] for k in keep if k in kept}
        if args.part != "text_dedup":
            result["load_signatures" if args.part == "signatures" else "load"] = load
        if "text_dedup_planted" in kept:  # recorded by --part text_dedup only
            result["text_dedup_planted"] = kept["text_dedup_planted"]
    if args.part == "text_dedup":
        data = neardup_set.load_or_build(shared, base, copies, REPO / "out" / "bench" / "cache")
        with tempfile.TemporaryDirectory() as tmp:
            result["text_dedup_planted"] = {
                "load": load, "command": "taskset -c 0 .venv/bin/python bench/dedup.py --part text_dedup",
                "rows": bench_text_dedup(data["texts"], data, Path(tmp), rounds)}
    if args.part in ("all", "planted"):
        data = neardup_set.load_or_build(shared, base, copies, REPO / "out" / "bench" / "cache")
        texts = data["texts"]
        result["truth"] = {"docs": len(texts), "copies": data["kinds"].count("copy"),
                           "laws": data["kinds"].count("law"), "pairs_0.5": int(data["jaccard"].size),
                           "pairs_0.8": int((data["jaccard"] >= 0.8).sum())}
        with tempfile.TemporaryDirectory() as tmp:
            result["planted"] = bench_planted(texts, data, Path(tmp), rounds)
    if args.part in ("all", "signatures"):
        docs = signature_docs(shared, sig_docs)
        result["signatures"] = [bench_signatures(docs, p, 1 if args.quick else 3) for p in (128, 256)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dedup.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "dedup.md").write_text(markdown(result), encoding="utf-8")
    plot(result, args.out / "dedup_scurve.png")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
