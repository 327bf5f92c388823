"""The `feed` source on the 27 real legacy-encoded feed files (EUC-JP / Shift_JIS / CP932) and on small feeds that
exercise RSS 2.0, RSS 1.0, Atom 1.0, CDATA, entities, faults and hostile XML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jacorpus.corpus.sources import SOURCES

SOURCE_TYPES = SOURCES.load()  # every built-in type (they load lazily)

MARKUP_LEFTOVERS = re.compile(r"\]\]>|<!\[CDATA\[|</?(p|br|a|div|img|span)\b|&(nbsp|amp|lt|gt|quot);|&#\d+;")


def read(paths: list[Path], base_dir: Path, **options):
    cls = SOURCE_TYPES["feed"]
    source = cls("feeds", [str(p) for p in paths], cls.Options(**options), str(base_dir))
    docs = list(source.run())
    return docs, source.ledger.to_dict()


@pytest.fixture(scope="module")
def real_feeds(shared_data):
    root = shared_data / "legacy_encoding_ja_feeds"
    files = sorted(root.glob("*/*.xml"))
    docs, ledger = read([root], root)  # the folder: feeds are found by extension
    return root, files, docs, ledger


def test_every_item_of_every_real_feed_is_a_document_or_a_reasoned_drop(real_feeds):
    root, files, docs, ledger = real_feeds
    assert len(files) == 27
    by_file: dict[str, int] = {}
    for doc in docs:
        name = doc.metadata["origin"].rsplit("#", 1)[0]
        by_file[name] = by_file.get(name, 0) + 1
    drops = sum(ledger["dropped"].values())
    assert ledger["dropped"] == {"feeds:no_text": 1}  # one clickablewords.com entry is an image only
    for path in files:
        name = path.relative_to(root).as_posix()
        items = len(re.findall(rb"<(?:item|entry)[ >]", path.read_bytes()))  # independent count from the bytes
        if name != "SHIFT_JIS/clickablewords.com.xml":
            assert by_file.get(name, 0) == items, name
    assert len(docs) + drops == 388  # items in the 26 feeds
    # the one file that is an HTML page saved as .xml is an input error, not a silent empty feed
    (error,) = ledger["errors"]
    assert error["file"] == "CP932/hardsoft.at.webry.info.xml" and "not an RSS or Atom feed" in error["message"]


def test_real_feeds_decode_cleanly_with_no_markup_left(real_feeds):
    root, _, docs, _ = real_feeds
    for doc in docs:
        folder = doc.metadata["origin"].split("/", 1)[0]
        charset = doc.metadata["meta"]["charset"]
        assert charset.startswith("euc_j" if folder == "EUC-JP" else ("cp932", "shift_jis")), (folder, charset)
        assert "\ufffd" not in doc.text, doc.metadata["origin"]
        assert not MARKUP_LEFTOVERS.search(doc.text), (doc.metadata["origin"], MARKUP_LEFTOVERS.search(doc.text))
        assert doc.metadata["meta"]["feed_title"] and doc.metadata["meta"]["date"]
    assert sum(bool(re.search(r"[ぁ-ん]", d.text)) for d in docs) >= 0.95 * len(docs)


def test_item_fields_of_an_rss1_feed(real_feeds):
    """Values read by eye from EUC-JP/akaname.main.jp.xml (its first <item>)."""
    _, _, docs, _ = real_feeds
    first = next(d for d in docs if d.metadata["origin"] == "EUC-JP/akaname.main.jp.xml#item=1")
    meta = first.metadata["meta"]
    assert meta["title"] == "そろそろ3ヶ月"
    assert meta["url"] == "http://akaname.main.jp/mt/archives/000131.html"
    assert meta["date"] == "2005-12-01T02:05:21+09:00"
    assert meta["feed_title"] == "Akaname's blog: 晴れた日は走りてぇな"
    assert meta["feed_format"] == "rss1"
    # title, blank line, then the content:encoded body (longer than the description, which ends in "...")
    assert first.text.startswith("そろそろ3ヶ月\n\n息子もそろそろ３カ月になる。")
    assert "かみさんしっかり頑張ってくれています。" in first.text and "..." not in first.text


def test_a_relabelled_feed_reads_the_same(real_feeds, tmp_path):
    """Declared, then detected: the EUC-JP feed re-encoded to ISO-2022-JP, and a Shift_JIS feed whose declaration
    says ISO-8859-1 (a server default), give the same documents."""
    root, _, docs, _ = real_feeds
    euc = (root / "EUC-JP" / "akaname.main.jp.xml").read_bytes()
    text = euc.decode("euc_jis_2004")
    (tmp_path / "jis.xml").write_bytes(text.replace('encoding="EUC-JP"', 'encoding="ISO-2022-JP"').encode("iso2022_jp_2"))
    sjis = (root / "SHIFT_JIS" / "andore.com.xml").read_bytes()
    (tmp_path / "latin.xml").write_bytes(sjis.replace(b'encoding="Shift_JIS"', b'encoding="ISO-8859-1"'))
    for name, original in (("jis.xml", "EUC-JP/akaname.main.jp.xml"), ("latin.xml", "SHIFT_JIS/andore.com.xml")):
        again, ledger = read([tmp_path / name], tmp_path)
        assert ledger["errors"] == []
        expected = [d.text for d in docs if d.metadata["origin"].startswith(original + "#")]
        assert [d.text for d in again] == expected and len(expected) == 15, name


RSS2 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>テスト &amp; ブログ</title><link>https://example.jp/</link>
<generator>WordPress 6.4</generator>
<item><title>一つ目の記事&nbsp;です</title><link>https://example.jp/1</link><pubDate>Mon, 01 Jan 2024 09:00:00 +0900</pubDate>
<description><![CDATA[<p>概要だけ。</p>]]></description>
<content:encoded><![CDATA[<p>本文の一段落目です。&nbsp;東京都で&amp;雨が降りました。</p><p>二段落目は&lt;強調&gt;を含みます。&#x3042;</p>]]></content:encoded>
</item>
<item><title>二つ目</title><link>https://example.jp/2</link>
<description>&lt;p&gt;エスケープされたHTMLの本文です。&lt;br/&gt;改行の後。&lt;/p&gt;</description></item>
<item><title>画像だけ</title><description><![CDATA[<img src="a.png">]]></description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">アトムの日記</title>
<entry><title>XHTMLの記事</title><link rel="alternate" href="https://example.jp/a"/><link rel="edit" href="https://example.jp/edit"/>
<updated>2024-02-03T10:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>インラインのXHTMLで書かれた本文です。</p></div></content></entry>
<entry><title>テキストの記事</title><link href="https://example.jp/b"/><published>2024-02-04T10:00:00Z</published>
<content type="text">&lt;そのまま&gt;の文字として読む本文です。</content></entry>
</feed>"""


def test_rss2_cdata_entities_and_escaped_html(tmp_path):
    (tmp_path / "rss.xml").write_text(RSS2, encoding="utf-8")
    docs, ledger = read([tmp_path / "rss.xml"], tmp_path)
    assert ledger["dropped"] == {"feeds:no_text": 1} and ledger["errors"] == []
    first, second = docs
    # no-break spaces become spaces, as in the html source
    assert first.text == ("一つ目の記事 です\n\n本文の一段落目です。 東京都で&雨が降りました。\n"
                          "二段落目は<強調>を含みます。あ")
    assert first.metadata["meta"] | {"charset": None} == {
        "title": "一つ目の記事 です", "url": "https://example.jp/1", "date": "Mon, 01 Jan 2024 09:00:00 +0900",
        "feed_title": "テスト & ブログ", "feed_format": "rss", "charset": None}
    assert second.text == "二つ目\n\nエスケープされたHTMLの本文です。\n改行の後。"
    assert first.metadata["origin"] == "rss.xml#item=1" and second.metadata["origin"] == "rss.xml#item=2"


def test_atom_xhtml_and_text_content(tmp_path):
    (tmp_path / "atom.xml").write_text(ATOM, encoding="utf-8")
    docs, ledger = read([tmp_path / "atom.xml"], tmp_path)
    assert ledger["errors"] == [] and len(docs) == 2
    assert docs[0].text == "XHTMLの記事\n\nインラインのXHTMLで書かれた本文です。"
    assert docs[0].metadata["meta"]["url"] == "https://example.jp/a"  # the alternate link, not the edit link
    assert docs[0].metadata["meta"]["date"] == "2024-02-03T10:00:00Z"
    assert docs[1].text == "テキストの記事\n\n<そのまま>の文字として読む本文です。"
    assert docs[1].metadata["meta"]["feed_title"] == "アトムの日記"


def test_a_malformed_feed_keeps_the_items_before_the_fault(real_feeds, tmp_path):
    root, _, docs, _ = real_feeds
    data = (root / "SHIFT_JIS" / "10e.org.xml").read_bytes()
    ends = [m.end() for m in re.finditer(rb"</item>", data)]
    cut = data[: ends[11]] + b"\n<item><title>broken</title><description>x</descr></item>"  # item 13: tag mismatch
    (tmp_path / "broken.xml").write_bytes(cut)
    again, ledger = read([tmp_path / "broken.xml"], tmp_path)
    expected = [d.text for d in docs if d.metadata["origin"].startswith("SHIFT_JIS/10e.org.xml#")][:12]
    assert [d.text for d in again] == expected
    (error,) = ledger["errors"]
    assert error["message"].startswith("malformed feed") and error["position"]["items_before"] == 12
    assert error["position"]["line"] == cut.count(b"\n") + 1 and error["position"]["column"] > 0


def test_hostile_xml_is_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    lol = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    hostile = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY l0 "lol">{lol}<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>t</title>
<item><title>爆弾</title><description>本文の前&l9;本文の後、外部&xxe;実体。</description></item>
</channel></rss>"""
    (tmp_path / "hostile.xml").write_text(hostile, encoding="utf-8")
    docs, ledger = read([tmp_path / "hostile.xml"], tmp_path)
    text = " ".join(d.text for d in docs) + " ".join(e["message"] for e in ledger["errors"])
    assert "TOP-SECRET-VALUE" not in text and "lollol" not in text
    assert len(text) < 10_000
