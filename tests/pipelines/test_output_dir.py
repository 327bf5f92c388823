"""The output folder guard: --overwrite removes only what jacorpus wrote into a folder it marked; a foreign folder
is refused with or without the flag; two runs into one folder: the second is refused while the first holds it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jacorpus.pipelines.local import OutputConflictError, run_local
from jacorpus.pipelines.output_dir import claim_output_dir
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def recipe(tmp_path, shared_data) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(f"""name: guard-test
sources:
  - {{name: neko, type: cc100, paths: ["{shared_data / 'plain_text_ja_neko_aozora' / 'neko.txt'}"]}}
output: {{dir: out}}
""", encoding="utf-8")
    return path


def plan_of(recipe: Path):
    return build_plan(parse_recipe(recipe.read_text(), str(recipe), str(recipe.parent)))


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_foreign_folder_is_refused_and_never_emptied(recipe, tmp_path, overwrite):
    out = tmp_path / "out"
    (out / "src").mkdir(parents=True)
    (out / "src" / "important.txt").write_text("keep me", encoding="utf-8")
    (out / "manifest.json").write_text('{"name": "someone else"}', encoding="utf-8")
    before = tree(out)
    with pytest.raises(OutputConflictError, match="not written by jacorpus") as refused:
        run_local(plan_of(recipe), progress=False, overwrite=overwrite)
    assert "manifest.json" in str(refused.value) and "src" in str(refused.value)
    assert tree(out) == before  # nothing removed, nothing replaced, nothing added


def test_a_foreign_folder_is_refused_by_the_cli_with_overwrite(recipe, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--overwrite",
                             "--no-progress"], capture_output=True, text=True)
    assert result.returncode == 2 and "not written by jacorpus" in result.stderr
    assert tree(out) == {"notes.txt": b"mine"}


def test_overwrite_removes_only_the_files_jacorpus_wrote(recipe, tmp_path):
    first = run_local(plan_of(recipe), progress=False)
    out = tmp_path / "out"
    written = set(tree(out))
    assert "manifest.json" in written and any(name.startswith("shard-") for name in written)
    (out / "notes.txt").write_text("the user's own file", encoding="utf-8")
    (out / "analysis").mkdir()
    (out / "analysis" / "plot.py").write_text("print(1)", encoding="utf-8")
    recipe.write_text(recipe.read_text().replace("guard-test", "guard-test-2"), encoding="utf-8")
    with pytest.raises(OutputConflictError, match="different recipe"):
        run_local(plan_of(recipe), progress=False)
    assert (out / "manifest.json").exists()  # refused without the flag: untouched
    second = run_local(plan_of(recipe), progress=False, overwrite=True)
    assert second["name"] == "guard-test-2" and second["kept"] == first["kept"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "the user's own file"
    assert (out / "analysis" / "plot.py").read_text(encoding="utf-8") == "print(1)"
    marker = json.loads((out / ".jacorpus" / "recipe.json").read_text(encoding="utf-8"))
    assert marker["name"] == "guard-test-2"


HOLD = """
import sys, time
from jacorpus.pipelines.output_dir import claim_output_dir
with claim_output_dir(sys.argv[1], {"name": "first"}):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(recipe, tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputConflictError, match="another jacorpus run is writing"):
            run_local(plan_of(recipe), progress=False)
        with pytest.raises(OutputConflictError, match="another jacorpus run is writing"):
            with claim_output_dir(str(out), {"name": "first"}):
                pass
        assert not (out / "manifest.json").exists() and not list(out.glob("shard-*"))  # nothing interleaved
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel dropped the killed run's lock: its rerun (same recipe) goes ahead
    with claim_output_dir(str(out), {"name": "first"}):
        pass
