"""What the chain asks of an answerer (extractive, llm, or one a user plugs in).

An answerer turns a ``Question`` and its scored evidence sentences into events: any number of
``("token", str)`` (the answer as it is produced; joined, they are the answer text), optionally
``("citation", Citation)`` when a marker resolves, ``("working", None)`` while a model writes
what is not shown yet (consumers ignore it; it lets one that stops listening stop the model at its
next token), and last exactly one ``("answer", Answer)``.
``Assistant.ask`` and ``Assistant.stream`` both consume this one stream.

``prepare(question)`` is work on the question alone, which the chain runs in a worker thread
while retrieval reads the index (the extractive reader parses the question); an answerer with
nothing to prepare does nothing there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from qa.answer.evidence import Candidate
from qa.question.followup import Message
from qa.types import Answer, Question

Event = tuple[str, Any]


@runtime_checkable
class Answerer(Protocol):
    mode: str

    def stream(self, question: Question, evidence: Sequence[Candidate]) -> Iterator[Event]:
        """Answer events, ending with ("answer", Answer)."""
        ...

    def condense(self, question: str, history: Sequence[Message]) -> str:
        """A standalone question from a follow-up and the conversation before it."""
        ...

    def prepare(self, question: Question) -> None:
        """Work on the question alone, done while retrieval reads the index (may do nothing)."""
        ...

    def warm_up(self) -> None:
        """Load models now, outside any question's timings."""
        ...

    def clear_cache(self) -> None:
        """Forget per-text caches (benchmarks measure uncached questions)."""
        ...


def final_answer(events: Iterator[Event]) -> Answer:
    """The ``Answer`` that ends a stream of events."""
    answer = None
    for kind, value in events:
        if kind == "answer":
            answer = value
    if not isinstance(answer, Answer):
        raise RuntimeError("the answerer ended without an answer")
    return answer


def word_tokens(text: str) -> Iterator[Event]:
    """A complete answer sent word by word, so every client handles one streaming protocol."""
    for i, word in enumerate(text.split(" ")):
        yield "token", ("" if i == 0 else " ") + word
