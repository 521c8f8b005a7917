"""The JSON contract of `qa ask --json` (README, "The JSON output")."""

import json

from qa import Assistant
from qa.cli import main

from .conftest import SEED_ID

KEYS = {"question", "answer", "abstained", "citations", "mode", "timings_ms"}
CITATION_KEYS = {"n", "article_id", "title", "date", "source", "sentence", "start", "end"}


def check_contract(obj: dict, article_text: str) -> None:
    assert obj.keys() >= KEYS
    assert isinstance(obj["answer"], str) and isinstance(obj["abstained"], bool)
    assert obj["mode"] in ("extractive", "llm")
    assert {"retrieve", "answer", "total"} <= obj["timings_ms"].keys()
    for i, c in enumerate(obj["citations"], start=1):
        assert c.keys() >= CITATION_KEYS
        assert c["n"] == i and f"[{i}]" in obj["answer"]
        assert article_text[c["start"] : c["end"]] == c["sentence"]


def test_answer_to_dict_contract(seed_index, fake_embedder) -> None:
    assistant = Assistant(seed_index, embedder=fake_embedder)
    answer = assistant.ask("How many military planners have been developing plans?")
    obj = json.loads(json.dumps(answer.to_dict()))
    with assistant.index.snapshot() as reader:
        text = reader.article(SEED_ID).text
    check_contract(obj, text)
    assert not obj["abstained"] and "200" in obj["answer"]


def test_cli_ask_json(seed_index, monkeypatch) -> None:
    from click.testing import CliRunner

    monkeypatch.setenv("QA_EMBEDDING__MODEL", "fake-hash")
    result = CliRunner().invoke(main, ["ask", "How many military planners?", "--json",
                                       "--index-dir", str(seed_index.index.dir)])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert obj["question"] == "How many military planners?" and obj["citations"]
