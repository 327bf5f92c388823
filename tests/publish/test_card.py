"""Dataset cards on a real corpus: valid card metadata, data that loads through the card, plots, honest licenses."""

from __future__ import annotations

import json
import shutil

import datasets
import pytest
from huggingface_hub import DatasetCard

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.publish.card import card_license, size_category, write_card
from jacorpus.publish.hub import planned_files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, shared_data):
    tmp = tmp_path_factory.mktemp("card")
    text = f"""\
name: card-test
sources:
  - {{name: laws, type: text, split: file, license: cc0-1.0, paths: ["{shared_data}/neardup_ja_law_versions/417*/*.txt"]}}
  - {{name: neko, type: cc100, license: cc0-1.0, paths: ["{shared_data}/plain_text_ja_neko_aozora/neko.txt"]}}
output: {{dir: out, max_shard_bytes: 300000}}
"""
    manifest = run_local(build_plan(parse_recipe(text, "r.yaml", str(tmp))), progress=False)
    return tmp / "out", manifest


def test_card_metadata_and_body(corpus):
    out, manifest = corpus
    path, notes = write_card(str(out))
    assert notes == []
    card = DatasetCard.load(path, ignore_metadata_errors=False)
    assert card.data.language == ["ja"] and card.data.license == "cc0-1.0"
    assert manifest["kept"] == 716  # 709 neko paragraphs + 7 law versions
    assert card.data.size_categories == [size_category(manifest["kept"])] == ["n<1K"]
    assert card.data.source_datasets is None  # local files, no Hub dataset named in the recipe
    text = card.text
    assert f"| **kept** | {manifest['kept']:,} |" in text and "| laws | 7 | 7 | 0 | - |" in text
    assert "name: card-test" in text and f"| datatrove | {manifest['versions']['datatrove']} |" in text
    for png in ("funnel.png", "drops.png", "lengths.png"):
        assert (out / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"plots/{png}" in text


def test_data_loads_through_the_card_as_on_the_hub(corpus, tmp_path):
    out, manifest = corpus
    write_card(str(out))
    hub = tmp_path / "hub"  # what `jacorpus publish` would upload, laid out as the Hub repo would hold it
    for f in planned_files(str(out), "dataset"):
        (hub / f.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f.local, hub / f.path)
    assert not (hub / "state.json").exists() and not list(hub.glob("shard-*"))
    # 716 documents in 8 input files (shards) are one Parquet file on the Hub
    assert len(manifest["shards"]) > 1 and [p.name for p in (hub / "data").iterdir()] == ["train-00000-of-00001.parquet"]
    ds = datasets.load_dataset(str(hub), split="train", cache_dir=str(tmp_path / "hf-cache"))  # no stale cache hit
    assert len(ds) == manifest["kept"]
    assert ds["id"] == datasets.load_from_disk(str(out))["id"]


def test_license_rules():
    assert card_license({"a": "cc-by-sa-4.0", "b": "cc-by-sa-4.0"}) == ("cc-by-sa-4.0", [])
    lic, notes = card_license({"a": "cc-by-sa-4.0", "b": "cc-by-4.0"})
    assert lic == "other" and "different licenses" in notes[0]
    lic, notes = card_license({"wiki": "cc-by-sa-4.0", "web": None})
    assert lic == "unknown" and "web" in notes[0]


def test_wikipedia_source_defaults_to_cc_by_sa(tmp_path):
    from jacorpus.pipelines.recipe import Recipe

    recipe = Recipe.model_validate({"name": "w", "sources": [{"type": "wikipedia", "paths": ["x"]}], "output": {"dir": "o"}})
    assert recipe.sources[0].effective_license() == "cc-by-sa-4.0"
    manifest = {"recipe": json.loads(recipe.model_dump_json(exclude={"base_dir"}))}
    from jacorpus.publish.card import source_licenses

    assert source_licenses(manifest) == {"wikipedia": "cc-by-sa-4.0"}
