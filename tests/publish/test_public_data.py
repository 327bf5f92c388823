"""What `jacorpus card` writes and `jacorpus publish` uploads carries no machine paths (origins, recipe, errors),
keeps the ids of the local corpus, coalesces shards into few size-bounded Parquet files, and shows the funnel in
pipeline order with characters and the drops per source x reason. Inputs lie inside the recipe folder, outside it
through a climbing relative path, and outside it through an absolute glob (shared data)."""

from __future__ import annotations

import json
import shutil

import datasets
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from jacorpus.corpus.document import stable_id
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import load_recipe
from jacorpus.publish.card import write_card
from jacorpus.publish.hub import planned_files, stage
from jacorpus.publish.public_paths import PublicNames

FEEDS = ["EUC-JP/akaname.main.jp.xml", "SHIFT_JIS/dogsinn.jp.xml", "CP932/hardsoft.at.webry.info.xml"]  # last: HTML
LAWS = "neardup_ja_law_versions"


@pytest.fixture(scope="module")
def built(tmp_path_factory, repo_root, shared_data):
    tmp = tmp_path_factory.mktemp("public")
    project, elsewhere = tmp / "project", tmp / "elsewhere"
    (project / "texts").mkdir(parents=True)
    (elsewhere / "feeds").mkdir(parents=True)
    shutil.copy(repo_root / "data" / "demo" / "aozora" / "neko-head.txt", project / "texts" / "neko.txt")
    for name in FEEDS:
        shutil.copy(shared_data / "legacy_encoding_ja_feeds" / name, elsewhere / "feeds" / name.split("/")[1])
    (elsewhere / "ng.txt").write_text("死ね\n", encoding="utf-8")
    (project / "mix.yaml").write_text(f"""\
name: public-test
sources:
  - {{name: neko, type: cc100, license: public-domain, hub_dataset: example/aozora-neko, paths: [texts/neko.txt]}}
  - {{name: feeds, type: feed, license: other, paths: [../elsewhere/feeds]}}
  - {{name: laws, type: text, split: file, license: cc0-1.0, paths: ["{shared_data}/{LAWS}/417*/*.txt"]}}
license_name: mixed (public domain, CC0, blog posts quoted with permission)
license_link: https://example.org/public-test/LICENSES.md
steps:
  - normalize: {{}}
  - quality: {{preset: none, min_chars: 50, sources: [feeds]}}
  - ngwords: {{lists: ["{elsewhere}/ng.txt"], sources: [feeds]}}
  - quality: {{preset: none, min_chars: 20, skip_sources: [feeds]}}
  - dedup: {{method: minhash, threshold: 0.8, priority: [laws, neko, feeds]}}
output: {{dir: "{tmp}/built/corpus", keep_dropped: true}}
""", encoding="utf-8")
    manifest = run_local(build_plan(load_recipe(str(project / "mix.yaml"))), progress=False)
    out = tmp / "built" / "corpus"
    path, notes = write_card(str(out))
    hub = stage(str(out), planned_files(str(out), "dataset"))
    return {"tmp": tmp, "out": out, "hub": hub, "manifest": manifest, "notes": notes, "elsewhere": elsewhere,
            "laws": shared_data / LAWS}


def hub_rows(hub) -> list[dict]:
    files = sorted((hub / "data").glob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def test_published_origins_name_inputs_without_machine_paths(built):
    from pathlib import Path

    hub = Path(built["hub"])
    rows = hub_rows(hub)
    by_source: dict[str, set[str]] = {}
    for row in rows:
        by_source.setdefault(row["source"], set()).add(row["origin"].rpartition("#")[0])
    # inside the recipe folder: relative to it; outside: relative to the source's common root
    assert by_source["neko"] == {"texts/neko.txt"}
    assert by_source["feeds"] <= {f"feeds/{n.split('/')[1]}" for n in FEEDS[:2]} and by_source["feeds"]
    laws = {p.relative_to(built["laws"]).as_posix() for p in built["laws"].glob("417*/*.txt")}
    assert by_source["laws"] and by_source["laws"] <= laws
    # every file that goes to the Hub: no machine path, no climb
    machine = [str(built["tmp"]), str(built["laws"].parent), "../"]
    for f in hub.rglob("*"):
        if f.is_file() and ".cache" not in f.parts and f.suffix != ".parquet" and f.suffix != ".png":
            text = f.read_text(encoding="utf-8")
            assert not any(m in text for m in machine), (f, [m for m in machine if m in text])
    for row in rows:
        assert not any(m in str(value) for m in machine for value in row.values()), row["origin"]


def test_public_manifest_recipe_and_errors(built):
    from pathlib import Path

    public = json.loads((Path(built["hub"]) / "manifest.json").read_text(encoding="utf-8"))
    assert "recipe_dir" not in public
    sources = {s["name"]: s["paths"] for s in public["recipe"]["sources"]}
    assert sources == {"neko": ["texts/neko.txt"], "feeds": ["feeds"], "laws": ["417*/*.txt"]}
    assert public["recipe"]["output"]["dir"] == "corpus"
    assert public["recipe"]["steps"][2]["ngwords"]["lists"] == ["ng.txt"]
    # the HTML page among the feeds is an error entry, named like the origins
    (error,) = public["errors"]
    assert error["file"] == "feeds/hardsoft.at.webry.info.xml" and error["step"] == "feeds"
    # the local manifest keeps what a person on this machine needs to find the file
    local = json.loads((built["out"] / "manifest.json").read_text(encoding="utf-8"))
    assert local["errors"][0]["file"] == str(built["elsewhere"] / "feeds" / "hardsoft.at.webry.info.xml")


def test_ids_are_those_of_the_local_corpus(built):
    from pathlib import Path

    local = datasets.load_from_disk(str(built["out"]))
    rows = hub_rows(Path(built["hub"]))
    assert [r["id"] for r in rows] == local["id"]
    # ids are hashed from the local origin (an absolute path for the laws), as before publishing existed
    for row in local.select(range(0, len(local), 7)):
        assert row["id"] == stable_id(row["source"], row["origin"])
    assert any(o.startswith(str(built["laws"])) for o in local["origin"])


def test_card_header_licenses_and_source_datasets(built):
    card = DatasetCard.load(built["out"] / "README.md", ignore_metadata_errors=False)
    assert card.data.license == "other"
    assert card.data.license_name == "mixed (public domain, CC0, blog posts quoted with permission)"
    assert card.data.license_link == "https://example.org/public-test/LICENSES.md"
    assert card.data.source_datasets == ["example/aozora-neko"]  # only what the recipe names as a Hub dataset
    assert not any("license_name" in n for n in built["notes"])


def test_funnel_in_pipeline_order_with_characters(built):
    manifest, out = built["manifest"], built["out"]
    text = (out / "README.md").read_text(encoding="utf-8")
    start = text.index("| stage | documents |")
    table = text[start:text.index("\n\n", start)].splitlines()[2:]
    stages = [line.split(" | ")[0].strip("| *") for line in table]
    assert stages == ["read", "sources", "1. normalize", "2. quality (feeds)", "3. ngwords (feeds)",
                      "4. quality (all but feeds)", "5. dedup", "kept"]
    docs = [int(line.split(" | ")[1].replace(",", "")) for line in table]
    chars = [int(line.split(" | ")[3].replace(",", "")) for line in table]
    kept = datasets.load_from_disk(str(out))
    dropped = datasets.load_from_disk(str(out / "dropped"))
    # independent references: the rows on disk, kept and dropped
    assert docs[0] == len(kept) + len(dropped) and docs[-1] == docs[-2] == len(kept)
    assert chars[-1] == sum(len(t) for t in kept["text"])
    drop_reasons = dropped["reason"]
    assert docs[0] - docs[1] == sum(r.startswith("feeds:") for r in drop_reasons)  # the source's own drops
    assert docs[2] - docs[3] == sum(r.startswith("quality:") and s == "feeds"
                                    for r, s in zip(drop_reasons, dropped["source"]))
    assert docs[5] - docs[6] == sum(r.startswith("dedup:") for r in drop_reasons)
    assert all(a >= b for a, b in zip(docs[1:], docs[2:])) and docs[3] > docs[6]
    assert chars[1] > chars[-1] > 0


def test_drops_per_source_and_reason(built):
    out = built["out"]
    text = (out / "README.md").read_text(encoding="utf-8")
    dropped = datasets.load_from_disk(str(out / "dropped"))
    expected: dict[str, dict[str, int]] = {}
    for source, reason in zip(dropped["source"], dropped["reason"]):
        expected.setdefault(source, {}).setdefault(reason, 0)
        expected[source][reason] += 1
    assert expected["neko"]["quality:min_chars"] and expected["laws"]["dedup:near_duplicate"]
    table = text[text.index("| source | read | kept | dropped | drops by reason |"):]
    for source, reasons in expected.items():
        line = next(line for line in table.splitlines() if line.startswith(f"| {source} | "))
        for reason, count in reasons.items():
            assert f"`{reason}` {count:,}" in line, (line, reason, count)
    assert (out / "plots" / "drops.png").read_bytes()[:4] == b"\x89PNG"


def test_parquet_files_are_size_bounded(built, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(built["out"], out)
    kept = datasets.load_from_disk(str(out))
    assert len(built["manifest"]["shards"]) >= 4  # one shard or more per input file
    bound = 40_000
    write_card(str(out), max_file_bytes=bound)
    files = sorted((out / "data").glob("*.parquet"))
    tables = [pq.read_table(f) for f in files]
    total = sum(t.nbytes for t in tables)
    largest_row = max(len(t.encode()) for t in kept["text"]) + 1000  # a row is never cut
    assert len(files) >= total // bound >= 10 and len(files) <= 2 * total // bound
    assert all(t.nbytes <= bound + largest_row for t in tables), [t.nbytes for t in tables]
    assert [f.name for f in files] == [f"train-{i:05d}-of-{len(files):05d}.parquet" for i in range(len(files))]
    assert [i for t in tables for i in t.column("id").to_pylist()] == kept["id"]
    write_card(str(out))  # default bound: one file again, the earlier ones removed
    assert [f.name for f in (out / "data").glob("*.parquet")] == ["train-00000-of-00001.parquet"]


def test_public_names_rules():
    recipe = {"sources": [
        {"name": "a", "type": "text", "paths": ["data/x/*.txt", "data/y.txt"]},         # inside
        {"name": "b", "type": "text", "paths": ["/srv/corpora/web/**/*.html"]},          # absolute glob
        {"name": "c", "type": "text", "paths": ["../../shared/laws", "../../shared/extra.txt"]},  # climbs
        {"name": "d", "type": "text", "paths": ["local/z.txt", "/mnt/z/local/z.txt"]},   # both: names stay distinct
    ], "steps": [{"ngwords": {"lists": ["/etc/ng.txt", "lists/ng.txt"], "sources": ["b"]}}],
        "output": {"dir": "/home/me/out/corpus"}}
    names = PublicNames(recipe, "/home/me/proj/recipes")
    assert names.origin("a", "data/x/1.txt#L3") == "data/x/1.txt#L3"
    assert names.origin("b", "/srv/corpora/web/2024/p.html#page") == "2024/p.html#page"
    assert names.origin("c", "../../shared/laws/l1.txt#file") == "laws/l1.txt#file"
    assert names.origin("c", "../../shared/extra.txt#L1") == "extra.txt#L1"
    inside, outside = names.origin("d", "local/z.txt#L1"), names.origin("d", "/mnt/z/local/z.txt#L1")
    assert inside != outside and not inside.startswith("/") and not outside.startswith("/")
    public = names.public_recipe()
    assert [s["paths"] for s in public["sources"]] == [
        ["data/x/*.txt", "data/y.txt"], ["**/*.html"], ["laws", "extra.txt"],
        [names.file("d", "local/z.txt"), names.file("d", "/mnt/z/local/z.txt")]]
    assert public["steps"][0]["ngwords"] == {"lists": ["ng.txt", "lists/ng.txt"], "sources": ["b"]}
    assert public["output"]["dir"] == "corpus"
    # a configured root: every source under it is named from there
    rooted = PublicNames({**recipe, "origin_root": "../.."}, "/home/me/proj/recipes")
    assert rooted.origin("c", "../../shared/laws/l1.txt#file") == "shared/laws/l1.txt#file"
    assert rooted.origin("a", "data/x/1.txt#L3") == "proj/recipes/data/x/1.txt#L3"
    assert rooted.origin("b", "/srv/corpora/web/2024/p.html#page") == "2024/p.html#page"  # not under it
    assert rooted.public_recipe()["origin_root"] == "."
    assert names.notes() == [n for n in names.notes() if n.startswith("source d:")] and len(names.notes()) == 1


def test_a_parquet_corpus_is_published_from_data_not_its_shards(tmp_path, shared_data):
    """`format: parquet` shards hold local origins: the card writes data/ for it too, and publish leaves shards out."""
    from jacorpus.pipelines.recipe import parse_recipe

    laws = shared_data / LAWS
    text = (f"name: pq\nsources:\n  - {{name: laws, type: text, split: file, license: cc0-1.0, "
            f"paths: [\"{laws}/*/*.txt\"]}}\noutput: {{dir: out, format: parquet}}\n")
    manifest = run_local(build_plan(parse_recipe(text, "r.yaml", str(tmp_path))), progress=False)
    out = tmp_path / "out"
    write_card(str(out))
    uploaded = [f.path for f in planned_files(str(out), "dataset")]
    assert not [p for p in uploaded if p.startswith("shard-")] and "data/train-00000-of-00001.parquet" in uploaded
    origins = pq.read_table(out / "data" / "train-00000-of-00001.parquet").column("origin").to_pylist()
    expected = sorted(f"{p.relative_to(laws).as_posix()}#file" for p in laws.glob("*/*.txt"))
    assert len(origins) == manifest["kept"] == len(expected) and sorted(origins) == expected
