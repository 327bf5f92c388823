"""Wikitext -> plain text: each markup family on small inputs, then the regex path on real jawiki pages."""

from __future__ import annotations

import bz2
import html
import re

import pytest

from jacorpus.corpus.sources.wikitext import WikitextCleaner, wikitext_to_text
from jacorpus.corpus.sources.wikitext_regex import is_disambiguation, redirect_target, unclosed_cost

MARKUP = ("{{", "}}", "[[", "]]", "''", "<ref", "</ref", "{|", "|}", "<!--", "__TOC__")


def lines(wikitext: str, **options) -> list[str]:
    return wikitext_to_text(wikitext, **options).split("\n")


def assert_no_markup(text: str) -> None:
    for token in MARKUP:
        assert token not in text, f"{token!r} left in: {text[max(0, text.find(token) - 60):text.find(token) + 60]!r}"


def test_links_keep_their_text_and_files_categories_interlanguage_go():
    text = wikitext_to_text(
        "[[東京都|東京]]の[[日本]]。[[ファイル:Tokyo.jpg|thumb|200px|東京の[[夜景]]]]"
        "[[画像:a.png|left]][[File:b.svg]][[Image:c.gif|x]][[Category:日本の都市]][[カテゴリ:首都]][[en:Tokyo]]"
        "[[:Category:首都]]を参照。[[#歴史|下記]]"
    )
    assert text == "東京の日本。Category:首都を参照。下記"


def test_siteinfo_namespace_names_hide_links_too():
    assert wikitext_to_text("a[[Datei:x.png|bild]]b", hidden_link_prefixes=["Datei"]) == "ab"
    assert wikitext_to_text("a[[Datei:x.png|bild]]b") == "abild b".replace(" ", "")  # unknown prefix: a link


def test_templates_infobox_and_inline_templates():
    text = wikitext_to_text(
        "{{基礎情報 国\n|名前 = {{lang|ja|日本}}\n|首都 = [[東京]]\n|人口 = {{formatnum:125000000}}\n}}\n"
        "'''日本'''（{{lang-en|Japan}}）は{{仮リンク|ヤマト|en|Yamato}}の国。{{要出典|date=2020年1月}}"
        "{{読み仮名|'''東京'''|とうきょう}}は首都。{{要出典範囲|諸説ある|date=2021年}}。"
    )
    assert text == "日本（Japan）はヤマトの国。東京（とうきょう）は首都。諸説ある。"


def test_tables_refs_comments_magic_words_removed():
    wikitext = (
        "__TOC__\n本文<ref name=\"a\">{{cite web|url=http://x|title=t}}</ref>です<ref name=\"a\" />。<!-- 隠し -->\n"
        "{| class=\"wikitable\"\n! 見出し !! 値\n|-\n| [[a]] || {{b}}\n|}\n"
        "後文。\n{{DEFAULTSORT:にほん}}\n<references />"
    )
    assert lines(wikitext) == ["本文です。", "後文。"]


def test_external_links_entities_and_emphasis():
    text = wikitext_to_text("[https://example.jp 公式サイト]と[https://example.jp]と''斜体''と'''太字'''&nbsp;&amp;&#x41;&#65;")
    assert text == "公式サイトとと斜体と太字 &AA"


def test_headings_are_lines_lists_lose_markers_tail_sections_dropped():
    wikitext = (
        "導入文。\n== 歴史 ==\n* 古代\n# 中世\n; 用語 : 説明\n=== 近代 ===\n近代の話。\n"
        "== 脚注 ==\n{{Reflist}}\n=== 注釈 ===\n注の本文\n== 参考文献 ==\n* 本\n"
        "== 関連項目 ==\n* [[日本]]\n== 外部リンク ==\n* [http://x.jp 公式]\n"
    )
    assert lines(wikitext) == ["導入文。", "歴史", "古代", "中世", "用語 説明", "近代", "近代の話。"]


def test_tail_section_drop_stops_at_the_next_normal_section_and_empty_headings_go():
    wikitext = "本文。\n== 脚注・出典 ==\n注。\n== 年表 ==\n{| \n| 1 |}\n== 影響 ==\n影響の話。\n== See also ==\n* x"
    assert lines(wikitext) == ["本文。", "影響", "影響の話。"]


def test_size_guard_uses_the_regex_path_with_the_same_rules():
    cleaner = WikitextCleaner(max_parse_chars=10)
    wikitext = "'''東京'''は[[日本]]の{{lang|en|x}}首都<ref>r</ref>。\n== 歴史 ==\n[[ファイル:a.png|thumb|図]]古い。\n== 脚注 ==\n注"
    assert cleaner.clean(wikitext).split("\n") == ["東京は日本の首都。", "歴史", "古い。"]
    assert cleaner.fallbacks == 1


def test_pathological_nesting_and_unbalanced_markup_end_clean():
    wikitext = "{{" * 3000 + "[[" * 3000 + "本文" + "]]" * 10 + "<ref>閉じない参照\n後続の文。 {| 閉じない表"
    text = wikitext_to_text(wikitext)
    assert_no_markup(text)
    assert "本文" in text and "後続の文。" in text


PARAGRAPH = "普通の文章です。[[リンク]]と{{tmpl|x}}があります。\n" * 40


def test_unclosed_cost_counts_what_the_tokenizer_would_retry():
    assert unclosed_cost(PARAGRAPH + "{{{引数}}}{{a|{{b}}}}<ref name=x/><br><div>x</div><!-- c -->") == 0
    assert unclosed_cost("{{a|" + PARAGRAPH) == pytest.approx(len(PARAGRAPH), abs=4)  # one opener: the page after it
    assert unclosed_cost("<span>" + PARAGRAPH) > len(PARAGRAPH)
    assert unclosed_cost("<ref name=x" + PARAGRAPH) > len(PARAGRAPH)  # a tag never closed by ">"


@pytest.mark.parametrize("opener", ["{{a|", "[[a|", "<span>", "<ref name=x", "{|\n", "[http://x ", "<math>", "}}", "'''"])
def test_unbalanced_markup_is_guarded_and_ends_clean(opener):
    """Each unclosed opener makes mwparserfromhell's tokenizer rescan the rest of the page (minutes for inputs
    like these); the guard sends such pages to the regex path, and either way no markup is left."""
    cleaner = WikitextCleaner()
    for wikitext in (opener * 8000, "".join(PARAGRAPH + opener for _ in range(150))):
        text = cleaner.clean(wikitext)
        assert_no_markup(text)
        if PARAGRAPH in wikitext:
            assert text.count("普通の文章です。リンクとがあります。") >= 149 * 40
    if unclosed_cost(opener * 8000) > cleaner.max_unclosed_cost:
        assert cleaner.fallbacks >= 1


def test_redirect_and_disambiguation_classifiers():
    assert redirect_target("#REDIRECT [[エスペラント]]") == "エスペラント"
    assert redirect_target("#転送 [[日本]]") == "日本"
    assert redirect_target("#redirect[[a|b]]") == "a"
    assert redirect_target("# 番号付きの項目") is None
    for page in ("{{Aimai}}", "{{曖昧さ回避}}", "{{人名の曖昧さ回避}}", "x\n{{disambig|geo}}", "[[Category:曖昧さ回避]]"):
        assert is_disambiguation(page), page
    for page in ("{{要曖昧さ回避|date=2020}}", "{{Dablink|x}}", "{{Otheruses}}", "[[Category:曖昧さ回避の必要なページ]]"):
        assert not is_disambiguation(page), page
    assert is_disambiguation("本文", "EU (曖昧さ回避)")


@pytest.fixture(scope="module")
def real_pages(shared_data) -> list[tuple[str, str]]:
    xml = bz2.decompress((shared_data / "jawiki_xml" / "jawiki-2022-07-pages-articles-sample.xml.bz2").read_bytes())
    found = re.findall(r"<title>(.*?)</title>.*?<text[^>]*>(.*?)</text>", xml.decode("utf-8"), re.S)
    return [(html.unescape(t), html.unescape(x)) for t, x in found]


def test_regex_path_on_real_pages_is_clean_and_close_to_the_tokenizer_path(real_pages):
    """The guard's fallback must not be a cliff: on real articles it shares most lines with the main path."""
    main, fallback = WikitextCleaner(), WikitextCleaner(max_parse_chars=1)
    shared = total = 0
    for _, wikitext in real_pages:
        if redirect_target(wikitext) is not None:
            continue
        expected, got = main.clean(wikitext), fallback.clean(wikitext)
        assert_no_markup(got)
        expected_lines = set(expected.split("\n"))
        shared += sum(1 for line in got.split("\n") if line in expected_lines)
        total += len(expected_lines)
    assert fallback.fallbacks > 200 and main.fallbacks == 0
    assert shared / total > 0.8
