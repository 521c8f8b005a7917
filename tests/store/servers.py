"""`qa serve` processes on one PostgreSQL, for the two-server test and benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa import Settings

ROOT = Path(__file__).resolve().parents[2]


def environment(settings: Settings, work: Path) -> dict[str, str]:
    """The settings as the environment of a child process (its own upload and feedback paths)."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "QA_STORE__BACKEND": "postgres",
            "QA_STORE__DSN": settings.store.dsn or "", "QA_STORE__SCHEMA_NAME": settings.store.schema_name,
            "QA_EMBEDDING__MODEL": settings.embedding.model,
            "QA_SERVER__UPLOAD_DIR": str(work / "up"), "QA_SERVER__FEEDBACK_PATH": str(work / "fb.jsonl"),
            # The load comes from one client: the per-client limits would (rightly) refuse most of it.
            "QA_LIMITS__EXTRACTIVE": "100000/minute", "QA_LIMITS__ANSWER_TIMEOUT_S": "300"}


@contextmanager
def serve(settings: Settings, work: Path, port: int, timeout: float = 180.0) -> Iterator[str]:
    """A `qa serve` process; yields its base URL once it is ready, stops it afterwards."""
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "qa", "serve", "--port", str(port)]
    log = work / "serve.log"  # a file, not a pipe: a full pipe would block the server's log lines
    with open(log, "w") as sink:
        proc = subprocess.Popen(cmd, cwd=work, env=environment(settings, work), stderr=sink)
    try:
        deadline = time.monotonic() + timeout
        while "Ready" not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                raise RuntimeError(f"qa serve exited with {proc.returncode} before it was ready: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"qa serve was not ready in {timeout:.0f} s")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)  # a graceful stop lets requests in flight finish
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def qa_index(settings: Settings, work: Path, *paths: Path) -> subprocess.CompletedProcess:
    """`qa index PATHS` in its own process, into the same database."""
    return subprocess.run([sys.executable, "-m", "qa", "index", "--quiet", *map(str, paths)], cwd=work,
                          env=environment(settings, work), capture_output=True, text=True, timeout=300)
