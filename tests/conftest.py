"""Shared fixtures. Real data lives in ../shared/data beside the clone (or $JACORPUS_SHARED_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("JACORPUS_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
    for path in candidates:
        if (path / "README.md").exists():
            return path
    raise RuntimeError(
        "real test data not found: expected ../shared/data beside the clone (or set JACORPUS_SHARED_DATA). "
        "Tests read real Japanese data and do not skip without it."
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


# -- an S3-compatible server on 127.0.0.1 (moto's server mode), for storage tests ------------------------------------
# Credentials are fakes made up per session; tests check they never reach an output, a log or a card.
S3_KEY_ID = "AKIAJACORPUSTEST" + os.urandom(4).hex().upper()
S3_SECRET = "jacorpus-secret-" + os.urandom(12).hex()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The server's port and the AWS_* variables are fixed when the session starts, before any test starts a long-lived
# process: datatrove's forkserver, the supervised engine's forkserver and a Spark JVM keep the environment they were
# started with, so variables set only when the first storage test runs would never reach their workers.
S3_PORT = free_port()
S3_ENV = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{S3_PORT}", "AWS_ACCESS_KEY_ID": S3_KEY_ID,
          "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_DEFAULT_REGION": "us-east-1"}


def pytest_configure(config) -> None:
    os.environ.update(S3_ENV)


class S3Server:
    """A moto S3 server in its own process. ``env`` holds the standard variables a client (and every process a
    test starts) reads: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY."""

    def __init__(self) -> None:
        import subprocess
        import sys
        import time

        self.port = S3_PORT
        self.endpoint = S3_ENV["AWS_ENDPOINT_URL"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        import socket

        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError("moto server did not start")
                time.sleep(0.1)
        self.env = dict(S3_ENV)
        self.buckets = 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except Exception:  # noqa: BLE001
                self.process.kill()
                self.process.wait()

    def fs(self):
        import s3fs

        return s3fs.S3FileSystem(key=S3_KEY_ID, secret=S3_SECRET, endpoint_url=self.endpoint, skip_instance_cache=True)

    def new_bucket(self) -> str:
        """A fresh bucket; returns ``s3://name``."""
        self.buckets += 1
        name = f"jacorpus-{os.getpid()}-{self.buckets}"
        self.fs().mkdir(name)
        return f"s3://{name}"

    def upload(self, local: str | Path, url: str) -> None:
        fs = self.fs()
        local = Path(local)
        if local.is_dir():
            for path in sorted(p for p in local.rglob("*") if p.is_file()):
                fs.put_file(str(path), url.removeprefix("s3://") + "/" + path.relative_to(local).as_posix())
        else:
            fs.put_file(str(local), url.removeprefix("s3://"))

    def download(self, url: str, local: str | Path) -> Path:
        """Every object under the prefix ``url`` into the folder ``local``."""
        fs, local = self.fs(), Path(local)
        prefix = url.removeprefix("s3://").rstrip("/")
        for key in fs.find(prefix):
            target = local / key[len(prefix) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(key, str(target))
        return local

    def objects(self, url: str) -> dict[str, bytes]:
        fs = self.fs()
        prefix = url.removeprefix("s3://").rstrip("/")
        return {key[len(prefix) + 1:]: fs.cat_file(key) for key in fs.find(prefix)}


@pytest.fixture(scope="session")
def s3_server():
    """The session's S3 server, where the AWS_* variables set at the session's start point every client."""
    server = S3Server()
    os.environ.update(server.env)  # as pytest_configure set them; a test may have changed one
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def s3_bucket(s3_server) -> str:
    """A fresh, empty bucket on the session's server: ``s3://name``."""
    return s3_server.new_bucket()
