"""foundation/storage.py against a real S3-compatible server (moto, on 127.0.0.1): listing, globbing, writing whole
objects, cached local copies, and where endpoints and credentials come from (the environment only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_output, atomic_write_text, file_sha256
from tests.conftest import S3_KEY_ID, S3_SECRET


def test_local_paths_take_the_os_calls(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("x")
    (tmp_path / "a" / "[y]").mkdir()
    (tmp_path / "a" / "[y]" / "y.txt").write_text("y")
    assert not storage.is_url(str(tmp_path)) and not storage.is_url("file:///tmp/x")
    assert storage.is_url("s3://b/k") and storage.is_url("hf://datasets/x") and storage.is_url("hdfs://nn/x")
    assert storage.glob(str(tmp_path / "**" / "*.txt")) == [str(tmp_path / "a" / "[y]" / "y.txt"),
                                                            str(tmp_path / "a" / "x.txt")]
    assert storage.glob(storage.join(storage.escape(str(tmp_path / "a" / "[y]")), "*.txt")) == [
        str(tmp_path / "a" / "[y]" / "y.txt")]
    assert storage.resolve("a/x.txt", str(tmp_path)) == str(tmp_path / "a" / "x.txt")
    assert storage.resolve("s3://b/a.txt", str(tmp_path)) == "s3://b/a.txt"
    assert storage.resolve(f"file://{tmp_path}/a/x.txt", "/elsewhere") == f"{tmp_path}/a/x.txt"
    assert storage.local_copy(str(tmp_path / "a" / "x.txt")) == str(tmp_path / "a" / "x.txt")
    assert storage.listdir(str(tmp_path / "missing")) == []


def test_objects_listed_globbed_written_whole(s3_bucket, s3_server):
    for key in ("in/a/1.txt", "in/a/b/2.txt", "in/c/3.jsonl", "in/[x]/4.txt"):
        s3_server.fs().pipe_file(f"{s3_bucket[5:]}/{key}", key.encode())
    assert storage.glob(f"{s3_bucket}/in/**/*.txt") == [f"{s3_bucket}/in/[x]/4.txt", f"{s3_bucket}/in/a/1.txt",
                                                        f"{s3_bucket}/in/a/b/2.txt"]
    assert storage.glob(storage.join(storage.escape(f"{s3_bucket}/in/[x]"), "*")) == [f"{s3_bucket}/in/[x]/4.txt"]
    assert sorted(storage.listdir(f"{s3_bucket}/in")) == ["[x]", "a", "c"]
    assert storage.exists(f"{s3_bucket}/in/a/1.txt") and storage.isdir(f"{s3_bucket}/in/a")
    assert storage.info(f"{s3_bucket}/in/c/3.jsonl") == {"type": "file", "size": len("in/c/3.jsonl")}

    target = f"{s3_bucket}/out/x.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:  # a writer that fails half-way leaves no object at all
            with open(tmp, "wb") as fh:
                fh.write(b"half")
            raise RuntimeError("killed")
    assert not storage.exists(target) and storage.listdir(f"{s3_bucket}/out") == []
    with atomic_output(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(b"whole" * 1000)
    assert s3_server.fs().cat_file(target[5:]) == b"whole" * 1000
    assert file_sha256(target) == file_sha256(storage.local_copy(target))
    atomic_write_text(f"{s3_bucket}/out/m.json", json.dumps({"a": 1}))
    assert json.loads(storage.read_text(f"{s3_bucket}/out/m.json")) == {"a": 1}
    storage.rmtree(f"{s3_bucket}/out")
    assert storage.listdir(f"{s3_bucket}/out") == []


def test_endpoint_and_credentials_from_fsspec_configuration(s3_bucket, s3_server, tmp_path):
    """fsspec's FSSPEC_S3_* configuration alone is enough, and so are the AWS_* variables alone (a run without
    either is not tried: its client would look for AWS itself, and nothing may leave the machine)."""
    s3_server.fs().pipe_file(f"{s3_bucket[5:]}/k.txt", b"hello")
    script = (
        "import sys; from jacorpus.foundation import storage; "
        "print(storage.read_text(sys.argv[1]))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
    base["AWS_CONFIG_FILE"] = base["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    fsspec_env = dict(base, FSSPEC_S3_ENDPOINT_URL=s3_server.endpoint, FSSPEC_S3_KEY=S3_KEY_ID,
                      FSSPEC_S3_SECRET=S3_SECRET)
    ok = subprocess.run([sys.executable, "-c", script, f"{s3_bucket}/k.txt"], env=fsspec_env, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.strip() == "hello", ok.stderr[-2000:]
    aws_env = dict(base, **s3_server.env)
    ok = subprocess.run([sys.executable, "-c", script, f"{s3_bucket}/k.txt"], env=aws_env, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.strip() == "hello", ok.stderr[-2000:]
    assert S3_SECRET not in ok.stdout + ok.stderr
