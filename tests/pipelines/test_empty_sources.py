"""No silent empty sources: no file matched, a missing literal path, a source whose files yield no record, or a run
that read nothing is an error (plan time or run end, non-zero exit), unless a source says `allow_empty: true`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from jacorpus.pipelines.inputs import EmptySourceError
from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import RecipeError, parse_recipe


@pytest.fixture()
def folder(tmp_path, repo_root, shared_data):
    shutil.copy(repo_root / "data" / "demo" / "aozora" / "neko-head.txt", tmp_path / "neko.txt")
    shutil.copy(repo_root / "data" / "demo" / "medical" / "MedTxt-CR-JA-training.xml", tmp_path / "cases.xml")
    (tmp_path / "feeds").mkdir()
    shutil.copy(shared_data / "legacy_encoding_ja_feeds" / "EUC-JP" / "akaname.main.jp.xml", tmp_path / "feeds")
    return tmp_path


def plan(folder, sources: str):
    text = f"name: e\nsources:\n  - {{name: neko, type: cc100, paths: [neko.txt]}}\n{sources}output: {{dir: out}}\n"
    return build_plan(parse_recipe(text, "e.yaml", str(folder)))


def test_a_glob_that_matches_nothing_is_a_plan_error(folder):
    with pytest.raises(RecipeError, match=r"sources\[1\] \(web\): no file matches crawl/\*\.warc\.gz"):
        plan(folder, "  - {name: web, type: warc, paths: [crawl/*.warc.gz]}\n")


def test_feeds_under_html_name_their_extensions(folder):
    with pytest.raises(RecipeError) as exc:
        plan(folder, "  - {name: feeds, type: html, paths: [feeds]}\n")
    message = str(exc.value)
    assert "sources[1] (feeds): no file matches feeds" in message
    assert "found files ending .xml" in message and "`feed` type" in message
    plan(folder, "  - {name: feeds, type: feed, paths: [feeds]}\n")  # the right type finds them


def test_a_missing_literal_path_is_an_error_even_with_allow_empty(folder):
    with pytest.raises(RecipeError, match=r"sources\[1\] \(more\): more\.txt does not exist"):
        plan(folder, "  - {name: more, type: text, allow_empty: true, paths: [more.txt]}\n")


def test_allow_empty_accepts_a_glob_that_matches_nothing(folder):
    manifest = run_local(plan(folder, "  - {name: web, type: warc, allow_empty: true, paths: [crawl/*.warc.gz]}\n"),
                         progress=False)
    assert manifest["kept"] > 0 and manifest["sources"].get("web", {}).get("read", 0) == 0


def test_a_source_whose_files_yield_no_record_fails_the_run(folder):
    # MedTxt's records are <article>; a wrong `record:` reads the file and finds nothing
    with pytest.raises(EmptySourceError, match=r"sources\[1\] \(cases\): its files yielded no record"):
        run_local(plan(folder, "  - {name: cases, type: medical, format: xml, record: case, paths: [cases.xml]}\n"),
                  progress=False)
    assert (folder / "out" / "manifest.json").exists()  # written, so the person can see what was read


def test_a_run_in_which_every_source_is_empty_fails_even_with_allow_empty(folder):
    (folder / "blank.txt").write_text("\n\n\n", encoding="utf-8")
    text = ("name: e\nsources:\n  - {name: blank, type: text, allow_empty: true, paths: [blank.txt]}\n"
            "output: {dir: out}\n")
    with pytest.raises(EmptySourceError, match="no source produced any record"):
        run_local(build_plan(parse_recipe(text, "e.yaml", str(folder))), progress=False)


def test_the_cli_exits_non_zero(folder):
    (folder / "r.yaml").write_text("name: e\nsources:\n  - {name: cases, type: medical, format: xml, record: case, "
                                   "paths: [cases.xml]}\noutput: {dir: out}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(folder / "r.yaml"),
                           "--no-progress"], capture_output=True, text=True)
    assert done.returncode == 1 and "its files yielded no record" in done.stderr
    (folder / "g.yaml").write_text("name: e\nsources: [{type: text, paths: [nothing/*.txt]}]\noutput: {dir: o2}\n",
                                   encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(folder / "g.yaml")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "sources[0] (text): no file matches nothing/*.txt" in done.stderr


@pytest.mark.parametrize("entry", ["type: text, encoding: auto, paths: [feeds/*.xml]",
                                   "type: html, paths: [feeds/akaname.main.jp.xml]"])
def test_feeds_read_as_text_or_pages_are_input_errors_not_markup_documents(folder, entry):
    """Feeds under `type: text` used to become documents of feed markup with U+FFFD (an EUC-JP feed read as UTF-8),
    and a feed named as an `html` page one document of markup, exit 0. Each feed file is now an input error naming
    the `feed` type, and a source of nothing but feeds fails."""
    with pytest.raises(EmptySourceError, match=r"sources\[1\] \(blogs\): its files yielded no record \(1 input error"):
        run_local(plan(folder, f"  - {{name: blogs, {entry}}}\n"), progress=False)
    manifest = json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))
    (error,) = manifest["errors"]
    assert error["file"] == "feeds/akaname.main.jp.xml" and "`type: feed`" in error["message"]
    assert "<rdf:RDF>" in error["message"]  # an RSS 1.0 feed
    assert manifest["sources"]["neko"]["read"] > 0 and "blogs" not in manifest["sources"]


@pytest.mark.parametrize("source, message", [
    ("{name: web, type: warc, paths: [crawl/*.warc.gz]}", "sources[0] (web): no file matches crawl/*.warc.gz"),
    ("{name: feeds, type: html, paths: [feeds]}", "sources[0] (feeds): no file matches feeds with extensions .html"),
    ("{name: more, type: text, allow_empty: true, paths: [more.txt]}", "sources[0] (more): more.txt does not exist"),
])
def test_plan_time_errors_exit_2_before_any_work(folder, source, message):
    (folder / "r.yaml").write_text(f"name: e\nsources:\n  - {source}\noutput: {{dir: out}}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(folder / "r.yaml"),
                           "--no-progress"], capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (folder / "out").exists()


def test_a_source_whose_records_all_have_no_text_fails_the_run(folder):
    """JSON lines read as `medical` with the default `text_fields: [title, abstract]` when the text is under `body`:
    every record is read and dropped as `no_text`; that is a mistake in the recipe, not a corpus."""
    (folder / "notes.jsonl").write_text("".join(f'{{"body": "症例{k}は六十歳代の男性である。"}}\n' for k in range(5)),
                                        encoding="utf-8")
    with pytest.raises(EmptySourceError, match=r"sources\[1\] \(notes\): all 5 record\(s\) had no text"):
        run_local(plan(folder, "  - {name: notes, type: medical, paths: [notes.jsonl]}\n"), progress=False)
    manifest = run_local(plan(folder, "  - {name: notes, type: medical, text_fields: [body], paths: [notes.jsonl]}\n"),
                         progress=False, overwrite=True)
    assert manifest["sources"]["notes"] == {"read": 5, "kept": 5}
