"""Two `qa serve` processes on one PostgreSQL: under concurrent questions to both, an article
indexed by a third process is answered by both at once, and no request fails."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from qa import FakeEmbedder, index_articles
from qa.types import Article
from tests.conftest import SEED_ARTICLE, SEED_ID
from tests.store.servers import qa_index, serve
from tests.web.conftest import free_socket

QUESTION = "Who chaired the meeting?"


def port() -> int:
    sock = free_socket()
    number = sock.getsockname()[1]
    sock.close()
    return number


@pytest.mark.integration  # two server processes: slow to start
def test_two_servers_share_one_database(pg_settings, tmp_path: Path):
    index_articles([Article(id="filler", title="Weather", text="Rain is expected. Winds will ease.")],
                   pg_settings, embedder=FakeEmbedder(name="fake-hash"))
    errors: list[str] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            while not stop.is_set():
                response = client.post("/api/ask", json={"question": QUESTION})
                if response.status_code != 200:
                    errors.append(f"{url}: {response.status_code} {response.text[:200]}")

    with serve(pg_settings, tmp_path / "a", port()) as first, \
            serve(pg_settings, tmp_path / "b", port()) as second:
        before = [httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=60).json()
                  for url in (first, second)]
        assert all(not body["citations"] for body in before)
        threads = [threading.Thread(target=load, args=(url,)) for url in (first, second, first, second)]
        for t in threads:
            t.start()
        try:
            done = qa_index(pg_settings, tmp_path, SEED_ARTICLE)
            assert done.returncode == 0, done.stderr
            # Queued behind the load on a busy machine: a generous timeout, still while loaded.
            after = [httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=300).json()
                     for url in (first, second)]
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)
        health = [httpx.get(f"{url}/api/ready", timeout=60).json() for url in (first, second)]
    assert errors == []
    for body in after:
        assert body["citations"] and body["citations"][0]["article_id"] == SEED_ID
    assert [h["articles"] for h in health] == [2, 2]
