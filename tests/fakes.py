"""Test doubles shared by the tests (never imported by the package)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from qa import Answer
from qa.answer.evidence import Candidate
from qa.answer.protocol import Event, word_tokens
from qa.question.followup import condense
from qa.types import Question


class ScriptedAnswerer:
    """An ``Answerer`` whose answer is computed by ``script(question, evidence)``."""

    def __init__(self, mode: str, script: Callable[[Question, Sequence[Candidate]], Answer]) -> None:
        self.mode = mode
        self.script = script
        self.warmed = False

    def stream(self, question: Question, evidence: Sequence[Candidate]) -> Iterator[Event]:
        answer = self.script(question, evidence)
        yield from word_tokens(answer.text)
        yield "answer", answer

    def condense(self, question: str, history) -> str:
        return condense(question, history)

    def warm_up(self) -> None:
        self.warmed = True

    def clear_cache(self) -> None:
        pass
