"""Slurm engine without a cluster: a stand-in `sbatch` records the job scripts; we then run each array task the
way Slurm would (SLURM_ARRAY_TASK_ID + datatrove's launch_pickled_pipeline) and compare with the local engine."""

from __future__ import annotations

import json
import os

import datasets

from jacorpus.pipelines.local import run_local
from jacorpus.pipelines.plan import build_plan
from jacorpus.pipelines.recipe import parse_recipe
from jacorpus.pipelines.slurm import SlurmOptions, submit_slurm
from tests.pipelines.slurm_runner import fake_slurm, run_like_slurm

def test_slurm_jobs_chain_and_run_like_local(tmp_path, shared_data, monkeypatch):
    log = fake_slurm(tmp_path, monkeypatch)

    text = f"""\
name: slurmy
sources: [{{type: text, split: file, paths: ["{shared_data}/neardup_ja_law_versions/417*/*.txt"]}}]
output: {{dir: out}}
"""
    recipe = parse_recipe(text, "r.yaml", str(tmp_path))
    plan = build_plan(recipe)
    executors = submit_slurm(plan, SlurmOptions(partition="cpu", time="01:00:00", cpus_per_task=2, venv_path="/opt/venv/bin/activate"))
    assert len(executors) == 2  # stage 0, finalize
    jobs = sorted(log.iterdir())
    scripts = {p.name: (p / "script").read_text() for p in jobs}
    args = {p.name: (p / "args").read_text().split("\n") for p in jobs}
    stage0 = next(s for s in scripts.values() if "job-name=slurmy-stage0" in s)
    assert "#SBATCH --array=0-6" in stage0  # one array task per input file (7 law versions)
    assert "#SBATCH --partition=cpu" in stage0 and "#SBATCH --cpus-per-task=2" in stage0
    assert "#SBATCH --time=01:00:00" in stage0 and "source /opt/venv/bin/activate" in stage0
    assert "launch_pickled_pipeline" in stage0 and "executor.pik" in stage0
    final_id = next(k for k, s in scripts.items() if "job-name=slurmy-finalize" in s)
    stage0_id = next(k for k, s in scripts.items() if "job-name=slurmy-stage0" in s)
    assert f"--dependency=afterok:{stage0_id}" in args[final_id]

    run_like_slurm(executors)  # stage 0 (one task per file), then finalize
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["engine"] == "slurm" and manifest["kept"] == 7

    local = run_local(build_plan(recipe, str(tmp_path / "local")), progress=False)
    assert local["shards"] == manifest["shards"]
    assert datasets.load_from_disk(str(tmp_path / "out"))["id"] == datasets.load_from_disk(str(tmp_path / "local"))["id"]


def test_slurm_on_s3_with_dedup_job(tmp_path, shared_data, monkeypatch, s3_server):
    """Inputs, output and job folders on S3; the chain stage 0 -> global pass (minhash dedup) -> stage 1 ->
    finalize, each job run as Slurm would; the output equals the local engine's on the same inputs."""
    from tests.conftest import S3_KEY_ID, S3_SECRET
    from tests.pipelines.s3_inputs import build_inputs, comparable, recipe_text

    log = fake_slurm(tmp_path, monkeypatch)
    data = build_inputs(tmp_path, shared_data)
    bucket = s3_server.new_bucket()
    s3_server.upload(data, f"{bucket}/data")
    recipe = parse_recipe(recipe_text(f"{bucket}/data", f"{bucket}/out"), "r.yaml", str(tmp_path))
    plan = build_plan(recipe)
    executors = submit_slurm(plan, SlurmOptions(partition="cpu", cpus_per_task=2,
                                                slurm_logs_dir=str(tmp_path / "slurm_logs")))
    names = [e.job_name for e in executors]
    assert names == ["storage-stage0", "storage-global0", "storage-stage1", "storage-finalize"]
    scripts = [(p / "script").read_text() for p in sorted(log.iterdir())]
    assert any("launch_pickled_pipeline s3://" in s for s in scripts)  # jobs load the plan from the bucket
    assert executors[0].tasks == executors[2].tasks == plan.tasks == 5 and executors[1].tasks == 1

    run_like_slurm(executors)
    objects = s3_server.objects(f"{bucket}/out")
    manifest = json.loads(objects["manifest.json"])
    local = run_local(build_plan(recipe, str(tmp_path / "local")), workers=2, progress=False)
    assert manifest["engine"] == "slurm"
    assert comparable(manifest, f"{bucket}/data") == comparable(local, f"{bucket}/data")
    assert manifest["steps"]["dedup"]["dropped:near_duplicate"] >= 5
    assert [s["sha256"] for s in manifest["shards"]] == [s["sha256"] for s in local["shards"]]
    assert sorted(k for k in objects if k.startswith("shard-")) == sorted(s["file"] for s in manifest["shards"])
    a = datasets.load_from_disk(str(tmp_path / "local"))
    b = datasets.load_from_disk(str(s3_server.download(f"{bucket}/out", tmp_path / "slurm")))
    assert a["id"] == b["id"] and a["text"] == b["text"]
    for blob in objects.values():
        assert S3_SECRET.encode() not in blob and S3_KEY_ID.encode() not in blob


def test_killed_array_task_worker_fails_naming_task_and_input_and_resubmission_resumes(tmp_path, shared_data,
                                                                                       monkeypatch):
    """SIGKILL of one stage-0 array task's worker mid-task: that array task exits 1 with one line naming the task,
    its input file and the signal; the other tasks finish, the dependent job (finalize) never starts, no manifest.
    Resubmitting runs only the killed task, then finalize; the output equals an uninterrupted Slurm run's."""
    from tests.pipelines.test_worker_death import fingerprint

    log = fake_slurm(tmp_path, monkeypatch)
    text = f"""\
name: slurm-kill
sources: [{{type: text, split: file, paths: ["{shared_data}/neardup_ja_law_versions/417*/*.txt"]}}]
output: {{dir: out, keep_dropped: true}}
"""
    recipe = parse_recipe(text, "r.yaml", str(tmp_path))
    run_like_slurm(submit_slurm(build_plan(recipe, str(tmp_path / "reference")), SlurmOptions(partition="cpu")))
    reference = fingerprint(tmp_path / "reference")

    plan = build_plan(recipe)
    victim = plan.describe_task(plan.stages[0], 3)
    failed = run_like_slurm(submit_slurm(plan, SlurmOptions(partition="cpu")), kill=("slurm-kill-stage0", 3))
    assert [(f.job, f.task, f.status) for f in failed] == [("slurm-kill-stage0", 3, 1)]
    errors = [line for line in failed[0].stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {victim}: worker killed by SIGKILL (sent by the kernel's OOM killer when memory runs "
                      "out, or by a user)"], failed[0].stderr[-3000:]
    assert victim.startswith("stage 0 task 3 (input /") and "neardup_ja_law_versions/417" in victim
    assert "Traceback" not in failed[0].stderr
    assert not (tmp_path / "out" / "manifest.json").exists()
    completions = tmp_path / "out" / ".jacorpus" / "logs" / "stage0" / "completions"
    assert sorted(os.listdir(completions)) == [f"{r:05d}" for r in range(7) if r != 3]
    deaths = json.loads((tmp_path / "out" / ".jacorpus" / "deaths" / "stage0-00003.json").read_text())
    assert deaths["causes"] == ["killed by SIGKILL (sent by the kernel's OOM killer when memory runs out, or by a user)"]

    before = len(os.listdir(log))
    executors = submit_slurm(build_plan(recipe), SlurmOptions(partition="cpu"))
    resubmitted = [(p / "script").read_text() for p in sorted(log.iterdir())[before:]]
    stage0 = next(s for s in resubmitted if "job-name=slurm-kill-stage0" in s)
    assert "#SBATCH --array=0-0" in stage0  # only the killed task runs again
    run_like_slurm(executors)
    assert fingerprint(tmp_path / "out") == reference
