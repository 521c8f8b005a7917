"""Rate limits per client: a client over its budget gets 429 with Retry-After (and a message in
the chat) while other clients are served; extractive and LLM answers have separate budgets;
limits hold under concurrent clients; feedback and key logins are limited too."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from qa import load_settings
from ui.access import Access
from ui.app import ANY_SOURCE, _respond, new_conversation
from ui.limits import Budgets, RateLimited, client_address, client_id

from .conftest import seed_settings, serve_app
from .fakes import llm_assistant, slow_chat

SEED_Q = {"question": "Who chaired the first meeting of the coalition of the willing?"}
KEY = "reader-key-0123456789abcdef"


def xff(address: str) -> dict[str, str]:
    # whatever the client sent (forged here), then the address our one proxy saw and appended
    return {"X-Forwarded-For": f"6.6.6.6, {address}"}


def budgets(**limits: str) -> Budgets:
    return Budgets(load_settings(limits=limits).limits)


def test_a_budget_holds_exactly_under_concurrent_spending():
    b = budgets(extractive="25/minute")
    granted = []

    def spend(_: int) -> None:
        for _ in range(10):
            try:
                b.spend("extractive", "ip-1.2.3.4")
                granted.append(1)
            except RateLimited:
                pass

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(spend, range(16)))
    assert len(granted) == 25
    b.spend("extractive", "ip-5.6.7.8")  # another client has its own budget


def test_a_refused_request_spends_nothing_and_says_when_to_retry():
    b = budgets(extractive="1/second;3/minute")
    b.spend("extractive", "c")
    for _ in range(5):  # refused by the one-second window: must not use up the minute
        with pytest.raises(RateLimited) as err:
            b.spend("extractive", "c")
        assert err.value.retry_after == 1 and "try again in 1 s" in str(err.value)
    time.sleep(1.1)
    b.spend("extractive", "c")


def test_client_identity_from_keys_and_forwarded_addresses():
    assert client_address("127.0.0.1", "1.1.1.1, 2.2.2.2", 0) == "127.0.0.1"
    assert client_address("127.0.0.1", "1.1.1.1, 2.2.2.2", 1) == "2.2.2.2"
    assert client_address("127.0.0.1", "1.1.1.1, 2.2.2.2", 2) == "1.1.1.1"
    assert client_address("127.0.0.1", "1.1.1.1", 3) == "1.1.1.1"
    assert client_address("127.0.0.1", None, 1) == "127.0.0.1"
    access = Access.from_settings(load_settings(access={"reader_keys": [KEY]}))
    assert client_id(access, "9.9.9.9", {"authorization": f"Bearer {KEY}"}, 0).startswith("key-")
    # a key that is not configured is no identity: it would be a fresh budget per request
    assert client_id(access, "9.9.9.9", {"authorization": "Bearer made-up-key-0123456789"}, 0) == "ip-9.9.9.9"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory):
    settings = seed_settings(tmp_path_factory.mktemp("limited"), server={"proxy_hops": 1},
                             limits={"extractive": "2/minute", "llm": "1/minute", "feedback": "2/hour",
                                     "login": "3/minute"},
                             access={"admin_keys": ["admin-key-0123456789abcdef"]})
    from ui.server import create_app

    chat = slow_chat(filler=2, delay=0)
    app = create_app(settings, llm_assistant(settings, chat))
    app.state.service.warm_up()
    with TestClient(app) as client:
        yield client


def test_a_client_over_its_budget_gets_429_while_another_is_served(limited):
    a, b = xff("203.0.113.1"), xff("203.0.113.2")
    assert limited.post("/api/ask", json=SEED_Q, headers=a).status_code == 200
    assert limited.post("/api/ask/stream", json=SEED_Q, headers=a).status_code == 200
    for path in ("/api/ask", "/api/ask/stream"):
        r = limited.post(path, json=SEED_Q, headers=a)
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) >= 1
        assert "Too many questions" in r.json()["error"] and "try again in" in r.json()["error"]
    assert "Healey" in limited.post("/api/ask", json=SEED_Q, headers=b).json()["answer"]
    # the LLM budget is separate: the client out of extractive answers may still ask the LLM once
    assert limited.post("/api/ask", json={**SEED_Q, "mode": "llm"}, headers=a).status_code == 200
    r = limited.post("/api/ask", json={**SEED_Q, "mode": "llm"}, headers=a)
    assert r.status_code == 429 and "LLM" in r.json()["error"]
    metrics = limited.get("/metrics", headers={"Authorization": "Bearer admin-key-0123456789abcdef"}).text
    assert 'qa_rate_limited_total{budget="extractive"} 2.0' in metrics
    assert 'qa_rate_limited_total{budget="llm"} 1.0' in metrics


def test_without_proxy_hops_the_forwarded_header_is_ignored(tmp_path: Path):
    settings = seed_settings(tmp_path, limits={"extractive": "1/minute"})
    from ui.server import create_app

    with TestClient(create_app(settings)) as client:
        assert client.post("/api/ask", json=SEED_Q, headers=xff("198.51.100.1")).status_code == 200
        assert client.post("/api/ask", json=SEED_Q, headers=xff("198.51.100.2")).status_code == 429


def test_the_chat_says_when_to_ask_again(limited):
    site = limited.app.state.site
    client = "ip-203.0.113.50"
    for _ in range(2):
        site.budgets.spend("extractive", client)

    async def run() -> list:
        return [u async for u in _respond(site, client, "Who chaired the meeting?", [], new_conversation(),
                                          5, "extractive", ANY_SOURCE, "", "")]

    chat = asyncio.run(run())[-1][0]
    assert "qa-error" in chat[-1]["content"] and "Too many questions" in chat[-1]["content"]
    assert "try again in" in chat[-1]["content"]


def test_feedback_rows_per_client_are_limited(limited):
    answer = limited.post("/api/ask", json=SEED_Q, headers=xff("203.0.113.7")).json()
    for _ in range(2):
        r = limited.post("/api/feedback", json={"answer": answer, "vote": "up"}, headers=xff("203.0.113.7"))
        assert r.status_code == 204
    r = limited.post("/api/feedback", json={"answer": answer, "vote": "up"}, headers=xff("203.0.113.7"))
    assert r.status_code == 429 and "feedback" in r.json()["error"]


def test_key_logins_are_limited(limited):
    form = {"username": "admin", "password": "wrong-key-0123456789abcdef"}
    for _ in range(3):
        assert limited.post("/admin/login", data=form, headers=xff("203.0.113.9")).status_code == 400
    right = {"username": "admin", "password": "admin-key-0123456789abcdef"}
    r = limited.post("/admin/login", data=right, headers=xff("203.0.113.9"))
    assert r.status_code == 429 and "login attempts" in r.json()["error"]


def test_limits_hold_for_concurrent_clients_over_http(tmp_path: Path):
    settings = seed_settings(tmp_path, server={"proxy_hops": 1, "answer_workers": 2},
                             limits={"extractive": "3/minute"})
    with serve_app(settings) as server:
        start = threading.Barrier(8 * 6)

        def ask(job: tuple[int, int]) -> tuple[int, int]:
            client, _ = job
            with httpx.Client(base_url=server.url, timeout=120) as http:
                start.wait()
                r = http.post("/api/ask", json=SEED_Q, headers=xff(f"192.0.2.{client}"))
                return client, r.status_code

        with ThreadPoolExecutor(8 * 6) as pool:
            results = list(pool.map(ask, [(c, i) for c in range(8) for i in range(6)]))
    for c in range(8):
        statuses = sorted(s for client, s in results if client == c)
        assert statuses == [200, 200, 200, 429, 429, 429], (c, statuses)
