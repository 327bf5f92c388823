"""`jacorpus publish`: upload a corpus, tokenizer or model folder to the Hugging Face Hub.

The token comes from ``HF_TOKEN`` or the user's saved login and is handed to huggingface_hub only: it is never
printed, logged or written, and a failed request shows its status, never the server's response (which may echo the
token, in any case or encoding). ``--dry-run`` lists what would be uploaded and touches no network.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass

from jacorpus.foundation.secrets import redact

# a corpus folder uploads its card, plots, manifest and Parquet data; Arrow shards and work files stay local
IGNORE = {
    "dataset": [".jacorpus/*", "shard-*.arrow", "dropped/*", "state.json", "dataset_info.json", "*.tmp"],
    "model": ["checkpoints/*", "*.tmp", "global_step*/*"],
    "tokenizer": ["*.tmp"],
}


@dataclass
class UploadFile:
    path: str  # relative to the folder
    size: int


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
                files.append(UploadFile(rel, os.path.getsize(os.path.join(root, name))))
    return sorted(files, key=lambda f: f.path)


def publish(folder: str, repo_id: str, repo_type: str = "dataset", private: bool = False,
            revision: str | None = None) -> str:
    """Create the repo if needed and upload; resumable (a rerun uploads what is missing). Returns the repo URL."""
    from huggingface_hub import HfApi, get_token

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(token=token)
    patterns = IGNORE.get(repo_type, [])
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
