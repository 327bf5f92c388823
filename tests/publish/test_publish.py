"""`jacorpus publish`: dry run lists files without network; a failed upload explains itself; the token never shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOKEN = "hf_jacorpusTestTokenNeverPrinted0123456789"


def corpus_dir(tmp_path: Path) -> Path:
    out = tmp_path / "corpus"
    (out / "data").mkdir(parents=True)
    (out / ".jacorpus").mkdir()
    (out / "README.md").write_text("---\nlanguage: [ja]\n---\n# x\n")
    (out / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1" + b"0" * 100)
    (out / "shard-00000-00000.arrow").write_bytes(b"arrow")
    (out / ".jacorpus" / "recipe.json").write_text("{}")
    return out


def cli(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "jacorpus.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_dry_run_lists_uploads_and_never_shows_the_token(tmp_path):
    out = corpus_dir(tmp_path)
    proc = cli("publish", str(out), "--repo-id", "org/corpus", "--dry-run", env_extra={"HF_TOKEN": TOKEN})
    assert proc.returncode == 0, proc.stderr
    assert "README.md" in proc.stdout and "data/train-00000-of-00001.parquet" in proc.stdout
    assert "shard-00000" not in proc.stdout and ".jacorpus" not in proc.stdout  # local work files stay local
    assert "total: 2 files -> dataset org/corpus [dry run]" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr


def test_network_failure_is_clear_and_hides_the_token(tmp_path):
    out = corpus_dir(tmp_path)
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once
    proc = cli("publish", str(out), "--repo-id", "org/corpus",
               env_extra={"HF_TOKEN": TOKEN, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_DISABLE_TELEMETRY": "1"})
    assert proc.returncode == 1
    assert "upload to org/corpus failed" in proc.stderr and "Rerun the same command" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaked == []


def test_dataset_without_card_is_refused(tmp_path):
    out = corpus_dir(tmp_path)
    (out / "README.md").unlink()
    proc = cli("publish", str(out), "--repo-id", "org/corpus", "--dry-run", env_extra={})
    assert proc.returncode == 1 and "jacorpus card" in proc.stderr


@pytest.mark.parametrize("kind", ["model", "tokenizer"])
def test_model_and_tokenizer_dry_run(tmp_path, kind):
    folder = tmp_path / kind
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "checkpoints" / "state.pt").write_bytes(b"x")
    proc = cli("publish", str(folder), "--repo-id", "org/m", "--type", kind, "--dry-run", env_extra={})
    assert proc.returncode == 0 and "config.json" in proc.stdout and "-> model org/m" in proc.stdout
    assert ("checkpoints/state.pt" in proc.stdout) == (kind == "tokenizer")


def every_form(token: str) -> list[str]:
    """The token as a hostile or careless server might echo it back (independent of jacorpus's redaction code)."""
    import base64
    from urllib.parse import quote

    basic = base64.b64encode(f"user:{token}".encode()).decode()
    return [token, token.lower(), token.upper(), quote(token, safe=""), base64.b64encode(token.encode()).decode(),
            basic[8:-4]]


def test_a_server_echoing_the_token_in_any_form_never_gets_it_shown(tmp_path):
    """A loopback Hub that answers every request with the token lower-cased, upper-cased, percent-encoded and
    base64-encoded in its reason phrase, headers and JSON body."""
    import base64
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import quote

    seen = []

    class Echo(BaseHTTPRequestHandler):
        def answer(self) -> None:
            sent = self.headers.get("authorization", "")
            seen.append(sent)
            token = sent.split(" ", 1)[-1]
            basic = base64.b64encode(f"user:{token}".encode()).decode()
            echo = f"token {token.lower()} {token.upper()} {quote(token, safe='')} basic {basic}"
            body = json.dumps({"error": f"invalid credentials: {echo}"}).encode()
            self.send_response(400, f"Bad token {token.lower()}")
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Error-Message", f"invalid credentials: {echo}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = corpus_dir(tmp_path)
        proc = cli("publish", str(out), "--repo-id", "org/corpus",
                   env_extra={"HF_TOKEN": TOKEN, "HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
                              "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_ETAG_TIMEOUT": "5"})
    finally:
        server.shutdown()
    assert any(TOKEN in s for s in seen)  # the server really got (and echoed) the token
    assert proc.returncode == 1 and "upload to org/corpus failed" in proc.stderr and "HTTP 400" in proc.stderr
    shown = (proc.stdout + proc.stderr).lower()
    for form in every_form(TOKEN):
        assert form.lower() not in shown, form
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.lower().encode() in p.read_bytes().lower()]
    assert leaked == []


def test_redact_removes_every_form_whatever_the_case():
    from jacorpus.foundation.secrets import redact

    text = " | ".join(every_form(TOKEN)) + " | ordinary words stay"
    cleaned = redact(text, [TOKEN, None, ""])
    assert cleaned.endswith("| ordinary words stay")
    for form in every_form(TOKEN):
        assert form.lower() not in cleaned.lower(), form
