"""Spark as users run it: a standalone master and two workers on 127.0.0.1 (the classes ship inside pyspark), a
recipe submitted with ``spark-submit --master spark://...`` to executors that run in the workers' own working
folders, inputs and output on the S3 server, minhash dedup included; the result equals the local engine's.
Every JVM the test starts (master, workers, the executors they spawn, the driver) is stopped at the end, also
when the test fails: each runs in a process group of its own, which teardown terminates and then checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import datasets
import pyspark
import pytest

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from tests.conftest import S3_KEY_ID, S3_SECRET, free_port
from tests.pipelines.s3_inputs import build_inputs, comparable, recipe_text

REPO = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(pyspark.__file__).parent
BIN = Path(sys.executable).parent


class Cluster:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.groups: list[subprocess.Popen] = []
        self.port, self.ui = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # its own process group
        self.groups.append(proc)
        return proc

    def alive_workers(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=2) as reply:
                return int(json.load(reply).get("aliveworkers", 0))
        except OSError:
            return 0

    def stop(self) -> None:
        """SIGTERM to every process group (a worker's group holds its executors and their Python workers), then
        SIGKILL to what is left after 30 s."""
        for proc in reversed(self.groups):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 30
        for proc in self.groups:
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.groups:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def leftovers(self, wait: float = 20) -> list[str]:
        """Live processes (not zombies awaiting their reaper) still in this cluster's process groups, after up to
        ``wait`` seconds for the killed ones to go."""
        groups = {proc.pid for proc in self.groups}
        deadline = time.time() + wait
        while True:
            alive = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    text = stat.read_text()
                except OSError:
                    continue
                fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, ...
                if int(fields[2]) in groups and fields[0] != "Z":
                    alive.append(f"{stat.parent.name} {text[text.index('(') + 1:text.rindex(')')]}")
            if not alive or time.time() > deadline:
                return alive
            time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3_server):
    root = tmp_path_factory.mktemp("spark-cluster")
    # what each node of a cluster has: jacorpus importable (here the checkout on PYTHONPATH; an installed package or
    # a shipped venv elsewhere, docs/spark.md), the Python to run, and the object store's credentials
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, **s3_server.env, SPARK_HOME=str(SPARK_HOME), PYSPARK_PYTHON=sys.executable,
               PYTHONPATH=pythonpath, SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY="384m",
               SPARK_LOG_DIR=str(root / "logs"), SPARK_NO_DAEMONIZE="1")
    spark = Cluster(root, env)
    try:
        spark.start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", str(spark.port), "--webui-port", str(spark.ui))
        for i in range(2):
            (root / f"worker{i}").mkdir()
            spark.start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", spark.url, "--host", "127.0.0.1",
                        "--cores", "1", "--memory", "1500m", "--work-dir", str(root / f"worker{i}"),
                        "--webui-port", str(free_port()))
        deadline = time.time() + 180
        while spark.alive_workers() < 2:
            if time.time() > deadline or any(p.poll() is not None for p in spark.groups):
                logs = "\n".join((root / f"{n}.log").read_text(errors="replace")[-2000:]
                                 for n in ("master", "worker0", "worker1"))
                raise RuntimeError(f"the standalone cluster did not come up:\n{logs}")
            time.sleep(1)
        yield spark
    finally:
        spark.stop()
        assert spark.leftovers() == [], "a JVM of the test cluster outlived it"


def test_spark_submit_to_standalone_cluster_on_s3(cluster, s3_server, shared_data, tmp_path):
    data = build_inputs(tmp_path, shared_data)
    bucket = s3_server.new_bucket()
    s3_server.upload(data, f"{bucket}/data")
    out = f"{bucket}/corpus"
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(recipe_text(f"{bucket}/data", out), encoding="utf-8")

    driver = subprocess.Popen(
        [str(BIN / "spark-submit"), "--master", cluster.url, "--executor-memory", "1g", "--executor-cores", "1",
         "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4",
         str(REPO / "jacorpus" / "pipelines" / "spark_submit.py"), str(recipe_file)],
        env=cluster.env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    cluster.groups.append(driver)  # stopped with the cluster if anything below fails
    output, _ = driver.communicate(timeout=900)
    assert driver.returncode == 0, output[-4000:]

    # executors ran in the workers' own folders (work-dir/app-*/<executor>), on both workers
    for i in range(2):
        executor_dirs = list((cluster.root / f"worker{i}").glob("app-*/*"))
        assert executor_dirs and (executor_dirs[0] / "stderr").exists(), f"worker{i} ran no executor"

    manifest = json.loads(s3_server.objects(out)["manifest.json"])
    local = run_local(build_plan(parse_recipe(recipe_file.read_text(), "recipe.yaml", str(tmp_path)),
                                 str(tmp_path / "local")), workers=2, progress=False)
    assert manifest["engine"] == "spark" and manifest["tasks"] == 5
    assert comparable(manifest, f"{bucket}/data") == comparable(local, f"{bucket}/data")
    assert manifest["steps"]["dedup"]["dropped:near_duplicate"] >= 5
    assert [s["sha256"] for s in manifest["shards"]] == [s["sha256"] for s in local["shards"]]
    downloaded = s3_server.download(out, tmp_path / "spark")
    a, b = datasets.load_from_disk(str(tmp_path / "local")), datasets.load_from_disk(str(downloaded))
    assert len(a) == len(b) == local["kept"]
    for column in a.column_names:
        assert a[column] == b[column], column

    logs = [p for p in cluster.root.rglob("*") if p.is_file()]
    for blob in [output.encode(), *(p.read_bytes() for p in logs), *s3_server.objects(out).values()]:
        assert S3_SECRET.encode() not in blob and S3_KEY_ID.encode() not in blob
