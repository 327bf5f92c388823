"""Golden document ids: the id scheme is a promise (ids survive reruns, engines and releases), so the ids of a few
real documents are pinned here as literals, computed once with the code of 2026-12-02. A change of ``stable_id``,
of how ``origin`` names a file or a record, or of a source's locator fails this test; change the literals only
together with a note in the release that every id changed.

The inputs are linked into a temporary recipe folder so that ``origin`` (and so the id) does not depend on where
the shared data lives on this machine."""

from __future__ import annotations

import json
import os

import pytest

from jacorpus.pipelines.plan import build_sources
from jacorpus.pipelines.recipe import parse_recipe

GOLDEN = {
    "wiki": [
        ("54d422058e7d3e798c61", "data/wiki.xml.bz2#page=5"),
        ("8fc40eebf7ad0aa598d0", "data/wiki.xml.bz2#page=8"),
        ("69cc9714be3b8af6882a", "data/wiki.xml.bz2#page=10"),
    ],
    "neko": [
        ("2846a8f00a3970e0be74", "data/neko.txt#L1"),
        ("a740e79eac8b38e981ee", "data/neko.txt#L3"),
        ("904eebf492ede9863378", "data/neko.txt#L6"),
    ],
    "medtxt": [  # the record's own id attribute
        ("JP0217-100", "data/medtxt.xml#JP0217-100"),
        ("JP0217-102", "data/medtxt.xml#JP0217-102"),
        ("JP0217-103", "data/medtxt.xml#JP0217-103"),
    ],
    "laws": [("957b79f48c065d1a8020", "data/law.txt#file")],
    "wet": [("78604bed7eda622b54c0", "data/wet.gz#offset=693")],
    "cc": [
        ("e364aead3bba902b2b34", "data/cc.jsonl#L1"),
        ("67ea14327b63ca3a3a53", "data/cc.jsonl#L2"),
        ("119479946bbd7db21bf0", "data/cc.jsonl#L3"),
    ],
}


@pytest.fixture(scope="module")
def recipe_dir(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("golden")
    (folder / "data").mkdir()
    d = shared_data
    links = {
        "wiki.xml.bz2": d / "jawiki_xml" / "jawiki-2006-08-export-0.3-sample.xml.bz2",
        "neko.txt": d / "plain_text_ja_neko_aozora" / "neko.txt",
        "medtxt.xml": d / "medical" / "medtxt_cr_ja" / "MedTxt-CR-JA-training.xml",
        "law.txt": sorted((d / "neardup_ja_law_versions").glob("346*/*.txt"))[0],
        "wet.gz": d / "warc" / "commoncrawl_whirlwind_CC-MAIN-2024-22" / "whirlwind.warc.wet.gz",
    }
    for name, target in links.items():
        os.symlink(target, folder / "data" / name)
    cc = json.loads((d / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    with open(folder / "data" / "cc.jsonl", "w", encoding="utf-8") as fh:
        for item in cc["length_200"][:3]:
            fh.write(json.dumps({"text": item["text"], "url": item["url"]}, ensure_ascii=False) + "\n")
    return folder


def test_ids_of_real_documents_are_unchanged(recipe_dir):
    text = """\
name: golden
sources:
  - {name: wiki, type: wikipedia, paths: [data/wiki.xml.bz2]}
  - {name: neko, type: cc100, paths: [data/neko.txt]}
  - {name: medtxt, type: medical, format: xml, record: article, id_attribute: id, title_attribute: title,
     paths: [data/medtxt.xml]}
  - {name: laws, type: text, split: file, paths: [data/law.txt]}
  - {name: wet, type: wet, paths: [data/wet.gz]}
  - {name: cc, type: jsonl, id_field: null, paths: [data/cc.jsonl]}
output: {dir: out}
"""
    recipe = parse_recipe(text, "golden.yaml", str(recipe_dir))
    found = {}
    for source in build_sources(recipe):
        docs = [doc for path in source.files() for doc in source.read_file_safely(path)]
        found[source.source_name] = [(doc.id, doc.metadata["origin"]) for doc in docs[: len(GOLDEN[source.source_name])]]
    assert found == GOLDEN
