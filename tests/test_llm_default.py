"""Which mode the chats start in (answer.chat_mode: auto = llm when it can run), decided without
loading any model."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import FakeEmbedder, Settings, default_chat_mode, llm_available
from qa.llm import models


@pytest.mark.parametrize(("chat_mode", "available", "expected"), [
    ("auto", True, "llm"), ("auto", False, "extractive"),
    ("extractive", True, "extractive"), ("llm", False, "llm"),
])
def test_default_chat_mode(settings: Settings, monkeypatch: pytest.MonkeyPatch, chat_mode: str,
                           available: bool, expected: str) -> None:
    monkeypatch.setattr(models, "available", lambda s: available)
    settings.answer.chat_mode = chat_mode  # type: ignore[assignment]
    assert default_chat_mode(settings) == expected


def test_available_checks_what_each_provider_needs(settings: Settings, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    llm = settings.llm.model_copy()
    llm.provider = "openai"
    assert not llm_available(llm)  # no model name
    llm = settings.llm.model_copy()
    llm.gguf_path = tmp_path / "missing.gguf"
    assert not llm_available(llm)
    llm.gguf_path.write_bytes(b"GGUF")
    assert llm_available(llm) == (not models.importlib_missing("xllamacpp"))
    monkeypatch.setattr(models, "importlib_missing", lambda name: True)
    assert not llm_available(llm)


def test_chat_page_starts_in_llm_mode_when_it_can_run(seed_index: Settings,
                                                      fake_embedder: FakeEmbedder,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from qa import Assistant
    from ui.service import ChatService

    assistant = Assistant(seed_index, embedder=fake_embedder)
    monkeypatch.setattr(models, "available", lambda s: True)
    service = ChatService(seed_index, assistant)
    assert service.chat_mode == "llm" and service.modes() == ["extractive", "llm"]
    assert seed_index.answer.mode == "extractive"  # qa ask and the API keep their default
    monkeypatch.setattr(models, "available", lambda s: False)
    service = ChatService(seed_index, assistant)
    assert service.chat_mode == "extractive" and service.modes() == ["extractive"]


def test_a_fallback_note_is_shown_with_the_answer(seed_index: Settings) -> None:
    from qa import Answer
    from qa.cli import format_answer
    from ui.render import answer_html

    note = "The language model is busy with other questions; this is the extractive answer."
    answer = Answer(question="Who?", text="John Healey", abstained=False, note=note)
    assert answer.to_dict()["note"] == note
    assert format_answer(answer).splitlines()[:2] == [f"({note})", "John Healey"]
    html = answer_html(answer.to_dict(), "m1", lambda article_id: None)
    assert '<p class="qa-note">The language model is busy' in html
    assert Answer(question="Who?", text="x", abstained=False).to_dict()["note"] is None
