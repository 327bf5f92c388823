"""The `wikipedia` source on the three real dump samples, cut and corrupted copies of them, and a full recipe run.

Expected counts come from the XML itself, read here with plain regular expressions, not from the reader.
"""

from __future__ import annotations

import bz2
import html
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from pydantic import ValidationError

from jacorpus.corpus.document import stable_id
from jacorpus.corpus.sources.wikipedia import WikipediaOptions, WikipediaSource

SAMPLES = {
    "2022": "jawiki-2022-07-pages-articles-sample.xml.bz2",
    "2006": "jawiki-2006-08-export-0.3-sample.xml.bz2",
    "en": "enwiki-2022-pages-articles-sample.xml.bz2",
}
MARKUP = ("{{", "}}", "[[", "]]", "'''", "<ref", "|}", "{|", "<!--")
DISAMBIGUATION = re.compile(r"\{\{\s*(?:aimai|曖昧さ回避|disambiguation|disambig)\s*[|}]", re.I)


def read(path: Path, base_dir: Path, **options):
    source = WikipediaSource("wikipedia", [str(path)], WikipediaOptions(**options), str(base_dir))
    docs = list(source.run())
    return docs, source.ledger.to_dict()


def xml_pages(xml: bytes) -> list[dict]:
    """Each <page> as the XML states it: namespace from <ns> or, in schema 0.3, from the title prefix."""
    text = xml.decode("utf-8")
    names = {html.unescape(n): int(k) for k, n in re.findall(r'<namespace key="(-?\d+)"[^>]*>([^<]+)</namespace>', text)}
    pages = []
    for block in re.findall(r"<page>(.*?)</page>", text, re.S):
        title = html.unescape(re.search(r"<title>(.*?)</title>", block).group(1))
        ns = re.search(r"<ns>(\d+)</ns>", block)
        body = re.search(r"<text[^>]*>(.*?)</text>", block, re.S)
        wikitext = html.unescape(body.group(1)) if body else ""
        pages.append({
            "title": title,
            "id": int(re.search(r"<id>(\d+)</id>", block).group(1)),
            "ns": int(ns.group(1)) if ns else names.get(title.partition(":")[0], 0) if ":" in title else 0,
            "redirect": "<redirect" in block or bool(re.match(r"\s*#(?:REDIRECT|転送)", wikitext, re.I)),
            "disambiguation": bool(DISAMBIGUATION.search(wikitext)),
        })
    return pages


@pytest.fixture(scope="module")
def dumps(shared_data):
    """Each sample read once: (docs, ledger, pages counted in the XML, decompressed XML)."""
    out = {}
    for key, name in SAMPLES.items():
        path = shared_data / "jawiki_xml" / name
        xml = bz2.decompress(path.read_bytes())
        docs, ledger = read(path, shared_data)
        out[key] = (docs, ledger, xml_pages(xml), xml)
    return out


@pytest.mark.parametrize("key", list(SAMPLES))
def test_every_page_is_kept_or_dropped_with_the_reason_the_xml_gives(dumps, key):
    docs, ledger, pages, _ = dumps[key]
    main = [p for p in pages if p["ns"] == 0]
    articles = [p for p in main if not p["redirect"]]
    dropped = ledger["dropped"]
    assert ledger["read"] == len(pages) == len(docs) + sum(dropped.values())
    assert dropped.get("wikipedia:namespace", 0) == len(pages) - len(main) > 0
    assert dropped.get("wikipedia:redirect", 0) == len(main) - len(articles) > 0
    assert dropped.get("wikipedia:disambiguation", 0) == sum(p["disambiguation"] for p in articles) > 0
    assert sorted(d.metadata["meta"]["page_id"] for d in docs) == sorted(
        p["id"] for p in articles if not p["disambiguation"]
    )  # no page lost: the only other reason, "empty", does not occur in these samples
    assert set(dropped) <= {"wikipedia:namespace", "wikipedia:redirect", "wikipedia:disambiguation"}


@pytest.mark.parametrize("key", list(SAMPLES))
def test_cut_stream_is_one_error_at_its_end_after_all_pages(dumps, key):
    """All three samples stop after a </page> without </mediawiki>: a truncation, reported where the bytes end."""
    _, ledger, pages, xml = dumps[key]
    assert not xml.rstrip().endswith(b"</mediawiki>")
    (error,) = ledger["errors"]
    assert error["file"] == f"jawiki_xml/{SAMPLES[key]}"
    assert "ended early" in error["message"] and f"{len(pages)} complete pages" in error["message"]
    assert error["position"]["byte"] == len(xml)


@pytest.mark.parametrize("key", list(SAMPLES))
def test_output_is_plain_text_with_metadata_and_stable_ids(dumps, key):
    docs, _, pages, _ = dumps[key]
    by_id = {p["id"]: p for p in pages}
    for doc in docs:
        for token in MARKUP:
            assert token not in doc.text, (doc.metadata["meta"]["title"], token)
        meta = doc.metadata["meta"]
        assert meta["title"] == by_id[meta["page_id"]]["title"]
        assert isinstance(meta["revision_id"], int) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["timestamp"])
        host = "en" if key == "en" else "ja"
        assert unquote(meta["url"]) == f"https://{host}.wikipedia.org/wiki/" + meta["title"].replace(" ", "_")
        assert doc.metadata["origin"] == f"jawiki_xml/{SAMPLES[key]}#page={meta['page_id']}"
        assert doc.id == stable_id("wikipedia", doc.metadata["origin"])
    assert len({d.id for d in docs}) == len(docs)


def by_title(docs) -> dict[str, str]:
    return {d.metadata["meta"]["title"]: d.text for d in docs}


def test_known_article_reads_as_plain_sentences(dumps):
    text = by_title(dumps["2022"][0])["アンパサンド"]
    lines = text.split("\n")
    # '''アンパサンド'''（'''&amp;''', {{Lang-en|ampersand}}）は、並立助詞「…と…」を意味する[[記号]]である。
    assert lines[0].startswith("アンパサンド（&, ampersand）は、並立助詞「…と…」を意味する記号である。")
    for heading in ("語源", "歴史", "手書き", "同様の記号", "プログラミング言語"):
        assert heading in lines
    assert "脚注" not in lines and "外部リンク" not in lines  # tail sections
    assert "符号位置" not in lines  # its section is a table only, so the heading would stand alone
    assert "プログラミング言語では、C など多数の言語で AND 演算子として用いられる。以下は C の例。" in lines


def test_export_0_3_schema_infers_namespaces_and_redirects(dumps):
    docs, ledger, _, _ = dumps["2006"]
    texts = by_title(docs)
    # [[アンパサンド]](''ampersand''、記号:'''&''')とは「～と…」を意味する[[記号]]である。
    lines = texts["アンパサンド"].split("\n")
    assert lines[0] == "&"  # the big ampersand of a floating <div>: its contents are shown on the page
    assert lines[1].startswith("アンパサンド(ampersand、記号:&)とは「～と…」を意味する記号である。正式な書き順は不明。")
    assert all(d.metadata["meta"]["timestamp"] < "2006-08-04" for d in docs)
    # no <ns>: "Wikipedia:" and "画像:" pages are namespace drops; no <redirect>: "#REDIRECT" pages are redirects
    assert not any(t.startswith(("Wikipedia:", "画像:")) for t in texts)
    assert "Esperanto" not in texts and "EU (曖昧さ回避)" not in texts and "エスペラント" in texts


def test_truncated_bz2_keeps_the_pages_before_the_cut(dumps, shared_data, tmp_path):
    data = (shared_data / "jawiki_xml" / SAMPLES["2022"]).read_bytes()
    cut = tmp_path / "cut.xml.bz2"
    cut.write_bytes(data[: len(data) // 2])
    decoded = bz2.BZ2Decompressor().decompress(data[: len(data) // 2])  # what survives the cut
    complete = xml_pages(decoded[: decoded.rfind(b"</page>") + 7])

    docs, ledger = read(cut, tmp_path)
    assert 0 < ledger["read"] == len(complete) < len(dumps["2022"][2])
    full = [(d.metadata["meta"]["page_id"], d.text) for d in dumps["2022"][0]]
    assert [(d.metadata["meta"]["page_id"], d.text) for d in docs] == full[: len(docs)]
    (error,) = ledger["errors"]
    assert error["file"] == "cut.xml.bz2" and "compressed stream" in error["message"]
    assert f"{len(complete)} complete pages" in error["message"]
    assert decoded.rfind(b"</page>") < error["position"]["byte"] <= len(decoded)


def test_malformed_xml_in_the_middle_keeps_the_pages_before_it(dumps, tmp_path):
    xml = dumps["2022"][3]
    starts = [m.start() for m in re.finditer(rb"<page>", xml)]
    fault = xml.index(b"</title>", starts[100])
    broken = tmp_path / "broken.xml"
    broken.write_bytes(xml[:fault] + b"</titel>" + xml[fault + 8:])

    docs, ledger = read(broken, tmp_path)
    assert ledger["read"] == 100
    full = [(d.metadata["meta"]["page_id"], d.text) for d in dumps["2022"][0]]
    assert [(d.metadata["meta"]["page_id"], d.text) for d in docs] == full[: len(docs)]
    (error,) = ledger["errors"]
    assert error["message"].startswith("malformed XML: mismatched tag")
    assert error["position"]["line"] == xml[:fault].count(b"\n") + 1
    assert fault <= error["position"]["byte"] < fault + 8


def test_multistream_bz2_and_a_complete_plain_xml_give_the_same_documents(dumps, tmp_path):
    docs, _, _, xml = dumps["2006"]
    cuts = [0, *[m.start() for m in re.finditer(rb"  <page>", xml)][::20], len(xml)]
    multistream = tmp_path / "multi.xml.bz2"
    multistream.write_bytes(b"".join(bz2.compress(xml[a:b]) for a, b in zip(cuts, cuts[1:])))
    whole = tmp_path / "whole.xml"
    whole.write_bytes(xml + b"</mediawiki>\n")  # the sample completed: a well-formed dump has no error
    expected = [(d.metadata["meta"], d.text) for d in docs]
    for path, errors in ((multistream, 1), (whole, 0)):
        got, ledger = read(path, tmp_path)
        assert [(d.metadata["meta"], d.text) for d in got] == expected
        assert len(ledger["errors"]) == errors


def test_options(shared_data, dumps):
    with pytest.raises(ValidationError):
        WikipediaOptions(namespace=[0])
    path = shared_data / "jawiki_xml" / SAMPLES["2006"]
    pages = dumps["2006"][2]

    docs, _ = read(path, shared_data, namespaces=[0, 4])
    project = [p for p in pages if p["ns"] == 4 and not p["redirect"]]
    assert len(docs) == len(dumps["2006"][0]) + len(project) > len(dumps["2006"][0])

    docs, ledger = read(path, shared_data, keep_redirects=True)
    redirects = {d.metadata["meta"]["title"]: d for d in docs if "redirect" in d.metadata["meta"]}
    assert len(redirects) == sum(p["redirect"] for p in pages if p["ns"] == 0)
    assert redirects["Esperanto"].metadata["meta"]["redirect"] == "エスペラント"
    assert redirects["Esperanto"].text == "エスペラント"

    docs, ledger = read(path, shared_data, min_chars=2000)
    assert all(len(d.text) >= 2000 for d in docs)
    assert ledger["dropped"]["wikipedia:short"] == len(dumps["2006"][0]) - len(docs) > 0


def test_not_a_dump_and_empty_stream_are_errors(tmp_path):
    other = tmp_path / "other.xml"
    other.write_text("<html><body>x</body></html>")
    empty = tmp_path / "empty.xml.bz2"
    empty.write_bytes(bz2.compress(b""))
    for path, words in ((other, "not a MediaWiki export"), (empty, "no XML document")):
        docs, ledger = read(path, tmp_path)
        assert docs == [] and ledger["read"] == 0
        assert words in ledger["errors"][0]["message"]


def test_recipe_run_keeps_the_manifest_invariant(shared_data, tmp_path):
    import datasets

    from jacorpus.pipelines.local import run_local
    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import load_recipe

    data = (shared_data / "jawiki_xml" / SAMPLES["2006"]).read_bytes()
    (tmp_path / "cut.xml.bz2").write_bytes(data[: len(data) * 19 // 20])  # its first 900k bz2 block survives
    recipe = tmp_path / "wiki.yaml"
    recipe.write_text(
        "name: wiki\n"
        "sources:\n"
        f"  - {{type: wikipedia, name: jawiki, paths: [{shared_data / 'jawiki_xml' / SAMPLES['2006']}, cut.xml.bz2]}}\n"
        "output: {dir: out, keep_dropped: true}\n"
    )
    manifest = run_local(build_plan(load_recipe(str(recipe))), workers=1, progress=False)
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())
    assert {"jawiki:namespace", "jawiki:redirect", "jawiki:disambiguation"} <= set(manifest["dropped"])
    errors = {Path(e["file"]).name: e["message"] for e in manifest["errors"]}  # files relative to the recipe
    assert "compressed stream" in errors["cut.xml.bz2"] and "ended early" in errors[SAMPLES["2006"]]
    assert manifest["sources"]["jawiki"]["read"] > len(xml_pages(bz2.decompress(data)))  # pages before the cut count

    kept = datasets.load_from_disk(str(tmp_path / "out"))
    dropped = datasets.load_from_disk(str(tmp_path / "out" / "dropped"))
    assert len(kept) == manifest["kept"] > 0 and len(dropped) == manifest["dropped_total"]
    assert set(dropped["reason"]) == set(manifest["dropped"])
    row = kept[0]
    meta = json.loads(row["metadata"])
    assert row["source"] == "jawiki" and row["origin"].endswith(f"#page={meta['page_id']}")
    assert meta["title"] and meta["url"].startswith("https://ja.wikipedia.org/wiki/")
