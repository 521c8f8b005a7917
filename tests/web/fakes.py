"""Test doubles for the web tests: a chat model that streams slowly and tells what it did."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from qa import Assistant, FakeEmbedder, Settings
from qa.answer.llm import LLMAnswerer


class SlowChat(BaseChatModel):
    """Streams a reply token by token, ``delay`` seconds apart; ``state`` counts the streams
    started, the tokens produced and the streams closed (normally or not).

    The reply is ``tokens`` when given; else the reader's JSON reply citing sentence [1] of the
    prompt with its first words as the answer (shown as they come), followed by ``filler``
    spaces inside the answer string: a model that goes on writing, unseen, until stopped."""

    tokens: list[str] | None = None
    filler: int = 0
    delay: float = 0.05
    # An "endless" reply still ends after this long: if stopping it fails, the test fails
    # instead of the worker thread holding the test process open for hours.
    max_seconds: float = 240.0
    state: dict[str, int]

    @property
    def _llm_type(self) -> str:
        return "slow-scripted"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        text = "".join(self._script(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any):
        self.state["started"] += 1
        ends = time.monotonic() + self.max_seconds
        try:
            for token in self._script(messages):
                if time.monotonic() > ends:
                    break
                time.sleep(self.delay)
                self.state["produced"] += 1
                yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        finally:
            self.state["closed"] += 1

    def _script(self, messages: Any) -> Iterator[str]:
        if self.tokens is not None:
            yield from self.tokens
            return
        prompt = messages[-1].text if messages else ""  # the question's sentences, not the examples
        first = re.search(r"^\[1\] (.+)$", prompt, re.MULTILINE)
        words = first.group(1).split()[:6] if first else ["nothing"]
        yield '{"sentences":[1],"answer":"'
        for i, word in enumerate(words):
            yield ("" if i == 0 else " ") + word
        for _ in range(self.filler):
            yield " "
        yield '"}'


def slow_chat(filler: int = 400, delay: float = 0.05) -> SlowChat:
    return SlowChat(filler=filler, delay=delay, state={"started": 0, "produced": 0, "closed": 0})


def llm_assistant(settings: Settings, chat: BaseChatModel) -> Assistant:
    """An Assistant whose llm mode uses ``chat`` (and the fake embedder)."""
    embedder = FakeEmbedder(name="fake-hash")
    answerer = LLMAnswerer(settings, embed=lambda t: embedder.encode([t])[0], chat=chat)
    return Assistant(settings, embedder=embedder, answerers={"llm": answerer})


def wait_for(condition: Any, seconds: float = 30.0) -> bool:
    """Poll ``condition()`` until it holds (True) or ``seconds`` pass (False); not a timing check."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())
