"""Issue 16: a step scoped to some sources (`sources:` / `skip_sources:`) applies to those only and passes the
others through unchanged and in order, on the local engine and on Spark; scope names are checked against the
recipe's sources; the manifest counts drops per source x reason."""

from __future__ import annotations

import datasets
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import RecipeError, parse_recipe


def recipe_text(repo_root, steps: str) -> str:
    demo = repo_root / "data" / "demo"
    return f"""\
name: scoped
sources:
  - {{name: laws, type: text, split: file, paths: ["{demo}/laws/*.txt"]}}
  - {{name: neko, type: cc100, paths: ["{demo}/aozora/neko-head.txt"]}}
steps:
{steps}
output: {{dir: out}}
"""


def run(repo_root, tmp_path, steps: str, engine: str = "local"):
    recipe = parse_recipe(recipe_text(repo_root, steps), "scoped.yaml", str(tmp_path))
    plan = build_plan(recipe, str(tmp_path / engine))
    if engine == "spark":
        from jacorpus.pipelines.spark import run_spark, spark_session

        spark = spark_session("local[2]", "jacorpus-scoped", {"spark.ui.enabled": "false"})
        try:
            manifest = run_spark(plan, spark=spark)
        finally:
            spark.stop()
    else:
        manifest = run_local(plan, workers=2, progress=False)
    return manifest, datasets.load_from_disk(str(tmp_path / engine))


@pytest.fixture(scope="module")
def unfiltered(repo_root, tmp_path_factory):
    return run(repo_root, tmp_path_factory.mktemp("plain"), "  []")


def test_a_scoped_step_drops_only_in_its_sources_and_passes_the_rest_unchanged(repo_root, tmp_path, unfiltered):
    base_manifest, base = unfiltered
    assert base_manifest["sources"]["laws"]["read"] == 3 and base_manifest["sources"]["neko"]["read"] > 10
    # min_chars far above any document: everything in scope is dropped
    manifest, kept = run(repo_root, tmp_path, "  - quality: {preset: none, min_chars: 1000000, sources: [laws]}")
    assert manifest["sources"]["laws"].get("kept", 0) == 0
    assert manifest["sources"]["laws"]["dropped:quality:min_chars"] == 3
    assert manifest["sources"]["neko"]["kept"] == base_manifest["sources"]["neko"]["read"]
    assert "dropped" not in manifest["sources"]["neko"] or manifest["sources"]["neko"]["dropped"] == 0
    neko = [row for row in base if row["source"] == "neko"]
    assert list(kept) == neko  # same documents, same text, same order
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())


def test_skip_sources_is_the_complement(repo_root, tmp_path, unfiltered):
    base_manifest, base = unfiltered
    manifest, kept = run(repo_root, tmp_path, "  - quality: {preset: none, min_chars: 1000000, skip_sources: [laws]}")
    assert manifest["sources"]["neko"].get("kept", 0) == 0
    assert manifest["sources"]["neko"]["dropped:quality:min_chars"] == base_manifest["sources"]["neko"]["read"]
    assert list(kept) == [row for row in base if row["source"] == "laws"]


def test_a_scoped_mapper_rewrites_only_its_sources(repo_root, tmp_path, unfiltered):
    _, base = unfiltered
    # normalize scoped to neko: the laws' texts stay byte-identical
    manifest, out = run(repo_root, tmp_path, "  - normalize: {sources: [neko]}")
    before = {row["id"]: row["text"] for row in base}
    after = {row["id"]: row["text"] for row in out}
    assert before.keys() == after.keys()
    laws = [i for i in before if out.filter(lambda r: r["id"] == i)[0]["source"] == "laws"]
    assert all(before[i] == after[i] for i in laws)
    # the statutes contain full-width digits that NFKC would fold: proof the step really did not touch them
    assert any(ch in before[laws[0]] for ch in "０１２３４５６７８９（）")
    assert [row["id"] for row in out] == [row["id"] for row in base]


def test_scoping_gives_the_same_output_on_spark(repo_root, tmp_path):
    steps = "  - quality: {preset: none, min_chars: 1000000, sources: [laws]}\n  - normalize: {skip_sources: [laws]}"
    local_manifest, local = run(repo_root, tmp_path, steps)
    spark_manifest, spark = run(repo_root, tmp_path, steps, engine="spark")
    same = ("read", "kept", "dropped", "sources", "steps")
    assert {k: local_manifest[k] for k in same} == {k: spark_manifest[k] for k in same}
    assert list(local) == list(spark)


@pytest.mark.parametrize("steps, message", [
    ("  - quality: {sources: [lwas]}", "steps[0].quality.sources: no source named 'lwas'; this recipe's sources: laws, neko"),
    ("  - quality: {sources: [laws], skip_sources: [neko]}", "either `sources` or `skip_sources`, not both"),
    ("  - quality: {sources: []}", "`sources` must name at least one source"),
    ("  - dedup: {method: exact, sources: [laws]}", "dedup is a corpus-wide step and cannot be scoped to sources"),
])
def test_scope_names_are_checked_against_the_recipe(repo_root, steps, message):
    with pytest.raises(RecipeError) as exc:
        parse_recipe(recipe_text(repo_root, steps), "scoped.yaml")
    assert message in str(exc.value)
    assert "scoped.yaml:" in str(exc.value)
