"""The bounded queue in front of the chat model, with a scripted model that answers only when
the test lets it: 20 questions at once, none fails, at most 1 + max_queue reach the model, the
rest get the extractive answer with the "busy" note."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from qa import Assistant, FakeEmbedder, Settings, llm_queue_length
from qa.answer.llm import NOTES, LLMAnswerer
from qa.llm.queue import Busy, RequestQueue

CONCURRENT = 20


class Gated(FakeListChatModel):
    """Answers every request with the same reply, each only after ``release`` is set."""

    release: threading.Event
    started: list[float]

    def _stream(self, messages, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.started.append(time.perf_counter())
        assert self.release.wait(30), "the test never released the model"
        yield from super()._stream(messages, *args, **kwargs)


def test_twenty_concurrent_questions_queue_with_a_bound_and_fall_back(
        seed_index: Settings, fake_embedder: FakeEmbedder) -> None:
    seed_index.llm.max_queue = 3
    seed_index.llm.gguf_path = seed_index.index.dir / "queue-test.gguf"  # its own queue
    reply = json.dumps({"sentences": [1], "answer": "Healey"})
    model = Gated(responses=[reply], release=threading.Event(), started=[])
    answerer = LLMAnswerer(seed_index, embed=lambda t: fake_embedder.encode([t])[0], chat=model)
    assistant = Assistant(seed_index, embedder=fake_embedder, answerers={"llm": answerer})
    assistant.ask("Who chaired the meeting?", mode="extractive")  # load spaCy before the burst
    with ThreadPoolExecutor(CONCURRENT) as pool:
        futures = [pool.submit(assistant.ask, "Who chaired the meeting?", mode="llm")
                   for _ in range(CONCURRENT)]
        busy = _wait_for(lambda: sum(f.done() for f in futures) == CONCURRENT - 4)
        assert busy and len(answerer.queue) == 4 == llm_queue_length()
        assert (answerer.queue.running, answerer.queue.waiting) == (1, 3)
        model.release.set()
        answers = [f.result(timeout=30) for f in futures]  # no exceptions
    assert len(model.started) == 4  # one answering and three waiting, in turn
    fallbacks = [a for a in answers if a.extra.get("fallback") == "busy"]
    assert len(fallbacks) == CONCURRENT - 4
    assert all(a.note == NOTES["busy"] and a.text and a.citations for a in fallbacks)
    answered = [a for a in answers if "fallback" not in a.extra]
    assert len(answered) == 4 and all(a.text == "Healey [1]" for a in answered)
    assert len(answerer.queue) == 0


def test_queue_admits_in_turn_and_refuses_past_the_bound() -> None:
    queue = RequestQueue(max_queue=1)
    order: list[str] = []
    with queue.admit():
        waiter = threading.Thread(target=lambda: _hold(queue, order, "second"))
        waiter.start()
        assert _wait_for(lambda: queue.waiting == 1)
        with pytest.raises(Busy), queue.admit():
            pass
        order.append("first")
    waiter.join(5)
    assert order == ["first", "second"] and len(queue) == 0


def test_busy_model_condenses_with_the_heuristic(seed_index: Settings,
                                                 fake_embedder: FakeEmbedder) -> None:
    seed_index.llm.max_queue = 0
    seed_index.llm.gguf_path = seed_index.index.dir / "condense-test.gguf"
    model = FakeListChatModel(responses=["Who chaired what?"])
    answerer = LLMAnswerer(seed_index, embed=lambda t: fake_embedder.encode([t])[0], chat=model)
    history = [{"role": "user", "content": "Who chaired the meeting?"},
               {"role": "assistant", "content": "John Healey [1]"}]
    with answerer.queue.admit():
        assert answerer.condense("What did he say?", history) == "What did John Healey say?"


def _hold(queue: RequestQueue, order: list[str], name: str) -> None:
    with queue.admit():
        order.append(name)


def _wait_for(condition, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(autouse=True)
def _no_real_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("unit tests must not build a real chat model")

    monkeypatch.setattr("qa.llm.chat_model", refuse)
