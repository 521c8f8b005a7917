"""End to end with the real packaged models (MiniLM and spaCy) on the seed article."""

import pytest

from qa import Assistant, Index

from .conftest import SEED_ID

pytestmark = pytest.mark.integration


# The article reports two meetings: the one Healey chaired and Friday's, "chaired by the UK and
# Germany"; "Who chaired the meeting?" is ambiguous, so the tests name the one they mean.
CHAIR_Q = "Who chaired the first meeting of the coalition of the willing?"


def test_who_chaired_the_meeting(real_assistant: Assistant) -> None:
    answer = real_assistant.ask(CHAIR_Q)
    assert not answer.abstained
    assert answer.text.startswith("John Healey")
    assert "[1]" in answer.text
    article = Index.open(real_assistant.settings)
    with article.snapshot() as reader:
        text = reader.article(SEED_ID).text
    first = answer.citations[0]
    assert "John Healey" in first.sentence and "Chair" in first.sentence
    for c in answer.citations:
        assert text[c.start : c.end] == c.sentence


@pytest.mark.parametrize("question", [
    "What is the capital of France?",
    "Who won the football match last night?",
])
def test_unanswerable_questions_abstain(real_assistant: Assistant, question: str) -> None:
    answer = real_assistant.ask(question)
    assert answer.abstained and not answer.citations


def test_follow_up_uses_the_conversation(real_assistant: Assistant) -> None:
    first = real_assistant.ask(CHAIR_Q)
    history = [{"role": "user", "content": CHAIR_Q},
               {"role": "assistant", "content": first.text}]
    follow = real_assistant.ask("What did he say?", history)
    assert "John Healey" in follow.standalone_question
    assert not follow.abstained and "Healey" in " ".join(c.sentence for c in follow.citations)


def test_numbers_and_places(real_assistant: Assistant) -> None:
    assert "200" in real_assistant.ask("How many military planners have been developing plans?").text
    assert "155" in real_assistant.ask("How many Chinese citizens were fighting for Russia?").text
