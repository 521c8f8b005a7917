"""Deadlines and cancellation: answers run in ``ui.jobs``' pool, in arrival order; a client that
leaves, or a deadline that passes, stops the answer (an LLM stops generating); a question whose
client left before its turn never starts. HTTP tests use a real server and a scripted chat model
that streams for far longer than any test waits, so only the event under test can stop it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import aclosing

import httpx
import pytest

from qa import InputError
from ui.jobs import AnswerPool, DeadlineExceeded

from .conftest import seed_settings, serve_app
from .fakes import llm_assistant, slow_chat, wait_for

SEED_Q = "Who chaired the first meeting of the coalition of the willing?"
ENDLESS = 100_000  # tokens of 0.05 s: hours of generation


def counting(n: int, delay: float, state: dict):
    def events():
        state["started"] = state.get("started", 0) + 1
        try:
            for i in range(n):
                time.sleep(delay)
                state["made"] = state.get("made", 0) + 1
                yield i
        finally:
            state["closed"] = True
    return events


def test_a_consumer_that_leaves_stops_the_producer():
    state: dict = {}

    async def main() -> list[int]:
        pool = AnswerPool({"extractive": 1})
        got = []
        async with aclosing(pool.stream("extractive", counting(10_000, 0.01, state), timeout=600)) as items:
            async for item in items:
                got.append(item)
                if len(got) == 3:
                    break
        return got

    assert asyncio.run(main()) == [0, 1, 2]
    assert wait_for(lambda: state.get("closed")), "the generator was not closed"
    assert state["made"] < 10_000


def test_a_cancelled_request_stops_the_producer():
    state: dict = {}

    async def main() -> None:
        pool = AnswerPool({"extractive": 1})

        async def consume() -> None:
            async for _ in pool.stream("extractive", counting(10_000, 0.01, state), timeout=600):
                pass

        task = asyncio.create_task(consume())
        while state.get("made", 0) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert wait_for(lambda: state.get("closed")) and state["made"] < 10_000


def test_the_deadline_stops_a_slow_answer():
    state: dict = {}

    async def main() -> None:
        pool = AnswerPool({"llm": 1})
        with pytest.raises(DeadlineExceeded, match="longer than 0.5 s"):
            async for _ in pool.stream("llm", counting(10_000, 0.05, state), timeout=0.5):
                pass

    asyncio.run(main())
    assert wait_for(lambda: state.get("closed")) and state["made"] < 10_000


def test_a_question_whose_client_left_before_its_turn_never_starts():
    release = threading.Event()
    second: dict = {}

    def blocker():
        release.wait(60)
        yield "first"

    async def main() -> None:
        pool = AnswerPool({"extractive": 1})
        first_task = asyncio.create_task(_drain(pool.stream("extractive", blocker, timeout=600)))
        await asyncio.sleep(0.1)
        waiting = asyncio.create_task(_drain(pool.stream("extractive", counting(5, 0, second), timeout=600)))
        while pool.waiting("extractive") < 1:
            await asyncio.sleep(0.01)
        waiting.cancel()  # its client leaves while it waits
        await asyncio.gather(waiting, return_exceptions=True)
        assert pool.waiting("extractive") == 0
        release.set()
        assert await first_task == ["first"]
        await asyncio.sleep(0.2)

    asyncio.run(main())
    assert "started" not in second


def test_questions_are_answered_in_arrival_order_so_early_ones_finish_early():
    starts: list[int] = []
    ends: list[int] = []

    def job(i: int):
        def events():
            starts.append(i)
            time.sleep(0.02)
            yield i
        return events

    async def main() -> None:
        # one worker, so that the order is the pool's alone and not the thread scheduler's
        pool = AnswerPool({"extractive": 1})

        async def ask(i: int) -> None:
            await _drain(pool.stream("extractive", job(i), timeout=600))
            ends.append(i)

        await asyncio.gather(*(ask(i) for i in range(30)))

    asyncio.run(main())
    assert sorted(starts) == sorted(ends) == list(range(30))
    # first come, first served: the 1st question never waits for the 30th
    assert starts == list(range(30)), starts
    assert ends == list(range(30)), ends


def test_an_error_in_the_answer_reaches_the_request():
    def failing():
        yield "partial"
        raise InputError("bad question")

    async def main() -> list:
        return await _drain(AnswerPool({"extractive": 1}).stream("extractive", failing, timeout=60))

    with pytest.raises(InputError, match="bad question"):
        asyncio.run(main())


async def _drain(items) -> list:
    return [item async for item in items]


# ------------------------------------------------------------------ over HTTP


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory):
    settings = seed_settings(tmp_path_factory.mktemp("slow"),
                             limits={"llm_timeout_s": 600, "llm": "1000/minute"})
    chat = slow_chat(ENDLESS)
    with serve_app(settings, llm_assistant(settings, chat)) as server:
        yield server, chat


@pytest.fixture(scope="module")
def deadline_server(tmp_path_factory: pytest.TempPathFactory):
    settings = seed_settings(tmp_path_factory.mktemp("deadline"),
                             limits={"llm_timeout_s": 1, "llm": "1000/minute"})
    chat = slow_chat(ENDLESS)
    with serve_app(settings, llm_assistant(settings, chat)) as server:
        yield server, chat


def _reset(chat) -> None:
    assert wait_for(lambda: chat.state["started"] == chat.state["closed"]), "a stream is still running"
    chat.state.update(started=0, produced=0, closed=0)


def test_a_client_that_disconnects_from_the_stream_stops_generation(slow_server):
    server, chat = slow_server
    _reset(chat)
    tokens = 0
    with httpx.Client(base_url=server.url, timeout=60) as client, client.stream(
            "POST", "/api/ask/stream", json={"question": SEED_Q, "mode": "llm"}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line and json.loads(line)["type"] == "token":
                tokens += 1
                if tokens == 2:
                    break  # leaving the block closes the connection
    assert wait_for(lambda: chat.state["closed"] == 1), "generation went on after the client left"
    produced = chat.state["produced"]
    time.sleep(0.5)
    assert chat.state["produced"] == produced < ENDLESS  # and nothing more is generated


def test_a_client_that_gives_up_on_ask_stops_generation(slow_server):
    server, chat = slow_server
    _reset(chat)
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(60, read=1.0)) as client, \
            pytest.raises(httpx.ReadTimeout):
        client.post("/api/ask", json={"question": SEED_Q, "mode": "llm"})
    assert wait_for(lambda: chat.state["closed"] == 1), "generation went on after the client left"
    assert chat.state["produced"] < ENDLESS


def test_the_deadline_ends_an_answer_with_504_or_an_error_event(deadline_server):
    server, chat = deadline_server
    _reset(chat)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/api/ask", json={"question": SEED_Q, "mode": "llm"})
        assert r.status_code == 504 and "longer than 1 s" in r.json()["error"]
        assert wait_for(lambda: chat.state["closed"] == 1)
        with client.stream("POST", "/api/ask/stream", json={"question": SEED_Q, "mode": "llm"}) as s:
            events = [json.loads(line) for line in s.iter_lines() if line]
        assert events[0]["type"] == "token" and events[-1]["type"] == "error"
        assert "longer than 1 s" in events[-1]["error"]
        assert wait_for(lambda: chat.state["closed"] == 2) and chat.state["produced"] < ENDLESS
        metrics = client.get("/metrics").text
        assert 'qa_deadline_exceeded_total{mode="llm"} 2.0' in metrics


def test_a_stream_cut_by_the_deadline_never_sent_an_answer(deadline_server):
    server, chat = deadline_server
    _reset(chat)
    with httpx.Client(base_url=server.url, timeout=60) as client, client.stream(
            "POST", "/api/ask/stream", json={"question": SEED_Q, "mode": "llm"}) as s:
        kinds = {json.loads(line)["type"] for line in s.iter_lines() if line}
    assert "answer" not in kinds and "error" in kinds


