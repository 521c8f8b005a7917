"""Test doubles for the web tests: a chat model that streams slowly and tells what it did."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from qa import Assistant, FakeEmbedder, Settings
from qa.answer.llm import LLMAnswerer


class SlowChat(BaseChatModel):
    """Streams ``tokens`` one by one, ``delay`` seconds apart; ``state`` counts the streams
    started, the tokens produced and the streams closed (normally or not)."""

    tokens: list[str]
    delay: float = 0.05
    state: dict[str, int]

    @property
    def _llm_type(self) -> str:
        return "slow-scripted"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="".join(self.tokens)))])

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any):
        self.state["started"] += 1
        try:
            for token in [*_structured_opening(messages), *self.tokens]:
                time.sleep(self.delay)
                self.state["produced"] += 1
                yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        finally:
            self.state["closed"] += 1


def _structured_opening(messages: Any) -> list[str]:
    """The start of a structured reply (``{"sentences": [1], "answer": "``) that quotes the first
    given sentence word by word, as the llm reader asks; the scripted tokens then run on inside
    the answer, which never closes."""
    prompt = str(messages[-1].content) if messages else ""
    first = next((line[4:] for line in prompt.splitlines() if line.startswith("[1] ")), "")
    words = first.split(" ")
    return ['{"sentences":[1],"answer":"', words[0], *(" " + w for w in words[1:])] if first else []


def slow_chat(n_tokens: int = 400, delay: float = 0.05) -> SlowChat:
    tokens = [" and so on"] * n_tokens
    return SlowChat(tokens=tokens, delay=delay, state={"started": 0, "produced": 0, "closed": 0})


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


