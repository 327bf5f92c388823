"""Issue 15's targets on real data: seed terms take the dictionary budget first and stay whole in running text;
SentencePiece over Sudachi spends no token on word boundaries and decodes exactly; nothing is [UNK]; whole-word
masking ids follow Sudachi's words; the MeCab user dictionary is compiled."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict

import pytest
import yaml

from jacorpus.tokenizers.align import token_spans
from jacorpus.tokenizers.loading import load_tokenizer
from jacorpus.tokenizers.sudachi_split import SudachiWords
from jacorpus.tokenizers.terms import TermMatcher
from jacorpus.tokenizers.wwm import boundary_settings, word_ids

from .conftest import RECIPES


@pytest.fixture(scope="session")
def heldout_medical(shared_data) -> list[str]:
    """IgakuQA 2018 questions with their choices: medical text no tokenizer here was trained on (MedTxt-CR)."""
    docs = []
    for path in sorted((shared_data / "medical" / "igakuqa" / "2018").glob("112-?.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            docs.append(row["problem_text"] + "\n" + "\n".join(row["choices"]))
    assert len(docs) >= 300
    return docs[:300]


def dictionary_rows(dict_dir) -> dict[str, dict]:
    lines = (dict_dir / "terms.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return {row[0]: dict(zip(header, row)) for row in (line.split("\t") for line in lines[1:])}


def recipe_file(tmp_path, name, spec, dict_dir):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, **spec, "dictionary": str(dict_dir)}), encoding="utf-8")
    return str(path)


def test_seed_terms_take_the_budget_first(dict_build, corpus_dir, medtxt, tmp_path):
    from jacorpus.tokenizers.recipe import load_tokenizer_recipe
    from jacorpus.tokenizers.train import choose_terms, read_sample

    dict_dir, _ = dict_build
    rows = dictionary_rows(dict_dir)
    seeds = {t for t, r in rows.items() if r["origin"] == "seed"}
    assert any(r["origin"] == "extracted" for r in rows.values())
    matcher = TermMatcher(rows)  # occurrences as the tokenizer sees them: leftmost-longest, counted here
    counts = Counter(t for d in medtxt for _, _, t in matcher.find_longest(unicodedata.normalize("NFKC", d)))
    small = load_tokenizer_recipe(recipe_file(tmp_path, "small", {"kind": "sentencepiece", "vocab_size": 3000,
                                                                  "dictionary_max_share": 0.05}, dict_dir))
    sample = read_sample(small, [str(corpus_dir)], progress=False)
    choice = choose_terms(small, sample)
    assert len(choice.kept) == 150 and set(choice.kept) <= seeds  # extracted terms would outrank many seeds
    cut = [t for t, why in choice.skipped.items() if t in seeds and "dictionary_max_share" in why]
    assert cut and min(counts[t] for t in choice.kept) >= max(counts[t] for t in cut)  # then by frequency
    report = choice.report["seed"]
    assert report["present"] > 1000 and report["kept"] == 150
    assert sum(report["skipped"].values()) >= len(cut) and choice.warnings
    assert "leaves out" in choice.warnings[0] and str(len(cut)) in choice.warnings[0]
    large = load_tokenizer_recipe(recipe_file(tmp_path, "large", {"kind": "sentencepiece", "vocab_size": 8000,
                                                                  "dictionary_max_share": 1.0}, dict_dir))
    choice = choose_terms(large, sample)
    assert not choice.warnings and choice.report["extracted"]["kept"] > 0
    assert choice.report["seed"]["kept"] == report["present"] - sum(
        n for why, n in choice.report["seed"]["skipped"].items())


@pytest.fixture(scope="session")
def roomy_tokenizers(dict_build, corpus_dir, tmp_path_factory):
    """The dictionary kinds with a budget that holds every seed term of the sample."""
    from jacorpus.tokenizers.recipe import load_tokenizer_recipe
    from jacorpus.tokenizers.train import train_tokenizer

    dict_dir, _ = dict_build
    work = tmp_path_factory.mktemp("roomy")
    folders = {}
    for name in ["sp_dict", "wp_dict", "sp_sudachi_dict"]:
        spec = {**RECIPES[name], "vocab_size": 6000, "dictionary_max_share": 0.5}
        train_tokenizer(load_tokenizer_recipe(recipe_file(work, name, spec, dict_dir)), [str(corpus_dir)],
                        str(work / name), progress=False)
        folders[name] = work / name
    return folders


@pytest.mark.parametrize("name", ["sp_dict", "wp_dict", "sp_sudachi_dict"])
def test_seed_terms_are_single_tokens_in_running_text(roomy_tokenizers, dict_build, medtxt, name):
    """>= 95% of the seed terms occurring at least twice in the sample are one token in running text (in most of
    their occurrences)."""
    dict_dir, _ = dict_build
    rows = dictionary_rows(dict_dir)
    summary = json.loads((roomy_tokenizers[name] / "jacorpus_tokenizer.json").read_text(encoding="utf-8"))
    assert not summary["warnings"]
    tok = load_tokenizer(str(roomy_tokenizers[name]))
    matcher = TermMatcher(rows)
    whole: dict[str, list[bool]] = defaultdict(list)
    for doc in medtxt:
        norm, _, spans = token_spans(tok, doc)
        span_set = set(spans)
        for start, end, term in matcher.find_longest(norm):
            if rows[term]["origin"] == "seed":
                whole[term].append((start, end) in span_set)
    frequent = [t for t, seen in whole.items() if len(seen) >= 2]
    atomic = [t for t in frequent if sum(whole[t]) * 2 > len(whole[t])]
    assert len(frequent) > 300 and len(atomic) / len(frequent) >= 0.95, (len(atomic), len(frequent))


def test_sudachi_sentencepiece_spends_no_token_on_word_boundaries(tokenizers, heldout_medical):
    """On held-out text: bare ▁ only for the text's own whitespace (none beyond it), tokens per character within
    1.05x of SentencePiece on raw text with the same vocabulary and dictionary, exact round trip."""
    sudachi, raw = (load_tokenizer(str(tokenizers[n])) for n in ["sp_sudachi_dict", "sp_dict"])
    chars = sum(map(len, heldout_medical))
    counts = Counter()
    for doc in heldout_medical:
        expected = " ".join(unicodedata.normalize("NFKC", doc).split())
        for name, tok in (("sudachi", sudachi), ("raw", raw)):
            ids = tok(doc, add_special_tokens=False)["input_ids"]
            tokens = tok.convert_ids_to_tokens(ids)
            counts[name] += len(ids)
            counts[name + "_bare"] += tokens.count("▁")
            counts[name + "_exact"] += tok.decode(ids) == expected
        counts["spaces"] += expected.count(" ")
    # a whitespace run is the ▁ that starts the next piece (bare only before a dictionary term or a rare
    # character), never a ▁ per word
    assert counts["sudachi_bare"] <= counts["spaces"]
    assert counts["sudachi"] / chars <= 1.05 * counts["raw"] / chars, (counts["sudachi"], counts["raw"])
    assert counts["sudachi_exact"] == counts["raw_exact"] == len(heldout_medical)


def test_no_unknown_tokens_on_heldout_medical_text(tokenizers, heldout_medical, tmp_path):
    from jacorpus.tokenizers.evaluate import evaluate_tokenizers

    names = ["char", "sp", "wp_dict", "sp_sudachi_dict"]
    text = tmp_path / "heldout.txt"
    text.write_text("\n\n".join(heldout_medical) + "\n", encoding="utf-8")
    evaluate_tokenizers([str(tokenizers[n]) for n in names], [str(text)], out_dir=str(tmp_path / "eval"))
    scores = {s["name"]: s for s in json.loads((tmp_path / "eval" / "eval.json").read_text())["scores"]}
    for name in names:
        tok = load_tokenizer(str(tokenizers[name]))
        ids = [i for doc in heldout_medical for i in tok(doc, add_special_tokens=False)["input_ids"]]
        assert ids.count(tok.unk_token_id) / len(ids) <= 0.001 and scores[name]["unk_rate"] <= 0.001


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_word_ids_follow_sudachi_words(tokenizers, name, medtxt):
    """Each whole-word-masking group covers whole Sudachi words (its own dictionaries): it starts where a word
    starts and ends where a word ends; a token never splits a group."""
    tok = load_tokenizer(str(tokenizers[name]))
    mode, user_dicts = boundary_settings(tok)
    sudachi = SudachiWords(mode, user_dicts)
    for doc in medtxt[:10]:
        norm, ids, spans = token_spans(tok, doc)
        words = sudachi.spans(norm)
        starts, ends = {s for s, _ in words}, {e for _, e in words}
        groups: dict[int, list[int]] = {}
        for wid, (start, end), token in zip(word_ids(tok, doc), spans, tok.convert_ids_to_tokens(ids)):
            if token.strip("▁") and end > start:
                lo, hi = groups.get(wid, [start, end])
                groups[wid] = [min(lo, start), max(hi, end)]
        assert len(groups) > len(words) / 2  # raw-text pieces may span a word and its particles (受診し)
        for lo, hi in groups.values():
            assert lo in starts and hi in ends, (name, norm[lo:hi])


def test_mecab_user_dictionary_is_compiled(dict_build):
    import fugashi
    import unidic_lite

    dict_dir, report = dict_build
    assert report["mecab_user_dic"]["compiled"], report["mecab_user_dic"]
    plain = fugashi.Tagger(f"-d {unidic_lite.DICDIR}")
    with_terms = fugashi.Tagger(f"-d {unidic_lite.DICDIR} -u {dict_dir / 'mecab_user.dic'}")
    text = "非代償性肝硬変と診断した。"
    assert [w.surface for w in plain(text)][0] != "非代償性肝硬変"
    assert [w.surface for w in with_terms(text)][:2] == ["非代償性肝硬変", "と"]
