"""The simple sources on real text: `text` (file / blank_line / line), `cc100` plain and compressed, `jsonl`."""

from __future__ import annotations

import bz2
import gzip
import itertools
import json
import lzma
from pathlib import Path

import pytest
import zstandard

from jacorpus.corpus.document import stable_id
from jacorpus.corpus.sources import SOURCES

SOURCE_TYPES = SOURCES.load()  # every built-in type (they load lazily)


def read(type_name: str, paths: list[Path], base_dir: Path, **options):
    cls = SOURCE_TYPES[type_name]
    source = cls(type_name, [str(p) for p in paths], cls.Options(**options), str(base_dir))
    docs = list(source.run())
    return docs, source.ledger.to_dict()


@pytest.fixture(scope="module")
def neko(shared_data) -> Path:
    return shared_data / "plain_text_ja_neko_aozora" / "neko.txt"


@pytest.fixture(scope="module")
def neko_lines(neko) -> list[str]:
    return neko.read_bytes().decode("utf-8").split("\r\n")  # the file has CRLF line ends


@pytest.fixture(scope="module")
def neko_paragraphs(neko_lines) -> list[tuple[int, str]]:
    """(first line number, text) of each blank-line separated block, computed independently of the source."""
    out, number = [], 1
    for nonblank, group in itertools.groupby(neko_lines, key=lambda line: bool(line.strip())):
        group = list(group)
        if nonblank:
            out.append((number, "\n".join(group)))
        number += len(group)
    return out


def locator(doc) -> str:
    return doc.metadata["origin"].rsplit("#", 1)[1]


def test_text_split_file(neko, shared_data):
    laws = sorted((shared_data / "neardup_ja_law_versions").glob("*/*.txt"))[:3]
    docs, ledger = read("text", [neko, *laws], shared_data, split="file")
    assert len(docs) == 4 and ledger["read"] == 4 and ledger["errors"] == []
    assert docs[0].text == neko.read_text(encoding="utf-8").strip("\n")  # universal newlines: CRLF -> LF
    assert "\r" not in docs[0].text
    assert [d.text for d in docs[1:]] == [p.read_text(encoding="utf-8").strip("\n") for p in laws]
    assert docs[0].metadata["origin"] == "plain_text_ja_neko_aozora/neko.txt#file"
    assert docs[0].id == stable_id("text", "plain_text_ja_neko_aozora/neko.txt#file")


def test_text_split_blank_line(neko, neko_paragraphs, shared_data):
    docs, ledger = read("text", [neko], shared_data, split="blank_line")
    assert len(neko_paragraphs) == 709
    assert [(locator(d), d.text) for d in docs] == [(f"L{n}", text) for n, text in neko_paragraphs]
    assert ledger["read"] == 709 and ledger["kept"] == 0  # the shard writer counts kept, not the source


def test_text_split_line(neko, neko_lines, shared_data):
    docs, _ = read("text", [neko], shared_data, split="line")
    expected = [(f"L{i}", line) for i, line in enumerate(neko_lines, start=1) if line.strip()]
    assert len(docs) == len(expected) > 9000
    assert [(locator(d), d.text) for d in docs] == expected
    assert docs[1].text == "\u3000吾輩は猫である。"  # line 3 of the novel; the indent is text, kept
    assert len({d.id for d in docs}) == len(docs)


def test_cc100_layout_on_neko(neko, neko_paragraphs, shared_data):
    docs, _ = read("cc100", [neko], shared_data)
    assert [d.text for d in docs] == [text for _, text in neko_paragraphs]
    assert all(line.strip() and "\r" not in line for d in docs for line in d.text.split("\n"))  # no blank lines


def test_cc100_compressed_copies_give_identical_documents(neko, tmp_path):
    data = neko.read_bytes()
    (tmp_path / "neko.txt").write_bytes(data)
    (tmp_path / "neko.txt.gz").write_bytes(gzip.compress(data))
    (tmp_path / "neko.txt.bz2").write_bytes(bz2.compress(data))
    (tmp_path / "neko.txt.xz").write_bytes(lzma.compress(data))
    (tmp_path / "neko.txt.zst").write_bytes(zstandard.ZstdCompressor(level=3).compress(data))
    # a .zst made of several frames (as zstd writes when appending or streaming) reads as one stream
    cut = len(data) // 3
    frames = [zstandard.ZstdCompressor().compress(part) for part in (data[:cut], data[cut : 2 * cut], data[2 * cut :])]
    (tmp_path / "multi.txt.zst").write_bytes(b"".join(frames))
    names = ["neko.txt", "neko.txt.gz", "neko.txt.bz2", "neko.txt.xz", "neko.txt.zst", "multi.txt.zst"]
    results = {}
    for name in names:
        docs, ledger = read("cc100", [tmp_path / name], tmp_path)
        assert ledger["errors"] == [], name
        results[name] = [(locator(d), d.text) for d in docs]
        assert docs[0].metadata["origin"] == f"{name}#L1"
    assert len(results["neko.txt"]) == 709
    for name in names[1:]:
        assert results[name] == results["neko.txt"], name


def test_text_encoding_option(shared_data):
    """The same real text stored in EUC-JP and Shift_JIS reads the same with the right `encoding`."""
    feeds = shared_data / "legacy_encoding_ja_feeds"
    euc, sjis = feeds / "EUC-JP" / "_ude_1.txt", feeds / "SHIFT_JIS" / "_ude_3.txt"
    from_euc, ledger_euc = read("text", [euc], feeds, split="line", encoding="euc_jp")
    from_sjis, ledger_sjis = read("text", [sjis], feeds, split="line", encoding="shift_jis")
    expected = [line for line in euc.read_bytes().decode("euc_jp").split("\n") if line.strip()]
    assert ledger_euc["errors"] == ledger_sjis["errors"] == []
    assert [d.text for d in from_euc] == [d.text for d in from_sjis] == expected
    assert any("アプリケーション" in d.text for d in from_euc)


def test_wrong_encoding_is_reported_once_per_file(shared_data):
    """EUC-JP read as UTF-8: one error entry for the file, with the number of lines hit and the first position;
    the text is still read, with U+FFFD."""
    feeds = shared_data / "legacy_encoding_ja_feeds"
    euc = feeds / "EUC-JP" / "_ude_1.txt"
    docs, ledger = read("text", [euc], feeds, split="line")
    raw_lines = euc.read_bytes().split(b"\n")
    non_ascii = [i for i, line in enumerate(raw_lines, start=1) if any(b > 0x7F for b in line)]
    (error,) = ledger["errors"]
    assert error["file"] == "EUC-JP/_ude_1.txt" and "not valid utf-8" in error["message"]
    assert error["position"]["line"] == non_ascii[0] and error["position"]["lines"] == len(non_ascii) == 17
    offset = sum(len(line) + 1 for line in raw_lines[: non_ascii[0] - 1])
    assert error["position"]["byte"] == offset + next(i for i, b in enumerate(raw_lines[non_ascii[0] - 1]) if b > 0x7F)
    assert len(docs) == sum(1 for line in raw_lines if line.strip())
    assert sum("\ufffd" in d.text for d in docs) == len(non_ascii)


def test_encoding_auto_detects_each_file(shared_data):
    """The five legacy-encoded text files (EUC-JP, Shift_JIS x2, ISO-2022-JP) read with `encoding: auto` equal
    what the right codec, named by the folder, gives; no error, no U+FFFD, the charset in each document."""
    feeds = shared_data / "legacy_encoding_ja_feeds"
    files = sorted(feeds.glob("*/*.txt"))
    assert len(files) == 4
    folder_codec = {"EUC-JP": "euc_jp", "SHIFT_JIS": "cp932", "iso-2022-jp": "iso2022_jp"}
    for path in files:
        docs, ledger = read("text", [path], feeds, split="line", encoding="auto")
        expected = [line for line in path.read_bytes().decode(folder_codec[path.parent.name]).split("\n") if line.strip()]
        assert ledger["errors"] == [], path
        assert [d.text.rstrip("\r") for d in docs] == [line.rstrip("\r") for line in expected], path
        charsets = {d.metadata["meta"]["charset"] for d in docs}
        prefix = {"EUC-JP": "euc_j", "SHIFT_JIS": "cp932", "iso-2022-jp": "iso2022_jp"}[path.parent.name]
        assert len(charsets) == 1 and charsets.pop().startswith(prefix), path


def test_unknown_encoding_fails_at_plan_time():
    from jacorpus.pipelines.recipe import RecipeError, parse_recipe

    for source in ("text", "cc100"):
        with pytest.raises(RecipeError, match=r"sources\[0\]\.encoding.*unknown encoding 'latin-9x'"):
            parse_recipe(f"name: x\nsources: [{{type: {source}, encoding: latin-9x, paths: [a.txt]}}]\noutput: {{dir: o}}\n")


@pytest.fixture(scope="module")
def abeja_records(shared_data) -> list[dict]:
    data = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    return [record for records in data.values() for record in records]


def test_jsonl_id_metadata_and_bad_lines(abeja_records, tmp_path):
    lines = []
    for record in abeja_records[:20]:
        lines.append(json.dumps({"id": f"abeja-{record['sample_id']}", "text": record["text"], "url": record["url"],
                                 "length": int(record["length"]), "path": "kept as metadata"}, ensure_ascii=False))
    lines.insert(3, '{"id": "broken", "text": "閉じていない')  # line 4: invalid JSON
    lines.insert(6, '["not", "an", "object"]')  # line 7
    lines.insert(8, '{"id": "no-text", "body": "本文"}')  # line 9: no text field
    lines.insert(10, "")  # line 11: blank lines are skipped, not errors
    lines.insert(12, '{"id": "empty", "text": "  "}')  # line 13: read, then dropped with a reason
    path = tmp_path / "abeja.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    docs, ledger = read("jsonl", [path], tmp_path)
    assert [d.id for d in docs] == [f"abeja-{r['sample_id']}" for r in abeja_records[:20]]
    assert [d.text for d in docs] == [r["text"] for r in abeja_records[:20]]
    meta = docs[0].metadata["meta"]
    assert meta == {"url": abeja_records[0]["url"], "length": int(abeja_records[0]["length"]),
                    "path": "kept as metadata"}
    assert {e["position"]["line"] for e in ledger["errors"]} == {4, 7, 9}
    assert all(e["file"] == "abeja.jsonl" for e in ledger["errors"])
    assert "invalid JSON" in next(e["message"] for e in ledger["errors"] if e["position"]["line"] == 4)
    assert ledger["read"] == 21 and ledger["dropped"] == {"jsonl:empty_text": 1}
    assert locator(docs[0]) == "L1" and locator(docs[3]) == "L5"


def test_jsonl_without_id_uses_stable_ids(abeja_records, tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text("".join(json.dumps({"body": r["text"], "id": r["sample_id"]}, ensure_ascii=False) + "\n"
                            for r in abeja_records), encoding="utf-8")
    docs, ledger = read("jsonl", [path], tmp_path, text_field="body", id_field=None)
    assert len(docs) == len(abeja_records) == 99 and ledger["errors"] == []
    assert docs[5].id == stable_id("jsonl", "plain.jsonl#L6")
    assert docs[5].metadata["meta"] == {"id": abeja_records[5]["sample_id"]}
    again, _ = read("jsonl", [path], tmp_path, text_field="body", id_field=None)
    assert [d.id for d in again] == [d.id for d in docs]  # same input, same ids


def test_encoding_auto_is_accepted_and_unknown_names_fail_at_plan_time_for_every_source():
    """Every source with an `encoding` option takes `auto` (detect per file) and refuses an unknown codec when the
    recipe is read, not when a file is (medical's used to fail at run time; html's refused `auto`)."""
    from jacorpus.pipelines.recipe import RecipeError, parse_recipe

    entries = {"text": "type: text", "cc100": "type: cc100", "medical": "type: medical, format: csv",
               "html": "type: html", "feed": "type: feed"}
    for name, entry in entries.items():
        parse_recipe(f"name: x\nsources: [{{{entry}, encoding: auto, paths: [a]}}]\noutput: {{dir: o}}\n")
        with pytest.raises(RecipeError, match=r"sources\[0\]\.encoding.*unknown encoding 'latin-9x'"):
            parse_recipe(f"name: x\nsources: [{{{entry}, encoding: latin-9x, paths: [a]}}]\noutput: {{dir: o}}\n")
