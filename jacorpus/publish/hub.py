"""`jacorpus publish`: upload a corpus, tokenizer or model folder to the Hugging Face Hub.

A corpus is uploaded from a staging folder, ``DIR/.jacorpus/hub/``: hard links to the card, plots and Parquet files
``jacorpus card`` wrote, and a copy of ``manifest.json`` whose recipe and errors name inputs without machine paths
(``public_paths.py``). The folder stays between calls, so ``upload_large_folder`` resumes an interrupted upload.

The token comes from ``HF_TOKEN`` or the user's saved login and is handed to huggingface_hub only: it is never
printed, logged or written, and a failed request shows its status, never the server's response (which may echo the
token, in any case or encoding). ``--dry-run`` lists what would be uploaded and touches no network.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from dataclasses import dataclass

from jacorpus.foundation.secrets import redact

# a corpus folder uploads its card, plots, manifest (the public copy) and Parquet data; shards (Arrow or Parquet,
# with local origins) and work files stay local
IGNORE = {
    "dataset": [".jacorpus/*", "shard-*", "dropped/*", "state.json", "dataset_info.json", "*.tmp", "manifest.json"],
    "model": ["checkpoints/*", "*.tmp", "global_step*/*"],
    "tokenizer": ["*.tmp"],
}


STAGING = os.path.join(".jacorpus", "hub")


@dataclass
class UploadFile:
    path: str  # in the repo
    size: int
    local: str = ""  # the file uploaded


class PublishError(RuntimeError):
    """A failure explained for the user (never containing the token)."""


def failure_summary(exc: BaseException, token: str) -> str:
    """What went wrong without the server's response body (which may echo the token in any form): the HTTP status
    and reason, or the first line of a local error; redacted in every case (``foundation/secrets.py``)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        reason = getattr(response, "reason_phrase", None) or getattr(response, "reason", None) or ""
        summary = f"HTTP {status} {reason}".strip()
    else:
        summary = (str(exc).strip().splitlines() or [""])[0][:300]
    return redact(summary, [token])


def planned_files(folder: str, repo_type: str) -> list[UploadFile]:
    if not os.path.isdir(folder):
        raise PublishError(f"{folder} is not a folder")
    if repo_type == "dataset" and not os.path.exists(os.path.join(folder, "README.md")):
        raise PublishError(f"{folder} has no README.md: run `jacorpus card {folder}` first")
    patterns = IGNORE.get(repo_type, [])
    files = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            if not any(fnmatch.fnmatch(rel, p) for p in patterns):
                local = os.path.join(root, name)
                files.append(UploadFile(rel, os.path.getsize(local), local))
    if repo_type == "dataset" and os.path.exists(os.path.join(folder, "manifest.json")):
        files.append(public_manifest_file(folder))
    return sorted(files, key=lambda f: f.path)


def public_manifest_file(folder: str) -> UploadFile:
    from jacorpus.foundation.atomic_files import atomic_write_text
    from jacorpus.foundation.finished_corpus import load_manifest
    from jacorpus.publish.public_paths import PublicNames

    manifest = load_manifest(folder)
    public = PublicNames.of_manifest(manifest).public_manifest(manifest)
    path = os.path.join(folder, STAGING + ".manifest.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write_text(path, json.dumps(public, ensure_ascii=False, indent=2), fsync=False)
    return UploadFile("manifest.json", os.path.getsize(path), path)


def stage(folder: str, files: list[UploadFile]) -> str:
    """The upload folder for a corpus: hard links (copies across file systems) of ``files`` at their repo paths;
    anything else there from an earlier call is removed (the upload cache, ``.cache/``, is kept)."""
    staging = os.path.join(folder, STAGING)
    wanted = {f.path for f in files}
    for root, dirs, names in os.walk(staging):
        rel_root = os.path.relpath(root, staging).replace(os.sep, "/")
        if rel_root == ".cache" or rel_root.startswith(".cache/"):
            continue
        for name in names:
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            if rel not in wanted:
                os.remove(os.path.join(root, name))
    for f in files:
        target = os.path.join(staging, f.path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.exists(target):
            os.remove(target)
        try:
            os.link(f.local, target)
        except OSError:
            shutil.copy2(f.local, target)
    return staging


def publish(folder: str, repo_id: str, repo_type: str = "dataset", private: bool = False,
            revision: str | None = None) -> str:
    """Create the repo if needed and upload; resumable (a rerun uploads what is missing). Returns the repo URL."""
    from huggingface_hub import HfApi, get_token

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(token=token)
    patterns = IGNORE.get(repo_type, [])
    if repo_type == "dataset":  # upload the staged view: public manifest, no local work files
        folder, patterns = stage(folder, planned_files(folder, repo_type)), ["*.tmp"]
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
        large = getattr(api, "upload_large_folder", None)  # resumable chunked uploads where available
        if large is not None and revision is None:
            large(repo_id=repo_id, folder_path=folder, repo_type=repo_type, ignore_patterns=patterns, private=private)
        else:
            api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type=repo_type, revision=revision,
                              ignore_patterns=patterns, commit_message="Upload with jacorpus publish")
    except Exception as exc:  # noqa: BLE001 - network and Hub errors become one clear message
        raise PublishError(f"upload to {repo_id} failed ({type(exc).__name__}): {failure_summary(exc, token)}. "
                           "Rerun the same command to continue.") from None
    prefix = {"dataset": "datasets/", "model": "", "tokenizer": ""}[repo_type]
    return f"https://huggingface.co/{prefix}{repo_id}"
