"""Japanese sentence splitting: rules one by one, then properties on real text (a novel and clinical case reports)."""

from __future__ import annotations

import re

import pytest

from jacorpus.corpus.sentences import sentence_spans, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("吾輩は猫である。名前はまだ無い。", ["吾輩は猫である。", "名前はまだ無い。"]),
        ("本当ですか？はい！そうです。", ["本当ですか？", "はい！", "そうです。"]),
        ("本当？！うそ！！まさか。", ["本当？！", "うそ！！", "まさか。"]),  # a run of terminators is one end
        ("Really?はい!行きます。", ["Really?", "はい!", "行きます。"]),  # ASCII ! and ?
        ("えっ……。まあ。", ["えっ……。", "まあ。"]),
        ("半角｡次の文｡", ["半角｡", "次の文｡"]),
        ("終わりのない文", ["終わりのない文"]),
    ],
)
def test_terminators(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a closing bracket or quote right after the terminator belongs to the sentence
        ("彼は言った。」次に進む。", ["彼は言った。」", "次に進む。"]),
        ("詳細は後述する。）次に進む。", ["詳細は後述する。）", "次に進む。"]),
        ("見出し。】本文。", ["見出し。】", "本文。"]),
        ("そして行く！”次。", ["そして行く！”", "次。"]),
        ("本当だ！』それで", ["本当だ！』", "それで"]),
    ],
)
def test_closing_brackets_stay_with_their_sentence(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("「はい。そうです。」と言った。", ["「はい。そうです。」と言った。"]),
        ("「はい。そうです。」と言った。次の文。", ["「はい。そうです。」と言った。", "次の文。"]),
        ("『本当か？嘘だろう！』と叫んだ。", ["『本当か？嘘だろう！』と叫んだ。"]),
        ("結果を示す（図１。表２を参照。）。以上。", ["結果を示す（図１。表２を参照。）。", "以上。"]),
        ("「彼は『行く。』と書いた。」と読んだ。", ["「彼は『行く。』と書いた。」と読んだ。"]),  # nested
        ("【注意。重要。】本文です。", ["【注意。重要。】本文です。"]),
    ],
)
def test_no_split_inside_brackets(text, expected):
    assert split_sentences(text) == expected


def test_consecutive_quotations_are_separate_sentences():
    assert split_sentences("「はい。」「いいえ。」") == ["「はい。」", "「いいえ。」"]
    assert split_sentences("「『はい。』」「いいえ。」と答えた。") == ["「『はい。』」", "「いいえ。」と答えた。"]
    # a quotation followed by text is one sentence with it
    assert split_sentences("「はい。」と答えた。") == ["「はい。」と答えた。"]


def test_unmatched_brackets_do_not_swallow_the_text():
    assert split_sentences("括弧が閉じない（ここで。次の文。") == ["括弧が閉じない（ここで。", "次の文。"]
    assert split_sentences("余分な閉じ括弧）だ。次の文。") == ["余分な閉じ括弧）だ。", "次の文。"]
    # a bracket opened on one line never protects the next line
    assert split_sentences("「開いたまま\n次の行。その次。") == ["「開いたまま", "次の行。", "その次。"]
    # mismatched closer: the inner unmatched opener is ignored, the outer pair still protects
    assert split_sentences("「外（内。」と言う。") == ["「外（内。」と言う。"]


def test_newlines_and_whitespace():
    text = "一行目\r\n二行目。三文目\n\n\u3000字下げした段落。\n   \n最後"
    assert split_sentences(text) == ["一行目", "二行目。", "三文目", "字下げした段落。", "最後"]
    assert split_sentences("") == []
    assert split_sentences(" \n\u3000\n") == []
    assert split_sentences("文。\u3000次の文。") == ["文。", "次の文。"]


def test_full_width_period_in_medical_text():
    text = "症例は７０歳，男性．血痰を主訴に来院した．ＰＳＬ　０．５ｍｇ／ｋｇを投与した．"
    assert split_sentences(text) == [
        "症例は７０歳，男性．",
        "血痰を主訴に来院した．",
        "ＰＳＬ　０．５ｍｇ／ｋｇを投与した．",
    ]
    # decimals with mixed full-width / ASCII digits are not sentence ends; a digit after a word is a new sentence
    assert split_sentences("ＩｇＭ　４５．1ｍｇ／ｄＬであった．２週後に退院した．") == [
        "ＩｇＭ　４５．1ｍｇ／ｄＬであった．",
        "２週後に退院した．",
    ]
    assert split_sentences("体温は37.5度。") == ["体温は37.5度。"]  # ASCII '.' is never a terminator


def test_ascii_marks_inside_tokens_and_quotative_to():
    assert split_sentences("詳しくは http://example.jp/?q=1&r=2 を参照!次へ。") == [
        "詳しくは http://example.jp/?q=1&r=2 を参照!",
        "次へ。",
    ]
    assert split_sentences("Yahoo!Japanで検索した。") == ["Yahoo!Japanで検索した。"]
    assert split_sentences("ドン！と音がした。") == ["ドン！と音がした。"]
    assert split_sentences("大和魂！\u3000と新聞屋が云う。") == ["大和魂！\u3000と新聞屋が云う。"]
    assert split_sentences("本当！？って聞いた。はい。") == ["本当！？って聞いた。", "はい。"]


def test_spans_index_the_original_text():
    text = "\u3000「はい。」と言った。\n\n次の文！ 最後"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == split_sentences(text) == ["「はい。」と言った。", "次の文！", "最後"]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


def _without_space(text: str) -> str:
    return re.sub(r"\s", "", text)


def test_novel_one_sentence_per_line(shared_data):
    """neko.txt is already split one sentence per line at 。; the splitter must agree on (almost) every line."""
    text = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) > 9000
    disagree = []
    for line in lines:
        sentences = split_sentences(line)
        assert _without_space("".join(sentences)) == _without_space(line)  # nothing lost, nothing added
        if len(sentences) != 1:
            disagree.append(sentences)
    # neko.txt only splits at 。, so the only extra splits allowed are after ！ or ？ inside a line
    assert len(disagree) <= 5
    for sentences in disagree:
        assert all(s[-1] in "！？!?" for s in sentences[:-1]), sentences
    # the whole novel in one call: the same sentences as line by line (lines are hard boundaries)
    assert split_sentences(text) == [s for line in lines for s in split_sentences(line)]


def test_medtxt_case_reports(shared_data):
    raw = (shared_data / "medical" / "medtxt_cr_ja" / "MedTxt-CR-JA-training.xml").read_text(encoding="utf-8")
    bodies = [re.sub(r"<[^>]+>", "", body) for body in re.findall(r"<article [^>]*>(.*?)</article>", raw, re.S)]
    assert len(bodies) == 148
    lines = sentences = 0
    for body in bodies:
        body_lines = [line for line in body.splitlines() if line.strip()]
        out = split_sentences(body)
        assert out == [s for line in body_lines for s in split_sentences(line)]  # lines are boundaries
        assert _without_space("".join(out)) == _without_space(body)
        for line in body_lines:
            in_line = split_sentences(line)
            # inside a line, a sentence only ends at a terminator, possibly followed by closing brackets
            assert all(re.search(r"[。．！？!?][）」』】)]*$", s) for s in in_line[:-1]), in_line
        for a, b in zip(out, out[1:]):
            assert not (a.endswith("．") and a[-2:-1].isdecimal() and b[:1].isdecimal()), (a, b)  # no decimal cut
        lines += len(body_lines)
        sentences += len(out)
    # MedTxt writes one sentence per line; a few lines hold two
    assert lines < sentences <= lines * 1.1
