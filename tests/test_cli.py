import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa import Index
from qa.cli import main

from .conftest import ROOT, SEED_ARTICLE


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("QA_EMBEDDING__MODEL", "fake-hash")
    monkeypatch.setenv("QA_ANSWER__CHAT_MODE", "extractive")  # never the 1.5B model here
    return CliRunner()


@pytest.mark.parametrize("args", [["--help"], ["ask", "--help"], ["index", "--help"]])
def test_help_loads_no_model(args) -> None:
    code = ("import sys; from qa.cli import main\n"
            f"try: main({args!r})\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'spacy') if m in sys.modules]\n"
            "assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Usage" in out.stdout


def test_index_info_ask_remove(runner, tmp_path) -> None:
    idx = str(tmp_path / "idx")
    result = runner.invoke(main, ["index", str(SEED_ARTICLE), "--index-dir", idx])
    assert result.exit_code == 0, result.output
    assert "indexed 1 articles" in result.output
    result = runner.invoke(main, ["info", "--index-dir", idx, "--articles"])
    assert "articles: 1" in result.output and "fake-hash" in result.output
    result = runner.invoke(main, ["ask", "How many military planners?", "--index-dir", idx])
    assert result.exit_code == 0 and "[1]" in result.output and "chars" in result.output
    result = runner.invoke(main, ["remove", "uk-urges-coalition-ukraine-planning", "--index-dir", idx])
    assert result.exit_code == 0 and "removed 1" in result.output


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_question_is_one_clear_line(runner, question, tmp_path) -> None:
    result = runner.invoke(main, ["ask", question, "--index-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: the question")


def test_huge_question_is_refused(runner, seed_index) -> None:
    result = runner.invoke(main, ["ask", "why " * 30_000, "--index-dir", str(seed_index.index.dir)])
    assert result.exit_code == 1 and "limit is 2000" in result.output


def test_unknown_index_dir(runner, tmp_path) -> None:
    result = runner.invoke(main, ["ask", "Who?", "--index-dir", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no index in" in result.output


def test_bad_file_is_reported_and_nothing_stored_is_lost(runner, seed_index) -> None:
    bad = Path(seed_index.index.dir).parent / "bad.txt"
    bad.write_bytes(b"\x00\xff\x00binary" * 50)
    before = Index.open(seed_index).info()["articles"]
    result = runner.invoke(main, ["index", str(bad), "--index-dir", str(seed_index.index.dir)])
    assert result.exit_code == 1
    assert "bad.txt: looks like a binary file" in result.output
    assert Index.open(seed_index).info()["articles"] == before


def test_model_mismatch_is_one_line(seed_index, monkeypatch) -> None:
    monkeypatch.setenv("QA_EMBEDDING__MODEL", "sentence-transformers/all-mpnet-base-v2")
    result = CliRunner().invoke(main, ["ask", "Who?", "--index-dir", str(seed_index.index.dir)])
    assert result.exit_code == 1 and "--rebuild" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_wrong_setting_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("QA_RETRIEVAL__K", "-3")
    result = CliRunner().invoke(main, ["ask", "Who?"])
    assert result.exit_code == 1 and "retrieval.k" in result.output


def test_chat_follow_up(runner, seed_index) -> None:
    questions = "How many military planners?\nWhat did he say about the US?\n\n"
    result = runner.invoke(main, ["chat", "--index-dir", str(seed_index.index.dir)], input=questions)
    assert result.exit_code == 0, result.output
    assert result.output.count("qa> ") == 2 and "200" in result.output


def test_chat_prints_the_checked_answer_when_it_differs(runner, seed_index, monkeypatch) -> None:
    from qa import Answer, Assistant

    def stream(self, question, history=None, **kwargs):
        yield "token", "Made up [1]"
        yield "answer", Answer(question=question, text="I could not find this in the indexed articles.",
                               abstained=True)

    monkeypatch.setattr(Assistant, "stream", stream)
    result = runner.invoke(main, ["chat", "--index-dir", str(seed_index.index.dir)], input="Who?\n\n")
    assert "checked answer: I could not find this" in result.output


def test_ask_as_of(runner, tmp_path) -> None:
    idx = str(tmp_path / "idx")
    articles = ROOT / "tests" / "data" / "dated_news" / "articles.jsonl"
    assert runner.invoke(main, ["index", str(articles), "--index-dir", idx]).exit_code == 0
    question = "How many runners finished the Duvanne half marathon last year?"
    result = runner.invoke(main, ["ask", question, "--as-of", "2025-04-11", "--json", "--index-dir", idx])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["as_of"]["date"] == "2025-04-11"
    assert answer["as_of"]["window"] == {"start": "2024-01-01", "end": "2024-12-31", "phrase": "last year"}
    result = runner.invoke(main, ["ask", question, "--as-of", "2025-13-01", "--index-dir", idx])
    assert result.exit_code == 1 and result.output.startswith("Error: as_of '2025-13-01' is not a date")


def test_an_old_answer_prints_as_of(runner, tmp_path) -> None:
    idx = str(tmp_path / "idx")
    articles = ROOT / "tests" / "data" / "dated_news" / "articles.jsonl"
    runner.invoke(main, ["index", str(articles), "--index-dir", idx])
    result = runner.invoke(main, ["ask", "How many runners finished the Duvanne half marathon?",
                                  "--as-of", "2026-01-01", "--index-dir", idx])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("3,412 [1]")  # the latest race before the as-of date
    assert lines[1] == "As of 2025-03-09 (the newest cited article; asked on 2026-01-01)."
