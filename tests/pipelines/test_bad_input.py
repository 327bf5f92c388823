"""Bad input through a full recipe run: every fault is an error entry naming file and position, the documents
before it are kept, nothing is dropped without a reason, and read == kept + sum(dropped).

The faulty files are made in tmp_path from real data (the neko novel, MedTxt case reports, IgakuQA questions).
"""

from __future__ import annotations

import bz2
import gzip
import itertools
import json
import lzma
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from collections import defaultdict
from pathlib import Path
from typing import Any

import datasets
import pytest
import zstandard

from jacorpus.corpus.shards import task_peak_rss
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe

BIG_LINE_BYTES = 50 * 1024 * 1024
TASK_MEMORY_BOUND = 1 << 30  # docs/engines.md: peak RSS per task, whatever one input file holds
# bz2 decodes whole blocks only: 100 kB blocks (level 1) so a cut at 60 % leaves whole blocks before it
COMPRESSORS = {".gz": gzip.compress, ".bz2": lambda data: bz2.compress(data, 1), ".xz": lzma.compress,
               ".zst": lambda data: zstandard.ZstdCompressor().compress(data)}


def paragraphs(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").split("\n")
    return ["\n".join(g) for nonblank, g in itertools.groupby(lines, key=lambda s: bool(s.strip())) if nonblank]


def make_bad_files(root: Path, shared_data: Path) -> dict[str, Any]:
    """The faulty files, made from real data under ``root``; returns the originals they were made from."""
    neko = (shared_data / "plain_text_ja_neko_aozora" / "neko.txt").read_bytes()
    medtxt = (shared_data / "medical" / "medtxt_cr_ja" / "MedTxt-CR-JA-training.xml").read_bytes()
    igakuqa = (shared_data / "medical" / "igakuqa" / "2019" / "113-A.jsonl").read_bytes()
    for sub in ("truncated", "text", "xml", "empty", "big"):
        (root / sub).mkdir()

    for suffix, compress in COMPRESSORS.items():  # cut the compressed stream at 60 %
        packed = compress(neko)
        (root / "truncated" / f"neko.txt{suffix}").write_bytes(packed[: len(packed) * 6 // 10])

    lines = neko.split(b"\r\n")
    bad_utf8 = list(lines)
    bad_utf8[99] = bad_utf8[99][:6] + b"\xff\xfe" + bad_utf8[99][6:]  # line 100: bytes that are never UTF-8
    bad_utf8[199] = bad_utf8[199] + b"\xe3\x81"  # line 200: a character cut in half
    (root / "text" / "invalid_utf8.txt").write_bytes(b"\r\n".join(bad_utf8))
    with_nul = list(lines)
    for i in (9, 500, 3000):
        with_nul[i] = with_nul[i][:3] + b"\x00\x00" + with_nul[i][3:]
    (root / "text" / "nul.txt").write_bytes(b"\r\n".join(with_nul))

    jsonl = igakuqa.split(b"\n")
    jsonl[4] = jsonl[4][:40]  # line 5: JSON cut short
    jsonl[10] = jsonl[10].replace(b'"problem_text": "', b'"problem_text": "\x00')  # line 11: NUL in a string
    (root / "text" / "records.jsonl").write_bytes(b"\n".join(jsonl))

    # MedTxt with the first closing </d> of article 50 removed: a tag mismatch where article 50 ends
    starts = [i for i in range(len(medtxt)) if medtxt.startswith(b"<article ", i)]
    broken_at = medtxt.index(b"</d>", starts[49])
    (root / "xml" / "malformed.xml").write_bytes(medtxt[:broken_at] + medtxt[broken_at + 4 :])
    packed = gzip.compress(medtxt)
    (root / "xml" / "truncated.xml.gz").write_bytes(packed[: len(packed) // 2])
    (root / "xml" / "bad_bytes.csv").write_bytes(
        "id,title,abstract\n1,肺炎の1例,症例は８０歳男性．\n".encode()
        + b"2,\xff\xfe,abc\n"  # line 3: bytes that are never UTF-8
        + "3,胃癌,症例．\n".encode()
    )

    (root / "empty" / "empty.txt").write_bytes(b"")
    (root / "empty" / "empty.jsonl").write_bytes(b"")
    (root / "empty" / "empty.xml").write_bytes(b"")
    (root / "empty" / "empty.txt.gz").write_bytes(gzip.compress(b""))

    # a 50 MB line of real text between ordinary lines
    unit = neko.decode("utf-8").replace("\r\n", "")
    big = (unit * (BIG_LINE_BYTES // len(unit.encode()) + 1)).encode()[:BIG_LINE_BYTES].decode("utf-8", "ignore")
    (root / "big" / "big_line.txt").write_text("前の行。\n" + big + "\n後の行。\n", encoding="utf-8")
    return {"neko": neko, "medtxt": medtxt, "igakuqa": igakuqa, "big": big}


@pytest.fixture(scope="module")
def battery(tmp_path_factory, shared_data) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("bad_input")
    return root, make_bad_files(root, shared_data)


@pytest.fixture(scope="module")
def run(battery):
    """One recipe over all the bad files: (manifest, rows by file, errors, inputs)."""
    root, inputs = battery
    recipe = root / "recipe.yaml"
    recipe.write_text(
        """\
name: bad-input
sources:
  - {name: truncated, type: cc100, paths: [truncated/*]}
  - {name: text, type: text, split: line, paths: [text/*.txt]}
  - {name: records, type: jsonl, text_field: problem_text, id_field: problem_id, paths: [text/records.jsonl]}
  - {name: cases, type: medical, format: xml, paths: [xml/*.xml, xml/*.xml.gz]}
  - {name: table, type: medical, format: csv, id_field: id, paths: [xml/bad_bytes.csv]}
  - {name: empty_text, type: text, allow_empty: true, paths: [empty/empty.txt, empty/empty.txt.gz]}
  - {name: empty_jsonl, type: jsonl, allow_empty: true, paths: [empty/empty.jsonl]}
  - {name: empty_xml, type: medical, format: xml, allow_empty: true, paths: [empty/empty.xml]}
  - {name: big, type: text, split: line, paths: [big/big_line.txt]}
output: {dir: out}
""",
        encoding="utf-8",
    )
    plan = build_plan(parse_recipe(recipe.read_text(), str(recipe), str(root)))
    manifest = run_local(plan, workers=1, progress=False)
    ds = datasets.load_from_disk(str(root / "out"))
    by_file: dict[str, list[dict]] = defaultdict(list)
    for row in ds:
        by_file[row["origin"].rsplit("#", 1)[0]].append(row)
    peaks = task_peak_rss(str(root / "out"))  # measured inside each task's own process
    assert len(peaks) == manifest["tasks"]
    errors = defaultdict(list)
    for error in manifest["errors"]:
        errors[error["file"]].append(error)
    return manifest, by_file, errors, inputs | {"peaks": peaks}


def test_the_run_completes_and_accounts_for_every_document(run):
    manifest, by_file, errors, _ = run
    assert manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())
    assert manifest["kept"] == sum(len(rows) for rows in by_file.values())
    assert manifest["dropped"] == {}  # faults are errors; no record here is empty
    assert all(e["position"] is not None and e["message"] for e in manifest["errors"])
    faulty = {"truncated/neko.txt.gz", "truncated/neko.txt.bz2", "truncated/neko.txt.xz", "truncated/neko.txt.zst",
              "text/invalid_utf8.txt", "text/nul.txt", "text/records.jsonl", "xml/malformed.xml",
              "xml/truncated.xml.gz", "xml/bad_bytes.csv", "empty/empty.txt", "empty/empty.txt.gz",
              "empty/empty.jsonl", "empty/empty.xml"}
    assert set(errors) == faulty  # every faulty file, and only those, has error entries


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_truncated_compressed_files_keep_the_documents_before_the_fault(run, suffix):
    _, by_file, errors, inputs = run
    name = f"truncated/neko.txt{suffix}"
    full = paragraphs(inputs["neko"].decode("utf-8"))
    kept = [row["text"] for row in by_file[name]]
    assert 0 < len(kept) < len(full)
    assert kept == full[: len(kept)]  # a clean prefix: no half paragraph, nothing skipped
    assert len(kept) > len(full) * 0.3  # most of what was decodable before the cut is there
    (error,) = errors[name]
    assert "truncated" in error["message"] or "corrupt" in error["message"]
    kept_bytes = sum(len(t.encode()) for t in kept)
    assert isinstance(error["position"], int) and error["position"] >= kept_bytes  # decompressed byte offset


def test_invalid_utf8_is_replaced_and_reported_once_per_file(run):
    _, by_file, errors, inputs = run
    lines = inputs["neko"].decode("utf-8").split("\r\n")
    rows = by_file["text/invalid_utf8.txt"]
    assert len(rows) == sum(1 for line in lines if line.strip())  # nothing lost
    (error,) = errors["text/invalid_utf8.txt"]  # one entry: the count and the first position
    assert error["position"]["line"] == 100 and error["position"]["lines"] == 2
    assert "not valid utf-8" in error["message"] and "on 2 line(s)" in error["message"]
    raw_lines = inputs["neko"].split(b"\r\n")
    offset_100 = sum(len(line) + 2 for line in raw_lines[:99]) + 6
    assert errors["text/invalid_utf8.txt"][0]["position"]["byte"] == offset_100
    by_line = {int(r["origin"].rsplit("#L", 1)[1]): r["text"] for r in rows}
    assert by_line[100] == lines[99][:2] + "\ufffd\ufffd" + lines[99][2:]  # 6 bytes = 2 characters
    assert by_line[200] == lines[199] + "\ufffd"
    assert by_line[101] == lines[100]


def test_nul_bytes_are_removed_and_reported(run):
    _, by_file, errors, inputs = run
    lines = inputs["neko"].decode("utf-8").split("\r\n")
    rows = by_file["text/nul.txt"]
    assert [r["text"] for r in rows] == [line for line in lines if line.strip()]
    (error,) = errors["text/nul.txt"]
    assert error["position"]["line"] == 10 and error["position"]["lines"] == 3 and "NUL" in error["message"]


def test_bad_json_lines(run):
    _, by_file, errors, inputs = run
    records = [json.loads(line) for line in inputs["igakuqa"].decode().splitlines() if line.strip()]
    rows = by_file["text/records.jsonl"]
    assert [r["id"] for r in rows] == [rec["problem_id"] for i, rec in enumerate(records) if i != 4]
    assert [(e["position"]["line"]) for e in errors["text/records.jsonl"]] == [5, 11]
    assert "invalid JSON" in errors["text/records.jsonl"][0]["message"]
    assert rows[9]["text"] == records[10]["problem_text"]  # line 11 kept, its NUL removed


def test_malformed_xml_keeps_the_records_before_it(run):
    _, by_file, errors, inputs = run
    rows = by_file["xml/malformed.xml"]
    assert len(rows) == 49  # article 50 is where the fault is
    (error,) = errors["xml/malformed.xml"]
    medtxt = inputs["medtxt"]
    end_of_article_50 = [i for i in range(len(medtxt)) if medtxt.startswith(b"</article>", i)][49]
    assert error["position"]["line"] == medtxt[:end_of_article_50].count(b"\n") + 1
    assert error["message"].startswith("malformed XML") and error["position"]["records_before"] == 49

    ids = re.findall(rb'<article id="([^"]*)"', medtxt)
    truncated = by_file["xml/truncated.xml.gz"]
    assert 50 < len(truncated) < 148  # cut at half of the compressed bytes
    assert [r["id"].encode() for r in truncated] == ids[: len(truncated)]
    (error,) = errors["xml/truncated.xml.gz"]
    assert "truncated" in error["message"]


def test_bad_bytes_in_a_csv_row(run):
    _, by_file, errors, _ = run
    rows = by_file["xml/bad_bytes.csv"]
    assert [r["id"] for r in rows] == ["1", "2", "3"] and "\ufffd" in rows[1]["text"]
    assert [e["position"]["line"] for e in errors["xml/bad_bytes.csv"]] == [3]


def test_empty_files_are_errors_not_crashes(run):
    manifest, by_file, errors, _ = run
    for name in ("empty/empty.txt", "empty/empty.jsonl", "empty/empty.xml", "empty/empty.txt.gz"):
        (error,) = errors[name]
        assert "empty" in error["message"] and error["position"] == 0, error
        assert name not in by_file
    for source in ("empty_text", "empty_jsonl", "empty_xml"):
        assert manifest["sources"].get(source, {}).get("read", 0) == 0


def test_a_50_mb_line_is_one_document(run):
    _, by_file, errors, inputs = run
    rows = by_file["big/big_line.txt"]
    assert [r["text"][:4] for r in rows] == ["前の行。", inputs["big"][:4], "後の行。"]
    assert len(rows[1]["text"]) == len(inputs["big"]) and rows[1]["text"] == inputs["big"]
    assert len(rows[1]["text"].encode()) > BIG_LINE_BYTES - 4
    assert "big/big_line.txt" not in errors


def test_every_task_stays_under_the_memory_bound(run):
    manifest, by_file, _, inputs = run
    peaks = inputs["peaks"]
    assert max(peaks.values()) < TASK_MEMORY_BOUND, {rank: peak >> 20 for rank, peak in peaks.items()}
    # the task that held the 50 MB line did hold it: the measurement sees a task's own memory
    assert max(peaks.values()) > min(peaks.values()) + BIG_LINE_BYTES


# -- every case through the real CLI, in a process of its own --------------------------------------------------------
# A skip case exits 0: the fault is one error entry of the manifest (the file, a position, the reason) and one line
# of the printed funnel. A fatal case exits non-zero with one line on stderr that names the source and why.
SKIPS = {  # case: (source entry, the faulty file, what its error says)
    "truncated .gz": ("{type: cc100, paths: [truncated/neko.txt.gz]}", "truncated/neko.txt.gz", "truncated"),
    "truncated .bz2": ("{type: cc100, paths: [truncated/neko.txt.bz2]}", "truncated/neko.txt.bz2", "truncated"),
    "truncated .xz": ("{type: cc100, paths: [truncated/neko.txt.xz]}", "truncated/neko.txt.xz", "truncated"),
    "truncated .zst": ("{type: cc100, paths: [truncated/neko.txt.zst]}", "truncated/neko.txt.zst", "truncated"),
    "invalid UTF-8": ("{type: text, split: line, paths: [text/invalid_utf8.txt]}", "text/invalid_utf8.txt",
                      "not valid utf-8"),
    "NUL bytes": ("{type: text, split: line, paths: [text/nul.txt]}", "text/nul.txt", "NUL"),
    "broken JSON lines": ("{type: jsonl, text_field: problem_text, id_field: problem_id, paths: [text/records.jsonl]}",
                          "text/records.jsonl", "invalid JSON"),
    "malformed XML": ("{type: medical, format: xml, paths: [xml/malformed.xml]}", "xml/malformed.xml",
                      "malformed XML"),
    "truncated XML": ("{type: medical, format: xml, paths: [xml/truncated.xml.gz]}", "xml/truncated.xml.gz",
                      "truncated"),
    "bad bytes in a CSV row": ("{type: medical, format: csv, id_field: id, paths: [xml/bad_bytes.csv]}",
                               "xml/bad_bytes.csv", "not valid utf-8"),
}
ALONE = "; no source produced any record"  # the recipe's only source
NO_RECORD = r"error: sources\[0\] \(bad\): its files yielded no record \(1 input error\(s\) in manifest.json, first: "
FATAL = {  # case: (source entry, exit status, the one stderr line: the source, the file, why)
    "empty file": ("{type: text, paths: [empty/empty.txt]}", 1,
                   NO_RECORD + r"empty/empty.txt @ 0: empty file\)" + ALONE),
    "empty .gz": ("{type: text, paths: [empty/empty.txt.gz]}", 1,
                  NO_RECORD + r"empty/empty.txt.gz @ 0: empty .*\)" + ALONE),
    "empty JSON lines": ("{type: jsonl, paths: [empty/empty.jsonl]}", 1,
                         NO_RECORD + r"empty/empty.jsonl @ 0: empty file\)" + ALONE),
    "empty XML": ("{type: medical, format: xml, paths: [empty/empty.xml]}", 1,
                  NO_RECORD + r"empty/empty.xml @ 0: empty file\)" + ALONE),
    "a FIFO": ("{type: text, paths: [fifo.txt]}", 1,
               NO_RECORD + r"fifo.txt @ 0: a FIFO, not a regular file: not read\)" + ALONE),
    "a directory": ("{type: text, paths: [text]}", 1, NO_RECORD + r"text @ 0: a directory, not a file .*\)" + ALONE),
    "a glob matching nothing": ("{type: text, paths: [nothing/*.txt]}", 2,
                                r".*sources\[0\] \(bad\): no file matches nothing/\*\.txt.*"),
}


@pytest.fixture(scope="module")
def cli_runs(battery) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Each case's recipe run by ``python -m jacorpus.cli corpus run``, three processes at a time."""
    root, _ = battery
    if not (root / "fifo.txt").exists():
        os.mkfifo(root / "fifo.txt")  # reading it would block forever: it must be refused unread

    def run_case(item: tuple[int, str]) -> tuple[str, tuple[subprocess.CompletedProcess, Path]]:
        i, case = item
        entry = (SKIPS.get(case) or FATAL[case])[0]
        recipe = root / f"case{i}.yaml"
        recipe.write_text(f"name: case{i}\nsources:\n  - {{name: bad, {entry[1:]}\noutput: {{dir: out-case{i}}}\n",
                          encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--no-progress"],
                              capture_output=True, text=True, timeout=300, cwd=root)
        return case, (done, root / f"out-case{i}")

    with ThreadPoolExecutor(3) as pool:
        return dict(pool.map(run_case, enumerate([*SKIPS, *FATAL])))


@pytest.mark.parametrize("case", list(SKIPS))
def test_cli_skip_case_exits_0_with_a_reasoned_error_entry(cli_runs, case):
    done, out = cli_runs[case]
    _, file, reason = SKIPS[case]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr + done.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kept"] > 0 and manifest["read"] == manifest["kept"] + sum(manifest["dropped"].values())
    errors = manifest["errors"]
    assert errors and {e["file"] for e in errors} == {file}
    assert reason in errors[0]["message"] and errors[0]["position"] is not None
    # the funnel names the fault on one line: file, position, reason
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith(f"{file} @ ")]
    assert lines and lines[0] == f"{file} @ {errors[0]['position']}: {errors[0]['message']}", done.stdout[-3000:]


@pytest.mark.parametrize("case", list(FATAL))
def test_cli_fatal_case_exits_non_zero_with_one_clear_line(cli_runs, case):
    done, out = cli_runs[case]
    _, status, pattern = FATAL[case]
    assert done.returncode == status, done.stderr[-3000:]
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and re.fullmatch(pattern, lines[0]), done.stderr[-3000:]
    assert not (out / "shard-00000.arrow").exists() or (out / "manifest.json").exists()
