"""Upload names cannot escape the upload folder; pasted text and feedback rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import InputError
from ui import feedback, files


@pytest.mark.parametrize("name", [
    "../../etc/passwd.txt", "..\\..\\windows\\win.ini.txt", "/abs/path/a.txt", "....txt", ".hidden.txt",
    "a/../../b.txt", "nul\x00byte.txt", "ünïcödé ñame.md", "x" * 500 + ".txt", "", ".", "..",
])
def test_upload_names_stay_inside_the_folder(tmp_path: Path, name: str):
    target = files.target_in(tmp_path, name)
    assert target.parent == tmp_path.resolve()
    assert not target.name.startswith(".") and len(target.name) <= files.MAX_NAME + 11
    assert "/" not in files.safe_name(name) and "\\" not in files.safe_name(name)


def test_safe_name_keeps_a_readable_name():
    assert files.safe_name("My Article (final).TXT") == "My-Article-final.txt"
    assert files.safe_name("C:\\Users\\me\\news.html") == "news.html"


def test_save_upload_checks_type_and_size(tmp_path: Path):
    src = tmp_path / "src.txt"
    src.write_text("Title\n\nBody.")
    saved = files.save_upload(src, "../escape.txt", tmp_path / "up", max_bytes=100)
    assert saved == (tmp_path / "up" / "escape.txt").resolve() and saved.read_text() == "Title\n\nBody."
    with pytest.raises(InputError, match="unsupported file type"):
        files.save_upload(src, "evil.exe", tmp_path / "up", max_bytes=100)
    with pytest.raises(InputError, match="over the upload limit"):
        files.save_upload(src, "big.txt", tmp_path / "up", max_bytes=5)


def test_save_pasted_writes_one_articles_jsonl_line(tmp_path: Path):
    path = files.save_pasted(tmp_path, "A title", "Some text.", "2025-04-11", "Wire")
    row = json.loads(path.read_text())
    assert row["title"] == "A title" and row["date"] == "2025-04-11" and row["id"].startswith("pasted-")
    with pytest.raises(InputError, match="empty"):
        files.save_pasted(tmp_path, "t", "   ", None, None)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        files.save_pasted(tmp_path, "t", "text", "11/04/2025", None)


ANSWER = {"question": "Who chaired the meeting?", "answer": "John Healey [1][2]", "abstained": False,
          "citations": [{"n": 1, "article_id": "seed", "sentence": "s", "start": 0, "end": 1}],
          "mode": "extractive"}


def test_feedback_rows_are_eval_rows(tmp_path: Path):
    up = feedback.feedback_row(ANSWER, "up")
    assert up["answers"] == ["John Healey"] and up["article_id"] == "seed" and not up["needs_review"]
    down = feedback.feedback_row(ANSWER, "down")
    assert down["answers"] == [] and down["needs_review"] and down["model_answer"] == "John Healey [1][2]"
    abstained = feedback.feedback_row({**ANSWER, "abstained": True, "citations": []}, "up")
    assert abstained["answers"] == [] and abstained["article_id"] is None
    path = tmp_path / "fb" / "feedback.jsonl"
    feedback.record(path, ANSWER, "up")
    feedback.record(path, ANSWER, "down")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["vote"] for r in rows] == ["up", "down"]
    assert all({"id", "question", "answers"} <= set(r) for r in rows)
    with pytest.raises(ValueError):
        feedback.feedback_row(ANSWER, "sideways")
