"""`jsonl` with `markup: wikitext`: Wikipedia as JSON lines of raw wikitext reads exactly as the `wikipedia`
source reads the same pages from the XML dump (same cleaned text, same drops with the same reasons)."""

from __future__ import annotations

import bz2
import json
import xml.etree.ElementTree as ET

import pytest

from jacorpus.corpus.sources import SOURCES
from jacorpus.pipelines.recipe import RecipeError, parse_recipe

SOURCE_TYPES = SOURCES.load()  # every built-in type (they load lazily)

NS = "{http://www.mediawiki.org/xml/export-0.10/}"


def run(type_name: str, path, base_dir, **options):
    cls = SOURCE_TYPES[type_name]
    source = cls("wiki", [str(path)], cls.Options(**options), str(base_dir))
    return list(source.run()), source.ledger.to_dict()


def test_json_lines_of_wikitext_read_as_the_xml_dump(repo_root, tmp_path):
    dump = repo_root / "data" / "demo" / "jawiki" / "jawiki-20220720-pages-articles-head60.xml.bz2"
    root = ET.fromstring(bz2.decompress(dump.read_bytes()))  # stdlib parser: an independent reading of the dump
    ns = root.tag[: root.tag.index("}") + 1]
    pages = []
    for page in root.iter(f"{ns}page"):
        if page.findtext(f"{ns}ns") != "0":
            continue
        pages.append({"id": page.findtext(f"{ns}id"), "title": page.findtext(f"{ns}title"),
                      "text": page.find(f"{ns}revision/{ns}text").text or ""})
    with open(tmp_path / "wiki.jsonl", "w", encoding="utf-8") as fh:
        for page in pages:
            fh.write(json.dumps(page, ensure_ascii=False) + "\n")

    from_xml, xml_ledger = run("wikipedia", dump, dump.parent)
    from_json, json_ledger = run("jsonl", tmp_path / "wiki.jsonl", tmp_path, markup="wikitext", title_field="title",
                                 id_field=None)
    assert len(pages) >= 50 and len(from_json) >= 40
    assert [d.text for d in from_json] == [d.text for d in from_xml]
    assert [d.metadata["meta"]["title"] for d in from_json] == [d.metadata["meta"]["title"] for d in from_xml]
    assert json_ledger["dropped"] == {k: v for k, v in xml_ledger["dropped"].items() if k != "wiki:namespace"}
    assert json_ledger["dropped"].get("wiki:redirect", 0) >= 1
    # and it is really cleaned: no template or link markup left
    assert not any("{{" in d.text or "[[" in d.text or "'''" in d.text for d in from_json)

    raw, raw_ledger = run("jsonl", tmp_path / "wiki.jsonl", tmp_path, id_field=None)
    assert len(raw) == len(pages) and sum("[[" in d.text for d in raw) > len(raw) // 2  # without markup: raw


def test_wikitext_options_need_markup_wikitext():
    with pytest.raises(RecipeError, match="title_field apply to markup: wikitext only"):
        parse_recipe("name: x\nsources: [{type: jsonl, title_field: title, paths: [a.jsonl]}]\noutput: {dir: o}\n")
