"""The web sources (warc, wet, html) on real Common Crawl / ClueWeb09-ja files and saved pages, and on damaged
copies of them."""

from __future__ import annotations

import collections
import csv
import gzip
import json
import re
import zlib
from pathlib import Path

import datasets
import pytest

from jacorpus.corpus.sources import SOURCES
from jacorpus.corpus.sources.html_text import clean_lines, extract_page, parse_html
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe

SOURCE_TYPES = SOURCES.load()  # every built-in type (they load lazily)

KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def japanese_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(1 for ch in letters if KANA.match(ch) or HAN.match(ch)) / max(1, len(letters))


def bigram_f1(text: str, gold: str) -> tuple[float, float, float]:
    def grams(t: str) -> collections.Counter:
        t = "".join(t.split())
        return collections.Counter(t[i : i + 2] for i in range(len(t) - 1))

    a, b = grams(text), grams(gold)
    overlap = sum((a & b).values())
    p, r = overlap / max(1, sum(a.values())), overlap / max(1, sum(b.values()))
    return p, r, 2 * p * r / max(1e-9, p + r)


def read(source_type: str, paths: list, **options):
    cls = SOURCE_TYPES[source_type]
    source = cls(source_type, [str(p) for p in paths], cls.Options(**options), "/")
    return list(source.run()), source.ledger.to_dict()


@pytest.fixture(scope="module")
def warc_dir(shared_data) -> Path:
    return shared_data / "warc"


@pytest.fixture(scope="module")
def clueweb(warc_dir) -> Path:
    return warc_dir / "clueweb09_ja_excerpt" / "clueweb-quirk.warc.gz"


@pytest.fixture(scope="module")
def clueweb_docs(clueweb):
    return read("warc", [clueweb])


# -- WARC on the real files ------------------------------------------------------------------------------------
def test_clueweb09_ja_euc_jp_warc_0_18_gives_japanese_text(clueweb, clueweb_docs):
    docs, ledger = clueweb_docs
    assert len(docs) == 29 and ledger["read"] == 29 and ledger["dropped"] == {} and ledger["errors"] == []
    stream = gzip.decompress(clueweb.read_bytes())
    for doc in docs:
        meta = doc.metadata["meta"]
        assert "\ufffd" not in doc.text and japanese_share(doc.text) > 0.75 and len(KANA.findall(doc.text)) > 200
        assert meta["charset"].startswith("euc_") and meta["content_type"] == "text/html; charset=EUC-JP"
        assert meta["url"].startswith("http://www.uraharajuku.st/") and meta["trec_id"].startswith("clueweb09-ja")
        assert meta["warc_date"] == "2008-10-294T05:21:46-0700"  # kept as written, invalid as it is
        assert KANA.search(meta["title"]) and "\ufffd" not in meta["title"]
        offset = int(doc.metadata["origin"].rsplit("#offset=", 1)[1])
        record_head = stream[offset : offset + 400]
        assert record_head.startswith(b"WARC/0.18\r\n") and meta["warc_record_id"].encode() in record_head
    assert "アイテム詳細情報" in docs[0].text  # the product description (inside a <form>) is the main text
    assert len({doc.id for doc in docs}) == 29


def test_common_crawl_2020_excerpt_decodes_each_declared_charset(warc_dir):
    docs, ledger = read("warc", [warc_dir / "commoncrawl_CC-MAIN-2020-34_excerpt" / "warcfile.warc.gz"])
    assert ledger["read"] == 16 and ledger["errors"] == []  # 16 responses; requests and metadata are not documents
    assert len(docs) + sum(ledger["dropped"].values()) == 16
    by_url = {doc.metadata["meta"]["url"]: doc for doc in docs}
    russian = by_url["http://01spb.ru/company/"]
    assert russian.metadata["meta"]["charset"] == "cp1251" and len(CYRILLIC.findall(russian.text)) > 500
    for doc in docs:
        assert doc.text.count("\ufffd") == 0
        if "gb2312" in (doc.metadata["meta"]["content_type"] or ""):  # Chinese, not Japanese read as EUC-JP
            title = doc.metadata["meta"]["title"]
            assert doc.metadata["meta"]["charset"] == "gb18030" and len(HAN.findall(title)) > 5
            assert not KANA.search(title) and len(KANA.findall(doc.text)) < 5


def test_whirlwind_warc_and_its_wet_agree(warc_dir):
    folder = warc_dir / "commoncrawl_whirlwind_CC-MAIN-2024-22"
    (page,), ledger = read("warc", [folder / "whirlwind.warc.gz"])
    assert ledger["read"] == 1 and page.metadata["meta"]["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert page.metadata["meta"]["charset"] == "utf-8" and page.metadata["meta"]["title"].startswith("Escopete")
    for wet_file in ("whirlwind.warc.wet.gz", "whirlwind.warc.wet"):
        (wet,), wet_ledger = read("wet", [folder / wet_file])
        meta = wet.metadata["meta"]
        assert wet_ledger["read"] == 1 and meta["language"] == "spa" and meta["url"] == page.metadata["meta"]["url"]
        assert meta["warc_date"] == "2024-05-18T01:58:10Z" and wet.text.startswith("Escopete")
        # our main text is (almost) all inside CC's whole-page text, which also carries the menus
        precision, recall, _ = bigram_f1(page.text, wet.text)
        assert precision > 0.9 and 0.2 < recall < 0.8


# -- drop reasons on hand-made records (skipped record types are not documents) ---------------------------------
def warc_record(warc_type: str, block: bytes, uri: str = "http://example.jp/") -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
        f"WARC-Record-ID: <urn:uuid:{zlib.crc32(block + uri.encode()):08x}>\r\nContent-Length: {len(block)}\r\n\r\n"
    )
    return head.encode() + block + b"\r\n\r\n"


def http(status: str, content_type: str, body: bytes) -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode() + body


def test_responses_are_dropped_with_reasons_and_other_records_skipped(tmp_path, shared_data):
    page = (shared_data / "legacy_encoding_ja_feeds" / "iso-2022-jp" / "_ude_1.txt").read_bytes()
    html_2022 = b"<html><head><title>test</title></head><body><p>" + page + b"</p></body></html>"
    records = [
        warc_record("warcinfo", b"software: test\r\n"),
        warc_record("request", b"GET / HTTP/1.1\r\n\r\n"),
        warc_record("response", http("200 OK", "text/html; charset=ISO-2022-JP", html_2022), "http://a.jp/"),
        warc_record("response", http("200 OK", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)), "http://b.jp/x.png"),
        warc_record("response", http("301 Moved", "text/html", b"<a href='/x'>moved</a>"), "http://c.jp/"),
        warc_record("response", http("200 OK", "text/html", b"<html><body> </body></html>"), "http://d.jp/"),
        warc_record("metadata", b"fetchTimeMs: 12\r\n"),
        warc_record("revisit", http("200 OK", "text/html", b"")),
    ]
    path = tmp_path / "mixed.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    docs, ledger = read("warc", [path])
    assert ledger["read"] == 4 and ledger["errors"] == []
    assert ledger["dropped"] == {"warc:not_html": 1, "warc:http_status": 1, "warc:no_text": 1}
    (doc,) = docs
    assert doc.metadata["meta"]["charset"].startswith("iso2022_jp") and "\ufffd" not in doc.text
    assert page.decode("iso2022_jp").split("\n")[3].strip() in doc.text


# -- damaged files ---------------------------------------------------------------------------------------------
def gzip_members(data: bytes) -> list[int]:
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        inflater = zlib.decompressobj(31)
        inflater.decompress(data[pos:])
        pos = len(data) - len(inflater.unused_data)
    return starts


def test_truncated_warc_gz_keeps_the_records_before_the_cut(tmp_path, clueweb, clueweb_docs):
    data = clueweb.read_bytes()
    members = gzip_members(data)
    assert len(members) == 30  # warcinfo + 29 responses, one gzip member each
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: members[15] + 5000])  # inside the 15th response
    docs, ledger = read("warc", [cut])
    assert [d.text for d in docs] == [d.text for d in clueweb_docs[0][:14]]
    assert ledger["read"] == 14 and ledger["errors"]
    offsets = [int(d.metadata["origin"].rsplit("=", 1)[1]) for d in clueweb_docs[0]]
    first = ledger["errors"][0]
    assert first["file"].endswith("cut.warc.gz") and first["position"] == {"offset": offsets[14]}
    assert "truncated" in first["message"]


def test_corrupt_record_header_is_reported_and_reading_resyncs(tmp_path, clueweb, clueweb_docs):
    stream = gzip.decompress(clueweb.read_bytes())
    starts = [m.start() for m in re.finditer(rb"WARC/0\.18\r\n", stream)]
    expected = [d.text for d in clueweb_docs[0]]

    broken = bytearray(stream)
    broken[starts[5] : starts[5] + 4] = b"WXRC"  # record 5 (the 5th response) loses its version line
    path = tmp_path / "bad-version.warc"
    path.write_bytes(bytes(broken))
    docs, ledger = read("warc", [path])
    assert [d.text for d in docs] == expected[:4] + expected[5:]
    assert [e["position"] for e in ledger["errors"]] == [{"offset": starts[5]}]

    length = re.compile(rb"Content-Length: (\d+)\r\n").search(stream, starts[9])
    for name, value in (("garbled", b"3x"), ("too-long", str(int(length.group(1)) + 700).encode())):
        path = tmp_path / f"{name}.warc"
        path.write_bytes(stream[: length.start(1)] + value + stream[length.end(1) :])
        docs, ledger = read("warc", [path])
        assert ledger["errors"] and ledger["errors"][0]["position"] == {"offset": starts[9]}, name
        texts = [d.text for d in docs]
        assert texts[:8] == expected[:8] and texts[-20:] == expected[-20:], name  # everything after resyncs


def test_corrupt_gzip_member_is_skipped(tmp_path, clueweb, clueweb_docs):
    data = bytearray(clueweb.read_bytes())
    members = gzip_members(bytes(data))
    for i in range(200, 260):
        data[members[20] + i] ^= 0x5A
    path = tmp_path / "flipped.warc.gz"
    path.write_bytes(bytes(data))
    docs, ledger = read("warc", [path])
    expected = [d.text for d in clueweb_docs[0]]
    assert [d.text for d in docs] == expected[:19] + expected[20:]
    assert len(ledger["errors"]) == 1 and "corrupt gzip member" in ledger["errors"][0]["message"]


def test_oversized_records_are_skipped_unread_with_a_fault(monkeypatch, clueweb, clueweb_docs):
    from jacorpus.corpus.sources import warc_records

    monkeypatch.setattr(warc_records, "MAX_READ_BYTES", 32_000)  # about half the ClueWeb responses are larger
    docs, ledger = read("warc", [clueweb])
    big = [e for e in ledger["errors"] if "over the 32000 byte limit" in e["message"]]
    assert big and docs and len(docs) + len(big) == 29 and len(ledger["errors"]) == len(big)
    assert {d.text for d in docs} <= {d.text for d in clueweb_docs[0]}  # the records after a skip read normally


# -- saved HTML pages ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def html_docs(shared_data):
    docs, ledger = read("html", [shared_data / "web_html"])
    return {d.metadata["origin"].split("web_html/", 1)[1].split("#")[0]: d for d in docs}, ledger


def test_html_folder_decodes_and_extracts_by_language(shared_data, html_docs):
    docs, ledger = html_docs
    assert ledger["read"] == 36 and ledger["errors"] == [] and ledger["dropped"] == {}
    with open(shared_data / "web_html" / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    japanese = [docs[r["file"]] for r in rows if r["language"].startswith("ja")]
    assert len(japanese) == 16
    for doc in japanese:  # most of these pages store their text as &#x...; references
        assert "&#" not in doc.text and "\ufffd" not in doc.text and len(KANA.findall(doc.text)) >= 100, doc.id
        assert KANA.search(doc.metadata["meta"]["title"]) or HAN.search(doc.metadata["meta"]["title"])
    assert japanese_share("".join(d.text for d in japanese)) > 0.8
    for row in rows:
        doc = docs[row["file"]]
        if row["language"] in ("en", "de", "fr", "es"):
            assert japanese_share(doc.text) == 0 and len(doc.text) > 1000, row["file"]
        elif row["language"] == "zh":  # Chinese: Han characters but no kana
            assert len(HAN.findall(doc.text)) > 500 and not KANA.search(doc.text), row["file"]


def test_ruby_furigana_is_not_doubled_into_the_text(shared_data, html_docs):
    source = (shared_data / "web_html" / "ja" / "trafilatura__nhk.or.jp.k100.html").read_text(encoding="utf-8-sig")
    pairs = re.findall(r"<ruby>([^<]+)<rt>([^<]+)</rt></ruby>", source)
    assert len(pairs) > 30
    text = html_docs[0]["ja/trafilatura__nhk.or.jp.k100.html"].text
    assert sum(base in text for base, _ in pairs) > 30  # the article's ruby; the rest is in menus
    assert not any(base + reading in text for base, reading in pairs)


def test_extraction_matches_the_readability_gold(shared_data, html_docs):
    folder = shared_data / "web_html" / "readability_testpages" / "hukumusume"
    gold = clean_lines(parse_html((folder / "expected.html").read_text(encoding="utf-8")).text_content())
    expected_title = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))["title"]
    doc = html_docs[0]["readability_testpages/hukumusume/source.html"]
    precision, recall, f1 = bigram_f1(doc.text, gold)
    assert f1 > 0.85 and precision > 0.8 and recall > 0.8, (precision, recall)
    assert expected_title in doc.metadata["meta"]["title"]
    basic = extract_page((folder / "source.html").read_text(encoding="utf-8"), extractor="basic")
    assert basic.extractor == "basic" and bigram_f1(basic.text, gold)[2] > 0.85  # the fallback holds up too
    assert "肉をくわえたイヌが、橋を渡っていました。" in doc.text


def names(docs) -> list[str]:
    return [Path(d.metadata["origin"].split("#")[0]).name for d in docs]


def test_html_source_reads_compressed_pages_forced_encoding_and_reports_empty_files(tmp_path, shared_data):
    feed = (shared_data / "legacy_encoding_ja_feeds" / "SHIFT_JIS" / "_ude_3.txt").read_bytes()
    page = b"<html><body><p>" + feed + b"</p></body></html>"  # no declaration anywhere
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.html.gz").write_bytes(gzip.compress(page))
    (tmp_path / "pages" / "b.htm").write_bytes(page)
    (tmp_path / "pages" / "empty.html").write_bytes(b"")
    (tmp_path / "pages" / "notes.txt").write_bytes(page)  # not a page extension: skipped in folders and globs
    docs, ledger = read("html", [tmp_path / "pages"], encoding="shift_jis")
    assert names(docs) == ["a.html.gz", "b.htm"]
    assert all(d.metadata["meta"]["charset"] == "cp932" and d.text == docs[0].text for d in docs)
    assert feed.decode("cp932").split("\n")[2].strip() in docs[0].text
    assert [e["message"] for e in ledger["errors"]] == ["empty file"]
    docs, ledger = read("html", [tmp_path / "pages" / "*", tmp_path / "pages" / "notes.txt"])
    assert names(docs) == ["a.html.gz", "b.htm", "notes.txt"]  # a file named explicitly is read whatever its name
    with pytest.raises(ValueError, match="unknown encoding"):
        SOURCE_TYPES["html"].Options(encoding="klingon")


# -- through the engine ----------------------------------------------------------------------------------------
def test_recipe_with_web_sources_keeps_the_manifest_invariant(tmp_path, warc_dir, clueweb, shared_data):
    data = clueweb.read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(data[: gzip_members(data)[6] + 3000])
    whirlwind = warc_dir / "commoncrawl_whirlwind_CC-MAIN-2024-22"
    recipe = tmp_path / "web.yaml"
    recipe.write_text(
        f"""\
name: web
sources:
  - {{type: warc, paths: ["{clueweb}", "{warc_dir}/commoncrawl_CC-MAIN-2020-34_excerpt/*.warc.gz", cut.warc.gz]}}
  - {{type: wet, paths: ["{whirlwind}/whirlwind.warc.wet.gz"]}}
  - {{name: pages, type: html, paths: ["{shared_data}/web_html/ja"]}}
output: {{dir: out, keep_dropped: true}}
""",
        encoding="utf-8",
    )
    plan = build_plan(parse_recipe(recipe.read_text(), str(recipe), str(tmp_path)))
    manifest = run_local(plan, workers=2, progress=False)
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())
    assert manifest["read"] == 29 + 16 + 5 + 1 + 16  # the cut file keeps its 5 whole responses
    errors = [e for e in manifest["errors"] if e["file"] == "cut.warc.gz"]
    assert errors and errors[0]["position"]["offset"] > 0 and "truncated" in errors[0]["message"]
    ds = datasets.load_from_disk(str(tmp_path / "out"))
    assert len(ds) == manifest["kept"] and len(set(ds["id"])) == len(ds)
    per_source = collections.Counter(ds["source"])
    assert per_source == {name: counts["kept"] for name, counts in manifest["sources"].items()}
    assert per_source["wet"] == 1 and per_source["pages"] == 16 and per_source["warc"] >= 29 + 5
    dropped = datasets.load_from_disk(str(tmp_path / "out" / "dropped"))
    assert len(dropped) == sum(manifest["dropped"].values()) and all(r.startswith("warc:") for r in dropped["reason"])
    cut_rows = [row for row in ds if row["origin"].startswith("cut.warc.gz#offset=")]
    assert len(cut_rows) == 5 and all(json.loads(r["metadata"])["charset"].startswith("euc_") for r in cut_rows)
