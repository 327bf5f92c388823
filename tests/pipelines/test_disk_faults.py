"""A full disk and a read-only output folder, on real small tmpfs mounts: a clear error naming the path, no half
shard under a final name, and after freeing space the rerun's output equals an uninterrupted run's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_worker_death import fingerprint  # noqa: E402


def mount_tmpfs(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)


@pytest.fixture()
def mounts(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI and `make test` in the container run as root)")
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        folder = tmp_path / name
        mount_tmpfs(folder, options)
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture()
def recipe(tmp_path, shared_data) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(f"""name: disk-test
sources:
  - {{name: laws, type: text, split: file, paths: ["{shared_data / 'neardup_ja_law_versions'}/*/*.txt"]}}
  - {{name: neko, type: cc100, paths: ["{shared_data / 'plain_text_ja_neko_aozora' / 'neko.txt'}"]}}
output: {{dir: out, max_shard_bytes: 200000, keep_dropped: true}}
""", encoding="utf-8")
    return path


def corpus_run(recipe: Path, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jacorpus.cli", "corpus", "run", str(recipe), "--output", str(output),
                           "--no-progress"], capture_output=True, text=True, timeout=900)


def error_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.startswith("error: ")]
    return line


def test_disk_full_fails_clearly_leaves_no_half_shard_and_resumes_identically(recipe, tmp_path, mounts):
    reference = corpus_run(recipe, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-2000:]
    disk = mounts("disk", "size=1m")
    out = disk / "out"
    full = corpus_run(recipe, out)
    assert full.returncode == 1, full.stderr[-2000:]
    error = error_line(full.stderr)  # (datatrove's own task log above it may hold a traceback)
    assert "No space left on device" in error and str(out) in error, full.stderr[-3000:]
    shards = list(out.rglob("shard-*"))
    assert shards, "some shards were written before the disk filled up"
    assert not [p for p in out.rglob("*.tmp")]
    for shard in shards:  # every file under a shard name is whole: it reads to its end
        with pa.memory_map(str(shard)) as source:
            pa.ipc.open_stream(source).read_all()
    assert not (out / "manifest.json").exists()
    subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
    resumed = corpus_run(recipe, out)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert fingerprint(out) == fingerprint(tmp_path / "reference")


def test_read_only_output_folder_fails_clearly(recipe, mounts):
    folder = mounts("readonly", "ro,size=1m")
    result = corpus_run(recipe, folder / "out")
    assert result.returncode == 1
    error = error_line(result.stderr)
    assert "Read-only file system" in error and str(folder / "out") in error, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and os.listdir(folder) == []
