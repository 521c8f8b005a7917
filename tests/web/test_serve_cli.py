"""`qa serve`: options, a clean error without an index, and (integration) the real command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from qa.cli import main
from tests.web.conftest import ROOT, free_socket


def test_serve_help_lists_host_port_and_root_path():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--root-path", "--index-dir"):
        assert option in result.output


def test_serve_without_an_index_is_a_one_line_error(tmp_path: Path):
    result = CliRunner().invoke(main, ["serve", "--index-dir", str(tmp_path / "none"), "--port", "1"])
    assert result.exit_code == 1
    assert "no index in" in result.output and "qa index" in result.output
    assert "Traceback" not in result.output


@pytest.mark.integration
def test_qa_serve_answers_over_http(real_seed_index, tmp_path: Path):
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QA_SERVER__UPLOAD_DIR": str(tmp_path / "up"),
           "QA_SERVER__FEEDBACK_PATH": str(tmp_path / "fb.jsonl")}
    cmd = [sys.executable, "-m", "qa", "serve", "--index-dir", str(real_seed_index.index.dir),
           "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        line = ""
        while "Ready" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "qa serve exited before it was ready"
            assert time.monotonic() < deadline, "qa serve was not ready in 180 s"
        assert f"http://127.0.0.1:{port}/" in line
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            assert client.get("/api/ready").json()["embedding_model"].endswith("all-MiniLM-L6-v2")
            question = "Who chaired the first meeting of the coalition of the willing?"
            body = client.post("/api/ask", json={"question": question}).json()
            assert "Healey" in body["answer"] and body["citations"]
            assert client.get("/").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
