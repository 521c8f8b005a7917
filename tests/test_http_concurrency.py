"""Concurrent HTTP requests against `qa serve` while `qa index` updates the index beside it.

The server is a real `python -m qa serve` process on a free loopback port (fake embedder); the
requests are bounded in number and time. Every response must be 200 with the JSON of the
README ("The JSON output"), answers must be right, and citations must match one whole
version of the article being replaced.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa import Index, index_articles

from .conftest import ROOT
from .test_concurrency import FLIP, STABLE, VERSIONS
from .test_contract import KEYS
from .test_crash import env
from .test_store import article, assert_consistent


def has_server() -> bool:
    return importlib.util.find_spec("ui") is not None and importlib.util.find_spec("ui.server") is not None


pytestmark = pytest.mark.skipif(not has_server(),
                                reason="the HTTP server (ui/server.py, branch ui) is not in this tree")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(seed_index, fake_embedder, tmp_path):
    import httpx

    index_articles([article("flip", VERSIONS["A"])], seed_index, embedder=fake_embedder)
    port = free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--index-dir", str(seed_index.index.dir),
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env(QA_SERVER__UPLOAD_DIR=str(tmp_path / "uploads"),
                              QA_SERVER__FEEDBACK_PATH=str(tmp_path / "feedback.jsonl"),
                              QA_LIMITS__EXTRACTIVE="1000/minute"),  # 8 clients on one address
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def check(obj: dict, question: str) -> None:
    assert obj.keys() >= KEYS, obj
    if question == STABLE[0]:
        assert obj["answer"].startswith(STABLE[1]), obj["answer"]
        return
    assert not obj["abstained"] and obj["answer"].startswith(("Alice Anders", "Bruno Berg")), obj
    flip = [c for c in obj["citations"] if c["article_id"] == "flip"]
    assert any(all(text[c["start"] : c["end"]] == c["sentence"] for c in flip)
               for text in VERSIONS.values()), "citations match neither version"


def test_concurrent_requests_while_indexing(server, seed_index, tmp_path) -> None:
    import httpx

    updates = tmp_path / "updates"
    updates.mkdir()
    for n in range(6):  # each file replaces the flip article and adds one more
        rows = [{"id": "flip", "title": "Title flip", "text": VERSIONS["B" if n % 2 == 0 else "A"]},
                {"id": f"new{n}", "text": f"Depot report {n}. The depot stored {n * 11} crates."}]
        (updates / f"u{n}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    def writer() -> int:
        for n in range(6):
            out = subprocess.run([sys.executable, "-m", "qa", "index", str(updates / f"u{n}.jsonl"),
                                  "--index-dir", str(seed_index.index.dir), "-q"],
                                 cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
            assert out.returncode == 0, out.stderr
        return 6

    def client(i: int) -> int:
        done = 0
        with httpx.Client(base_url=server, timeout=120) as http:
            for j in range(8):
                question = STABLE[0] if (i + j) % 2 else FLIP
                response = http.post("/api/ask", json={"question": question})
                assert response.status_code == 200, response.text
                check(response.json(), question)
                done += 1
        return done

    with ThreadPoolExecutor(max_workers=9) as pool:
        wrote = pool.submit(writer)
        answered = sum(pool.map(client, range(8)))
        assert wrote.result() == 6
    assert answered == 64
    with httpx.Client(base_url=server, timeout=60) as http:
        assert http.get("/api/health").status_code == 200
        bad = http.post("/api/ask", json={"question": "  "})
        assert 400 <= bad.status_code < 500 and "empty" in bad.text
    index = Index.open(seed_index)
    assert_consistent(index)
    assert {"flip", "new5"} <= set(index.content_hashes())
