"""Charset rules on real legacy-encoded Japanese feeds (EUC-JP, Shift_JIS, CP932, ISO-2022-JP)."""

from __future__ import annotations

import csv
import re

import pytest

from jacorpus.corpus.sources.charset import canonical_codec, decode_bytes, declared_charsets, family

KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff]")
KANA_KANJI = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\u4e00-\u9fff]")
# the codec that decodes each folder of the fixture strictly, as a reference decoding
REFERENCE_CODEC = {"EUC-JP": "euc_jp", "SHIFT_JIS": "cp932", "CP932": "cp932", "iso-2022-jp": "iso2022_jp"}
CODEC_PREFIX = {"EUC-JP": "euc_", "SHIFT_JIS": "cp932", "CP932": "cp932", "iso-2022-jp": "iso2022_jp"}


def japanese_share(text: str) -> float:
    """Kana and kanji among the non-ASCII letters: mojibake of Japanese is Latin accents or half-width katakana."""
    letters = [ch for ch in text if ch.isalpha() and ord(ch) > 127]
    return sum(1 for ch in letters if KANA_KANJI.match(ch)) / max(1, len(letters))


def feed_rows(shared_data):
    root = shared_data / "legacy_encoding_ja_feeds"
    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 31
    return root, rows


def test_every_legacy_feed_decodes_to_japanese_without_replacement(shared_data):
    root, rows = feed_rows(shared_data)
    for row in rows:
        data = (root / row["file"]).read_bytes()
        folder = row["declared_encoding_dir"]
        decoded = decode_bytes(data)
        assert "\ufffd" not in decoded.text, row["file"]
        assert decoded.charset.startswith(CODEC_PREFIX[folder]), (row["file"], decoded.charset)
        assert len(KANA.findall(decoded.text)) >= 50 and japanese_share(decoded.text) > 0.9, row["file"]
        # and character for character what the folder's encoding gives
        assert decoded.text == data.decode(REFERENCE_CODEC[folder]), row["file"]


def test_files_without_any_declaration_are_detected(shared_data):
    root, rows = feed_rows(shared_data)
    bare = [row for row in rows if row["file"].endswith(".txt")]  # uchardet samples: no meta, no XML declaration
    assert len(bare) == 4
    for row in bare:
        data = (root / row["file"]).read_bytes()
        assert declared_charsets(data) == []
        decoded = decode_bytes(data)
        assert decoded.evidence in ("detected", "iso2022")
        assert decoded.text == data.decode(REFERENCE_CODEC[row["declared_encoding_dir"]])


def test_shift_jis_label_decodes_cp932_extensions(shared_data):
    """y-moto.com declares Shift_JIS but uses Windows characters, as most "Shift_JIS" pages did."""
    data = (shared_data / "legacy_encoding_ja_feeds" / "CP932" / "y-moto.com.xml").read_bytes()
    assert declared_charsets(data)[0].lower() == "shift_jis"
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")
    decoded = decode_bytes(data)
    assert decoded.charset == "cp932" and decoded.evidence == "meta" and "\ufffd" not in decoded.text


def test_wrong_or_weak_declarations_do_not_win_over_the_bytes(shared_data):
    feeds = shared_data / "legacy_encoding_ja_feeds"
    euc = (feeds / "EUC-JP" / "azoz.org.xml").read_bytes()
    sjis = (feeds / "SHIFT_JIS" / "10e.org.xml").read_bytes()
    expected_euc, expected_sjis = euc.decode("euc_jp"), sjis.decode("cp932")
    # a server default of ISO-8859-1 on a Japanese page
    assert decode_bytes(euc, http_charset="ISO-8859-1").text == expected_euc
    assert decode_bytes(sjis, http_charset="iso-8859-1").text == expected_sjis
    # a wrong multi-byte label (EUC-JP bytes served as Shift_JIS, and the reverse)
    assert decode_bytes(euc, http_charset="Shift_JIS").text == expected_euc
    assert decode_bytes(sjis, http_charset="EUC-JP").text == expected_sjis
    # a Latin page keeps its declared single-byte charset
    latin = "Grüße aus München, déjà vu".encode("cp1252")
    assert decode_bytes(latin, http_charset="ISO-8859-1").text == "Grüße aus München, déjà vu"


def test_utf8_cut_inside_a_character_loses_only_that_character(shared_data):
    page = (shared_data / "web_html" / "ja" / "postlight__www.gizmodo.jp.html").read_bytes()
    cut = page[: len(page) // 2]
    while (cut[-1] & 0xC0) == 0x80 or cut[-1] < 0x80:  # end inside a multi-byte character
        cut = cut[:-1]
    decoded = decode_bytes(cut)
    assert decoded.charset == "utf-8" and "\ufffd" not in decoded.text
    assert decoded.text == cut[:-1].decode("utf-8")


def test_a_few_bad_bytes_do_not_turn_a_page_into_mojibake(shared_data):
    """A stray byte makes strict decoding fail; detectors then pick Baltic or Chinese codecs for Japanese pages."""
    pages = [
        (shared_data / "web_html" / "readability_testpages" / "hukumusume" / "source.html", "utf-8"),
        (shared_data / "web_html" / "ja" / "postlight__www.ipa.go.jp.html", "utf-8"),
        (shared_data / "legacy_encoding_ja_feeds" / "EUC-JP" / "azoz.org.xml", "euc_jis_2004"),
        (shared_data / "legacy_encoding_ja_feeds" / "SHIFT_JIS" / "10e.org.xml", "cp932"),
    ]
    for path, codec in pages:
        data = path.read_bytes()
        cut = data.index(b"\n<", len(data) // 3) + 1  # before a tag: the stray byte cannot pair with a character
        damaged = data[:cut] + b"\x81" + data[cut:]  # invalid alone in UTF-8, EUC-JP and Shift_JIS
        decoded = decode_bytes(damaged)
        assert decoded.charset == codec and decoded.evidence == "damaged" and decoded.replaced == 1, path.name
        reference = data.decode(codec)
        assert decoded.text.replace("\ufffd", "") == reference, path.name


def test_forced_encoding_bom_and_labels(shared_data):
    euc = (shared_data / "legacy_encoding_ja_feeds" / "EUC-JP" / "tls.org.xml").read_bytes()
    forced = decode_bytes(euc, forced="cp932")  # the user is wrong: bytes that do not fit become U+FFFD
    assert forced.evidence in ("forced", "fallback") and forced.charset in family("cp932")
    text = "日本語のページ①"
    assert decode_bytes("\ufeff".encode("utf-8") + text.encode("utf-8")).text == text
    assert decode_bytes(text.encode("utf-16")).text == text
    assert canonical_codec("Windows-31J") == "cp932" and canonical_codec("x-sjis") == "cp932"
    assert family(canonical_codec("EUC-JP"))[0] == "euc_jis_2004" and family(canonical_codec("SJIS"))[0] == "cp932"
    assert canonical_codec("no-such-charset") is None
    with pytest.raises(LookupError):
        decode_bytes(euc, forced="no-such-charset")
